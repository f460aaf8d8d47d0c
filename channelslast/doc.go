// Package channelslast rewrites a model read from ONNX (layers without
// Keras configs; for a PyTorch CNN, channels-first: NCHW tensors, OIHW
// kernels) as a model of Keras layers, channels-last, so that the Keras
// exporter, which writes Keras layers only, can write it as .h5 or .keras.
// It does one job: model in, new model out; the input is never modified.
//
// # How
//
// Convert walks the source nodes in order and keeps, for every source
// value, the converted value that holds it and a perm saying how its axes
// are laid out (converted = Transpose(source, perm)). Ops whose Keras layer
// is channels-last (Conv, pooling, BatchNormalization) ask for their input
// channels-last ([0 2 3 1] for rank 4) and produce channels-last values;
// element-wise ops keep their input's layout; Transpose and Identity only
// relabel; Flatten and Reshape split and merge runs of axes in
// whatever layout the runs are held, or flatten as held into Dense layers
// whose kernel rows are reordered. A Keras Permute layer is inserted only
// where a value is held in a layout its reader cannot take. Each Keras
// layer is built by package layers, which writes its Keras config, and
// every weight is transposed once into Keras's layout: Conv kernels
// [k..., in/groups, out] (HWIO), depthwise kernels [kh, kw, C, multiplier],
// Dense kernels [in, out]. One Keras activation function after a Conv or
// Dense folds into it; torch's shared-constant Identity nodes and int64
// shape arithmetic build nothing (Reshape targets and pads are read from
// shape inference).
//
// Graph inputs become channels-last when their only use is the Permute the
// conversion put in front of them, so a user feeds
// x.transpose(0, 2, 3, 1); with Options.KeepNCHW the inputs keep the source
// layout (the model starts with a Permute layer) and outputs are permuted
// back, so the same arrays go in and come out. Convert returns each input's
// layout and each output's (Layout) for the caller to record (cmd/xfer writes it into the
// model's history, which both Keras formats carry).
//
// # What converts
//
// Conv (groups; one group per channel becomes DepthwiseConv2D),
// BatchNormalization, LayerNormalization (the opset-17 op, and torch's
// ReduceMean/Sub/Pow/Sqrt/Div form before it; gamma and beta reordered to
// the layout's axes), MaxPool/AveragePool (ceil_mode and pads become
// "same" or ZeroPadding where that is exact), GlobalAveragePool/
// GlobalMaxPool and ReduceMean/ReduceMax over the spatial axes (global
// pooling, keepdims kept), Pad with zeros, activations (Relu, Clip(0, m) as
// ReLU(max_value), Sigmoid, Tanh, swish, GELU's erf form, HardSigmoid and
// HardSwish as Rescaling + ReLU(max_value=1) [+ Multiply], LeakyRelu, Elu,
// Selu, Softplus, Softsign, Exp), Softmax/LogSoftmax on any axis, Add/Sub/
// Mul/Max/Min/Sum/Mean of tensors (merge layers, broadcasting size-1 axes)
// and by constants (Rescaling, or a 1x1 DepthwiseConv2D for a per-channel
// constant; a constant tensor added, a ViT's position embedding, is a
// Rescaling whose offset is that array), Concat on any axis, Gemm and MatMul
// by a constant weight (Dense), Flatten, Reshape, Squeeze, Unsqueeze, Slice
// (Cropping), Gather of one constant index (Cropping [+ Reshape]), a
// constant Expanded along the batch axis and concatenated (a ViT's class
// token: Cropping1D of the other input + Rescaling(scale=0, offset=token)),
// torch's nn.MultiheadAttention self-attention as torch 1.13 exports it
// (Transposes that move the batch axis, MatMul, Slice, Reshape, Softmax: one
// MultiHeadAttention layer, see matchAttention), Transpose, Identity, Cast
// to float, Dropout (a Keras Dropout layer), and constant Transposes/Reshapes
// of weights (folded). Layers that already have a Keras config (a head added by
// surgery) are copied and read their inputs in the source layout. Anything
// else is an error naming the layer, node and op (a *NodeError wrapping
// model.ErrUnsupported) and saying what Keras lacks.
package channelslast
