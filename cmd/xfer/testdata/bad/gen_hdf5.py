#!/usr/bin/python3
"""Writes the HDF5 cases of cmd/xfer's hostile-file corpus: edits of
good/mlp.h5 and of good/mlp.keras's model.weights.h5 (both written by xfer's
own exporter) that need libhdf5 to make: links, removed groups and datasets,
rewritten attributes, shape bombs, external and virtual storage.

Run by `go test ./cmd/xfer -run TestBadCorpus -update` in this directory with
Debian's python3 (h5py 3.7, libhdf5 1.10.8); the outputs are committed and the
test itself needs no Python. Every edit gives the same bytes on every run
(no timestamps: h5py does not track object times by default).
"""
import io
import json
import os
import shutil
import tempfile
import zipfile

import h5py
import numpy as np


def edit_h5(name, fn):
    """Copies good/mlp.h5 to h5/name and applies fn to it, opened r+."""
    out = os.path.join("h5", name)
    shutil.copyfile(os.path.join("good", "mlp.h5"), out)
    with h5py.File(out, "r+", libver=("earliest", "latest")) as f:
        fn(f)


def edit_keras(name, fn):
    """Rewrites good/mlp.keras as keras/name with fn applied to its
    model.weights.h5; members stored, in the same order, dated 1980-01-01."""
    src = zipfile.ZipFile(os.path.join("good", "mlp.keras"))
    members = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    with tempfile.TemporaryDirectory() as tmp:
        w = os.path.join(tmp, "model.weights.h5")
        with open(w, "wb") as fh:
            fh.write(dict(members)["model.weights.h5"])
        with h5py.File(w, "r+", libver=("earliest", "latest")) as f:
            fn(f)
        with open(w, "rb") as fh:
            weights = fh.read()
    with zipfile.ZipFile(os.path.join("keras", name), "w", zipfile.ZIP_STORED) as z:
        for n, data in members:
            if n == "model.weights.h5":
                data = weights
            z.writestr(zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0)), data)


def config(f):
    return json.loads(f.attrs["model_config"])


def set_config(f, c):
    f.attrs["model_config"] = json.dumps(c)


def replace(f, path, **kw):
    del f[path]
    f.create_dataset(path, **kw)


K0 = "model_weights/dense/dense/kernel:0"  # [4, 3]
K1 = "model_weights/dense_1/dense_1/kernel:0"  # [3, 2]


def units(f):
    c = config(f)
    c["config"]["layers"][1]["config"]["units"] = 5  # layer "dense": kernel [4 3]
    set_config(f, c)


def unknown(f):
    c = config(f)
    c["config"]["layers"][2]["class_name"] = "FancyDense"
    set_config(f, c)


def drop_layer_name(f):
    del f["model_weights/dense_1"]
    f["model_weights"].attrs["layer_names"] = np.array([b"dense"])


# Legacy .h5.
edit_h5("missing-layer-weights.h5", lambda f: f.__delitem__("model_weights/dense_1"))
edit_h5("missing-layer-name.h5", drop_layer_name)
edit_h5("missing-kernel.h5", lambda f: f.__delitem__(K1))
edit_h5("units-mismatch.h5", units)
edit_h5("kernel-shape-mismatch.h5", lambda f: replace(f, K0, data=np.zeros((4, 5), np.float32)))
edit_h5("unknown-layer.h5", unknown)
edit_h5("config-not-json.h5", lambda f: f.attrs.__setitem__("model_config", '{"class_name": "Sequential", "config": '))
edit_h5("nested-config.h5", lambda f: f.attrs.__setitem__(
    "model_config", '{"class_name": "Sequential", "config": {"name": "deep", "layers": ' + "[" * 100000 + "]" * 100000 + "}}"))
# Links: each points at a dataset that exists and would load if followed.
edit_h5("soft-link.h5", lambda f: (f.__delitem__(K1), f.__setitem__(K1, h5py.SoftLink("/" + K0))))
edit_h5("soft-link-cycle.h5", lambda f: (f.__delitem__("model_weights/dense_1/dense_1"),
                                         f.__setitem__("model_weights/dense_1/dense_1", h5py.SoftLink("/model_weights/dense_1"))))
edit_h5("external-link.h5", lambda f: (f.__delitem__(K1), f.__setitem__(K1, h5py.ExternalLink("../good/mlp.h5", "/" + K1))))
edit_h5("external-storage.h5", lambda f: replace(f, K1, shape=(3, 2), dtype=np.float32, external=[("../good/x.npy", 128, 24)]))


# A virtual dataset is not here: libhdf5 1.10.8 writes 4 different bytes in
# its layout message on every run; internal/hdf5's guards.h5 covers it.
# Shape bombs: declared shapes far beyond the bytes stored.
edit_h5("shape-bomb-chunked.h5", lambda f: replace(f, K0, shape=(1 << 20, 1 << 20), dtype=np.float32, chunks=(1, 1024)))
edit_h5("shape-bomb-contiguous.h5", lambda f: replace(f, K0, shape=(1 << 15, 1 << 15), dtype=np.float32))
edit_h5("shape-bomb-maxshape.h5", lambda f: replace(f, K0, shape=(1 << 40, 1 << 40), dtype=np.float32, chunks=(1, 1)))
edit_h5("int-kernel.h5", lambda f: replace(f, K0, data=np.arange(12, dtype=np.int32).reshape(4, 3)))
edit_h5("string-kernel.h5", lambda f: replace(f, K0, data=np.array([b"a", b"b"])))

# Keras 3 .keras (edits of its model.weights.h5).
V0 = "layers/dense/vars/0"  # [4, 3]
V10 = "layers/dense_1/vars/0"  # [3, 2]
edit_keras("weights-missing-var.keras", lambda f: f.__delitem__("layers/dense_1/vars/1"))
edit_keras("weights-soft-link.keras", lambda f: (f.__delitem__(V10), f.__setitem__(V10, h5py.SoftLink("/" + V0))))
edit_keras("weights-external-link.keras", lambda f: (f.__delitem__(V10), f.__setitem__(V10, h5py.ExternalLink("/etc/passwd", "/x"))))
edit_keras("weights-shape-bomb.keras", lambda f: replace(f, V0, shape=(1 << 20, 1 << 20), dtype=np.float32, chunks=(1, 1024)))
edit_keras("weights-shape-mismatch.keras", lambda f: replace(f, V0, data=np.zeros((4, 5), np.float32)))
