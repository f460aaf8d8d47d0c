package channelslast

import (
	"slices"

	"github.com/xferml/xfer/model"
)

// handler converts source node n (and any nodes it fuses, which it marks
// done) into Keras layers appended to c.out.
type handler func(c *converter, n *model.Node) error

// handlers is the registry of ONNX ops the conversion handles, one file per
// family.
var handlers = map[string]handler{
	"Conv":               opConv,
	"BatchNormalization": opBatchNorm,
	"LayerNormalization": opLayerNorm,
	"MaxPool":            opPool,
	"AveragePool":        opPool,
	"GlobalAveragePool":  opGlobalPool,
	"GlobalMaxPool":      opGlobalPool,
	"ReduceMean":         opReduce,
	"ReduceMax":          opReduce,
	"Pad":                opPad,
	"Relu":               opActivation,
	"Sigmoid":            opActivation,
	"Tanh":               opActivation,
	"Softplus":           opActivation,
	"Softsign":           opActivation,
	"Selu":               opActivation,
	"Elu":                opActivation,
	"Exp":                opActivation,
	"LeakyRelu":          opActivation,
	"Clip":               opActivation,
	"HardSigmoid":        opActivation,
	"HardSwish":          opActivation,
	"Gelu":               opActivation,
	"Softmax":            opSoftmax,
	"LogSoftmax":         opSoftmax,
	"Div":                opBinary, // x / constant, and the erf form of GELU
	"Add":                opBinary,
	"Sub":                opBinary,
	"Mul":                opBinary,
	"Max":                opBinary,
	"Min":                opBinary,
	"Sum":                opBinary,
	"Mean":               opBinary,
	"Concat":             opConcat,
	"Gemm":               opDense,
	"MatMul":             opDense,
	"Flatten":            opReshape,
	"Reshape":            opReshape,
	"Squeeze":            opReshape,
	"Unsqueeze":          opReshape,
	"Slice":              opSlice,
	"Gather":             opGather,
	"Expand":             opExpand,
	"Transpose":          opTranspose,
	"Identity":           opIdentity,
	"Cast":               opCast,
	"Dropout":            opDropout,
}

// handledOps lists the ops of handlers, sorted, for messages.
func handledOps() []string {
	ops := make([]string, 0, len(handlers))
	for op := range handlers {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}
