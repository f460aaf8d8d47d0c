"""Writes the .npy fixtures of tensorio's tests with numpy itself (the peer).

Run from this directory with Debian's python: /usr/bin/python3 gen.py
"""
import numpy as np

a = np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5
np.save("f4_2x3.npy", a)
np.save("f8_2x2.npy", np.array([[1.5, -2.25], [1e-3, 3.0e38]], dtype=np.float64))
np.save("i8_3.npy", np.array([1, -2, 1 << 40], dtype=np.int64))
np.save("u1_2x2.npy", np.array([[0, 7], [128, 255]], dtype=np.uint8))
np.save("f4_fortran_2x3.npy", np.asfortranarray(a))
np.save("f4_scalar.npy", np.float32(3.5))
np.save("f4_be_2.npy", np.array([1.0, -2.0], dtype=">f4"))
np.save("f4_empty_0x3.npy", np.zeros((0, 3), dtype=np.float32))
np.save("f2_2.npy", np.array([1.0, 2.0], dtype=np.float16))

# ONNX TensorProto files: raw_data (as numpy_helper writes) and typed fields.
from onnx import TensorProto, helper, numpy_helper

with open("pb_raw_f4_2x3.pb", "wb") as f:
    f.write(numpy_helper.from_array(a, name="x").SerializeToString())
with open("pb_typed_f4_2x3.pb", "wb") as f:
    f.write(helper.make_tensor("x", TensorProto.FLOAT, [2, 3], a.flatten().tolist()).SerializeToString())
with open("pb_raw_i8_3.pb", "wb") as f:
    f.write(numpy_helper.from_array(np.array([1, -2, 1 << 40], dtype=np.int64), name="i").SerializeToString())

# Every element type xfer holds (model.DType), as numpy and onnx write them.
np.save("i1_2.npy", np.array([-128, 127], dtype=np.int8))
np.save("i2_2.npy", np.array([-300, 300], dtype=np.int16))
np.save("i4_3.npy", np.array([1, -2, (1 << 31) - 1], dtype=np.int32))
np.save("u2_2.npy", np.array([0, 65535], dtype=np.uint16))
np.save("u4_2.npy", np.array([0, (1 << 32) - 1], dtype=np.uint32))
np.save("u8_2.npy", np.array([0, (1 << 63) - 1], dtype=np.uint64))
np.save("u8_big.npy", np.array([1 << 63], dtype=np.uint64))
np.save("b1_2.npy", np.array([True, False]))
np.save("i2_be_2.npy", np.array([-300, 2], dtype=">i2"))
np.save("i1_3.npy", np.array([-128, 0, 127], dtype=np.int8))
np.save("b1_2x2.npy", np.array([[True, False], [False, True]]))
with open("pb_raw_f2_3.pb", "wb") as f:
    f.write(numpy_helper.from_array(np.array([1.0, -2.5, 65504.0], dtype=np.float16), name="h").SerializeToString())
with open("pb_typed_f2_3.pb", "wb") as f:
    f.write(helper.make_tensor("h", TensorProto.FLOAT16, [3], [1.0, -2.5, 65504.0]).SerializeToString())  # int32_data: bit patterns
with open("pb_typed_bf16_2.pb", "wb") as f:
    f.write(helper.make_tensor("b", TensorProto.BFLOAT16, [2], [1.5, -2.5]).SerializeToString())
with open("pb_raw_b1_3.pb", "wb") as f:
    f.write(numpy_helper.from_array(np.array([True, False, True]), name="c").SerializeToString())
with open("pb_typed_i8_4.pb", "wb") as f:
    f.write(helper.make_tensor("q", TensorProto.INT8, [4], [-128, -1, 0, 127]).SerializeToString())
with open("pb_raw_u2_2.pb", "wb") as f:
    f.write(numpy_helper.from_array(np.array([7, 65535], dtype=np.uint16), name="u").SerializeToString())
with open("pb_typed_f8_2.pb", "wb") as f:
    f.write(helper.make_tensor("d", TensorProto.DOUBLE, [2], [0.25, -1e10]).SerializeToString())
with open("pb_raw_f4_20x0x5.pb", "wb") as f:  # no elements, however large the other dims
    f.write(numpy_helper.from_array(np.zeros((20, 0, 5), dtype=np.float32), name="z").SerializeToString())
