// Package tensorio reads and writes the tensor files xfer's command line
// takes: NumPy .npy (through github.com/sbinet/npyio) and ONNX TensorProto
// .pb (the input_N.pb / output_N.pb files of ONNX's node tests, decoded with
// the protobuf types of github.com/advancedclimatesystems/gonnx/onnx).
//
// ReadFile chooses the decoder by extension; ReadNPY is the one .npy decoder
// of xfer (the dataset package reads its .npy data sets with it) and
// FromProto the one TensorProto decoder (the ONNX importer reads
// initializers and tensor attributes with it). A tensor keeps the file's
// element type (model.DType: float16/32/64, bfloat16 (.pb), int8/16/32/64,
// uint8/16/32/64, bool); As converts it to the dtype a model input or a
// data set wants. EncodeNPY and EncodePB write a tensor in its own type.
// Every header is checked against the bytes that remain before anything is
// allocated: a truncated or hostile file gives an error wrapping ErrFormat,
// never a panic or a silently zero-filled tensor.
package tensorio
