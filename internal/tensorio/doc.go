// Package tensorio reads and writes the tensor files xfer's command line
// takes: NumPy .npy (through github.com/sbinet/npyio) and ONNX TensorProto
// .pb (the input_N.pb / output_N.pb files of ONNX's node tests, decoded with
// the protobuf types of github.com/advancedclimatesystems/gonnx/onnx).
//
// ReadFile chooses the decoder by extension; ReadNPY is the one .npy decoder
// of xfer (the dataset package reads its .npy data sets with it). Element
// types: float32 as is; float64 narrowed to float32; int64 as is; uint8
// (and, for .pb, int32) widened to float32 so that image data can be fed to
// a model directly; the other .npy integer types widened to int64.
// Every header is checked against the bytes that remain before anything is
// allocated: a truncated or hostile file gives an error wrapping ErrFormat,
// never a panic or a silently zero-filled tensor.
package tensorio
