#!/usr/bin/python3
"""Generates guards.h5 (and its external-storage side files) for
internal/hdf5's tests. Run here with Debian's python3: /usr/bin/python3 gen.py

The file holds one object per case the reader must handle or refuse:
string attributes in every encoding Keras uses, numeric attributes,
float datasets of each width, and hostile objects (links, external and
virtual storage, shape bombs, integer data).
"""
import h5py
import numpy as np

with h5py.File("guards.h5", "w", libver="latest") as f:
    # Attributes on the root.
    f.attrs["vlen_scalar"] = "héllo"  # h5py: variable-length UTF-8
    f.attrs["fixed_scalar"] = np.bytes_(b"fixed")  # fixed-length ASCII
    f.attrs["fixed_array"] = np.array([b"dense_1", b"bn", b""])  # null-padded, like Keras 2.3
    f.attrs.create("vlen_array", ["input_1", "fc1_relu", "x" * 300], dtype=h5py.string_dtype())
    f.attrs["empty_f64"] = np.zeros((0,), dtype=np.float64)  # Keras's empty weight_names
    f.attrs["floats"] = np.array([1.5, -2.0, 3.25])
    f.attrs["ints"] = np.array([7, 8], dtype=np.int32)

    g = f.create_group("model_weights")
    g.create_group("b")
    g.create_group("a")
    d = g.create_group("a/a")
    d.create_dataset("f32", data=np.arange(6, dtype=np.float32).reshape(2, 3) / 4)
    d.create_dataset("f64", data=np.array([0.1, -1e-3, 1e30], dtype=np.float64))
    d.create_dataset("f16", data=np.array([0.5, -2.0], dtype=np.float16))
    d.create_dataset("scalar", data=np.float32(3.5))
    d.create_dataset("empty", shape=(0, 4), dtype=np.float32)
    d.create_dataset("gzip", data=np.linspace(-1, 1, 1000, dtype=np.float32).reshape(100, 10), chunks=(10, 10), compression="gzip")
    d.create_dataset("int32", data=np.array([1, 2], dtype=np.int32))
    d.create_dataset("strings", data=np.array([b"a", b"b"]))

    # Hostile objects.
    f.create_dataset("bomb_chunked", shape=(1 << 30, 1 << 10), dtype=np.float32, chunks=(1, 1024))
    f.create_dataset("bomb_contiguous", shape=(1 << 20,), dtype=np.float32)
    f.create_dataset("bomb_maxshape", shape=(1 << 40, 1 << 40), dtype=np.float32, chunks=(1, 1))
    f["soft"] = h5py.SoftLink("/model_weights/a")
    f["external"] = h5py.ExternalLink("other.h5", "/x")
    f.create_dataset("external_storage", shape=(4,), dtype=np.float32, external=[("guards_ext.bin", 0, 16)])
    layout = h5py.VirtualLayout(shape=(2, 3), dtype=np.float32)
    layout[:] = h5py.VirtualSource("guards.h5", "/model_weights/a/a/f32", shape=(2, 3))
    f.create_virtual_dataset("virtual", layout)

with open("guards_ext.bin", "wb") as fh:
    fh.write(np.arange(4, dtype=np.float32).tobytes())
