// Package onnx reads ONNX models (.onnx, a serialised onnx.ModelProto) into
// xfer's model representation.
//
// # What is read
//
// Models with IR version >= 3 whose nodes all belong to the default ONNX
// domain, at opsets 7 to 21; a model at an older opset is read only when
// every op it uses has kept its definition up to opset 7 (Softplus-1,
// Elu-6, ...), so that it means what it says at opset 7. The model's opset is kept as Model.Opset and the
// nodes keep that opset's semantics: nothing is rewritten (the engine
// resolves each op to its version; exporters/onnx converts when writing).
//
// xfer computes in float32: graph inputs of type float16, bfloat16 or double
// are declared float32. Initializers become params (float32; float16,
// bfloat16 and double are converted) or consts (int64, and float scalars or shape-like inputs such as
// Clip's bounds). Graph inputs that name an initializer are not model inputs.
// Constant nodes are folded into consts, and an Identity of an initializer
// or constant (torch.onnx.export writes one for each further use of a
// deduplicated constant) into a copy of it, owned by the layer that reads it. Every tensor is checked before
// anything is allocated: non-negative dims, an element count that does not
// overflow, and exactly that many values in raw_data or the typed field.
// Tensors in external files, sparse initializers, other domains and element
// types other than the float types and int64 are refused with an error that
// says what is supported.
//
// # Layers
//
// ONNX has no layers, so the importer groups nodes: Gemm, or MatMul with a
// constant kernel followed by Add of a constant bias, together with a
// following activation is one "Dense" layer (roles kernel, bias); Conv with
// its activation is one "Conv" layer; BatchNormalization (gamma, beta,
// moving_mean, moving_variance; the moving statistics are non-trainable
// state), Flatten and every other node are one layer each, of Kind the op
// type (PRelu's slope gets the role alpha). Layer names come from the kernel
// initializer ("dense.weight" gives "dense") or else the node name
// ("/dense/Gemm" gives "dense"), else the op type; they are sanitised for
// Keras and HDF5 (letters, digits, "_", ".", "-") and made unique. Params of
// recognised roles are renamed "<layer>/<role>"; other float initializers
// keep their names and take the last part of it as role. Every layer starts
// trainable.
//
// A model written by xfer carries its grouping, trainable flags, param roles,
// history and metadata in metadata_props (keys "xfer.*", see
// internal/onnxmeta); they are read back when present and consistent with
// the graph, so .onnx -> xfer -> .onnx keeps them.
package onnx
