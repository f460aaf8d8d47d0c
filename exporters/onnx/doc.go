// Package onnx writes xfer models as ONNX files (onnx.ModelProto).
//
// Marshal and WriteFile export any valid model at a target opset from 13 to
// 21 (default 17, model.DefaultOpset), converting each node from the
// semantics of Model.Opset to the target's:
//
//   - Squeeze, Unsqueeze, ReduceSum (opset 13) and the other Reduce ops
//     (opset 18) take axes as an input instead of an attribute, and back
//     when the axes are constant;
//   - Clip, Pad (opset 11) and Dropout (opset 12) take their settings as
//     inputs;
//   - Softmax, LogSoftmax and Hardmax before opset 13 normalise over the
//     flattened trailing dims: on the last axis the axis is written
//     explicitly, elsewhere the op is wrapped in Flatten and Reshape;
//   - BatchNormalization loses the opset 7-8 "spatial" attribute (spatial=0
//     is refused) and its training outputs, Dropout its mask output (refused
//     when read);
//   - an op newer than the target (Gelu needs 20, Mish 18, ...) is refused
//     with the opset it needs.
//
// Params and consts become initializers (raw little-endian data); the graph
// inputs and outputs keep their names and dtypes, with the batch dim written
// as the symbolic dim "N". Nodes are named "<layer>/<Op>[_k]" unless the model
// names them, so Netron shows which layer each node belongs to. Keras
// channels-last models stay channels-last: their layers already wrap the
// channels-first ONNX ops in Transpose nodes.
//
// metadata_props carry what ONNX has no field for (see internal/onnxmeta):
// xfer.layers (grouping, roles, initializers, Keras configs), xfer.trainable,
// xfer.history, xfer.source, xfer.meta and xfer.sequential; importers/onnx
// reads them back. The output is deterministic: the same model gives the same
// bytes.
package onnx
