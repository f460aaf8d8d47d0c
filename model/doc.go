// Package model is xfer's in-memory representation of a neural network.
//
// A Model is a graph of operations with ONNX semantics, grouped into named
// layers. It is the contract between every other package: importers produce a
// Model, surgery transforms one into another, the engine and finetune run it,
// exporters write it. The package does no I/O and knows nothing of gorgonia,
// HDF5 or protobuf.
//
// # Structure
//
// A Model has graph Inputs (name, dtype, shape with -1 for unknown dims such
// as the batch), an ordered list of Layers, and Outputs naming values.
// A Layer (Keras vocabulary: a Dense, a Conv2D, a BatchNormalization) owns
//
//   - Nodes: ONNX operators (Op is the ONNX op type, Attrs its attributes, in
//     the semantics of Model.Opset for the default ONNX domain);
//   - Params: named float32 tensors (kernel, bias, gamma, moving_mean...);
//   - Consts: constant tensors needed by its nodes (int64 shapes, perms,
//     bool masks; any DType);
//   - Inputs and Outputs: the values that cross the layer boundary.
//
// A Keras model nested in another (a keras.applications base called inside a
// transfer model) is a Submodel: a name path, its own trainable flag and the
// training argument of its call. Its layers stay in Layers, each marked by
// Scope, so every runner sees one flat graph; Items gives the layers list of
// any level as Keras shows it. A Keras layer called more than once (a shared
// layer) is one layer per call site: the first owns the params, the others
// name it in Shares and read its params.
//
// Values are named by strings. A value is produced exactly once: by a graph
// input, by a Param or Const (its Name), or by a node output. Every node input
// names such a value or is "" (an omitted optional ONNX input).
//
// # Element types
//
// A DType names one of float32, float16, bfloat16, float64, int8/16/32/64,
// uint8/16/32/64 and bool. A Tensor holds the float types in F32 (float16,
// bfloat16 and float64 as float32 values) and the integer types and bool
// in I64 (bool as 0 or 1); the other field is nil. Values are always
// representable in the tensor's DType: Tensor.Fit rounds float16/bfloat16
// and wraps narrow integers. Params are float32. Convert and ConvertInto
// change a tensor's type with ONNX Cast semantics.
//
// # Layouts
//
// Params keep the layout of the framework they came from, and the nodes say
// how to use them: a Keras Dense kernel is [in, out] and feeds MatMul
// directly; a Keras Conv2D kernel is [kh, kw, in, out] (HWIO) and reaches the
// ONNX Conv through a Transpose node (perm [3 2 0 1], giving OIHW); a PyTorch
// Linear weight is [out, in] and feeds Gemm with transB=1. Keras layers on
// channels-last data wrap channels-first ONNX ops in Transpose nodes inside the
// layer, so the layer's inputs and outputs keep Keras's layout.
//
// # Invariants (checked by Validate)
//
//   - layer names are unique and non-empty; value names are produced once;
//   - every node input is produced by a graph input, a param, a const, or an
//     earlier node (in layer order, then node order): the graph is acyclic
//     and topologically ordered;
//   - a layer's nodes read only its own params and consts, its declared
//     Inputs and its own earlier node outputs; its Outputs are produced by its
//     nodes (or, for an identity layer with no nodes, equal its Inputs);
//   - a param's data length equals the product of its shape; a const's
//     DType is valid and its storage (F32 or I64, as the DType says)
//     holds exactly the product of its shape;
//   - a param's Trainable is Layer.Trainable && !State: BatchNormalization
//     moving statistics are State and never trainable;
//   - nested Keras models (Submodels) are listed outer first; the layers of
//     one are contiguous, named by its path ("base/conv1"), read only its
//     inputs and their own values, and are read from outside only through
//     its outputs; a param trains only when its layer and every enclosing
//     nested model are trainable;
//   - a call site of a shared layer (Layer.Shares) follows its owner, has
//     its kind, scope and trainable flag and no params of its own: its nodes
//     read the owner's params;
//   - Validate's shape inference succeeds: every op's input shapes agree with
//     its attributes and with each other.
//
// Functions in this package never modify their arguments unless the doc says
// so; Clone gives a deep copy sharing no memory with its source.
package model
