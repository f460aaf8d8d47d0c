"""Generates probe_cycle.h5 for probe_test.go: a group hard-linked into
itself (g/loop -> g) and into a sibling (h/back -> g), with attributes of
each kind Probe reads. Run with /usr/bin/python3 (Debian's h5py)."""
import h5py
import numpy as np

with h5py.File("probe_cycle.h5", "w", track_order=False) as f:
    g = f.create_group("g")
    g.attrs["names"] = np.array([b"a", b"bb"])
    g.attrs["n"] = np.int64(3)
    g.create_dataset("w", data=np.arange(4, dtype=np.float32))
    g["loop"] = g
    h = f.create_group("h")
    h["back"] = g
    h.create_dataset("ints", data=np.arange(3, dtype=np.int32))
