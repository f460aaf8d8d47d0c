package finetune

import (
	"slices"

	G "gorgonia.org/gorgonia"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// lowerFunc lowers node n of layer l to gorgonia: it reads n's inputs from
// lw, adds the forward op, whose gradient is written beside it (the op's
// diff), and returns the node of n's first output.
type lowerFunc func(lw *lowerer, l *model.Layer, n *model.Node) (*G.Node, error)

// registry maps an ONNX op type to its training lowering, one op_*.go file
// per op (forward and backward together). The element-wise activations of
// internal/kernels' table that have a gradient lower through lowerAct
// without a line here (see lowering).
var registry = map[string]lowerFunc{
	// op_binary.go
	"Add": lowerBinary, "Sub": lowerBinary, "Mul": lowerBinary, "Div": lowerBinary,
	// op_variadic.go
	"Sum": lowerVariadic, "Mean": lowerVariadic, "Max": lowerVariadic, "Min": lowerVariadic,
	// op_act.go (and every activation of kernels' table with a gradient)
	"Clip": lowerClip,
	// op_softmax.go
	"Softmax": lowerSoftmax, "LogSoftmax": lowerSoftmax,
	// op_gemm.go
	"Gemm": lowerGemm, "MatMul": lowerMatMul,
	// op_shape.go
	"Identity": lowerIdentity, "Flatten": lowerFlatten, "Reshape": lowerReshape,
	"Transpose": lowerTranspose, "Concat": lowerConcat,
	// op_dropout.go
	"Dropout": lowerDropout,
	// op_batchnorm.go
	"BatchNormalization": lowerBatchNorm,
	// op_conv.go
	"Conv": lowerConv,
	// op_pool.go
	"MaxPool": lowerPool, "AveragePool": lowerPool, "GlobalAveragePool": lowerPool, "GlobalMaxPool": lowerPool,
	// op_pad.go
	"Pad": lowerPad,
	// op_prelu.go
	"PRelu": lowerPRelu,
	// op_reduce.go
	"ReduceMean": lowerReduce, "ReduceSum": lowerReduce, "ReduceMax": lowerReduce, "ReduceMin": lowerReduce,
	// op_resize.go
	"Resize": lowerResize, "Upsample": lowerResize,
	// op_layernorm.go
	"LayerNormalization": lowerLayerNorm,
	// op_gather.go
	"Gather": lowerGather, "Cast": lowerCast,
	// op_slice.go
	"Slice": lowerSlice, "Squeeze": lowerSqueeze, "Unsqueeze": lowerSqueeze,
	// op_convtranspose.go
	"ConvTranspose": lowerConvTranspose,
	// op_recurrent.go
	"RNN": lowerRecurrent, "GRU": lowerRecurrent, "LSTM": lowerRecurrent,
}

// lowering returns the lowering of op.
func lowering(op string) (lowerFunc, bool) {
	if f, ok := registry[op]; ok {
		return f, true
	}
	if kernels.IsAct(op) && kernels.HasGrad(op) {
		return lowerAct, true
	}
	return nil, false
}

// SupportedOps lists the ONNX op types training lowers, sorted.
func SupportedOps() []string {
	var ops []string
	for op := range registry {
		ops = append(ops, op)
	}
	for _, op := range kernels.Ops() {
		if _, ok := registry[op]; !ok && kernels.IsAct(op) && kernels.HasGrad(op) {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	return ops
}
