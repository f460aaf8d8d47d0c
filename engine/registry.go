package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// impl is one version of an op: its kernel applies from opset since up to
// the next listed version.
type impl struct {
	since int
	run   kernel
}

// v1 is the usual case: one kernel for every opset.
func v1(k kernel) []impl { return []impl{{1, k}} }

// registry maps an ONNX op type (default domain) to its implemented
// versions, in increasing order of since. A registry is a map literal: adding
// an op means adding a line here and a kernel in an op_*.go file.
var registry = map[string][]impl{
	// op_gemm.go
	"Gemm":   v1(gemmKernel),
	"MatMul": v1(matMulKernel),
	// op_binary.go
	"Add": v1(binaryKernel(opAdd)), "Sub": v1(binaryKernel(opSub)),
	"Mul": v1(binaryKernel(opMul)), "Div": v1(binaryKernel(opDiv)),
	"Pow": v1(binaryKernel(opPow)), "PRelu": v1(binaryKernel(opPRelu)),
	"Max": v1(variadicKernel(opMax)), "Min": v1(variadicKernel(opMin)),
	"Sum": v1(variadicKernel(opAdd)), "Mean": v1(meanKernel),
	// op_unary.go
	"Relu": v1(unaryKernel), "LeakyRelu": v1(unaryKernel), "Elu": v1(unaryKernel),
	"Selu": v1(unaryKernel), "Celu": v1(unaryKernel), "Sigmoid": v1(unaryKernel),
	"HardSigmoid": v1(unaryKernel), "HardSwish": v1(unaryKernel), "Tanh": v1(unaryKernel),
	"Softplus": v1(unaryKernel), "Softsign": v1(unaryKernel), "Gelu": {{20, unaryKernel}},
	"Mish": v1(unaryKernel), "Erf": v1(unaryKernel), "Exp": v1(unaryKernel),
	"Log": v1(unaryKernel), "Sqrt": v1(unaryKernel), "Neg": v1(unaryKernel),
	"Abs": v1(unaryKernel), "Reciprocal": v1(unaryKernel), "ThresholdedRelu": v1(unaryKernel),
	"Sin": v1(unaryKernel), "Cos": v1(unaryKernel), "Tan": v1(unaryKernel), "Asin": v1(unaryKernel),
	"Acos": v1(unaryKernel), "Atan": v1(unaryKernel), "Sinh": v1(unaryKernel), "Cosh": v1(unaryKernel),
	"Asinh": v1(unaryKernel), "Acosh": v1(unaryKernel), "Atanh": v1(unaryKernel), "Floor": v1(unaryKernel),
	"Ceil": v1(unaryKernel), "Round": v1(unaryKernel), "Sign": v1(unaryKernel),
	"Clip": {{1, clipKernel6}, {11, clipKernel11}},
	// op_softmax.go
	"Softmax":    {{1, softmaxKernel(false, false)}, {13, softmaxKernel(false, true)}},
	"LogSoftmax": {{1, softmaxKernel(true, false)}, {13, softmaxKernel(true, true)}},
	// op_shape.go
	"Flatten":   v1(flattenKernel),
	"Reshape":   {{1, reshapeKernel1}, {5, reshapeKernel}},
	"Transpose": v1(transposeKernel),
	"Squeeze":   {{1, squeezeKernel(false)}, {13, squeezeKernel(true)}},
	"Unsqueeze": {{1, unsqueezeKernel(false)}, {13, unsqueezeKernel(true)}},
	"Concat":    {{1, concatKernel}},
	"Identity":  v1(identityKernel),
	"Dropout":   v1(dropoutKernel),
	"Shape":     v1(shapeKernel),
	"Gather":    v1(gatherKernel),
	"Cast":      {{1, castKernel}},
	"Constant":  v1(constantKernel),
	// op_compare.go
	"Equal": v1(compareKernel(cmpEqual)), "Less": v1(compareKernel(cmpLess)),
	"Greater": v1(compareKernel(cmpGreater)), "LessOrEqual": v1(compareKernel(cmpLessOrEqual)),
	"GreaterOrEqual": v1(compareKernel(cmpGreaterOrEqual)), "And": v1(compareKernel(cmpAnd)),
	"Or": v1(compareKernel(cmpOr)), "Xor": v1(compareKernel(cmpXor)), "Not": v1(notKernel),
	// op_where.go, op_expand.go, op_tile.go, op_split.go, op_constantofshape.go, op_range.go
	"Where":           v1(whereKernel),
	"Expand":          v1(expandKernel),
	"Tile":            v1(tileKernel),
	"Split":           {{1, splitKernel(1)}, {2, splitKernel(2)}, {13, splitKernel(13)}, {18, splitKernel(18)}},
	"ConstantOfShape": v1(constantOfShapeKernel),
	"Range":           v1(rangeKernel),
	// op_layernorm.go, op_instancenorm.go, op_groupnorm.go
	"LayerNormalization":    {{17, layerNormKernel}},
	"InstanceNormalization": v1(instanceNormKernel),
	"GroupNormalization":    {{18, groupNormKernel(false)}, {21, groupNormKernel(true)}},
	// op_argmax.go, op_size.go, op_gatherelements.go, op_scatterelements.go, op_trilu.go,
	// op_mod.go, op_cumsum.go, op_hardmax.go, op_topk.go, op_castlike.go, op_eyelike.go,
	// op_onehot.go, op_depthtospace.go, op_isnan.go, op_shrink.go, op_bitshift.go, op_loss.go
	"ArgMax": v1(argKernel(true)), "ArgMin": v1(argKernel(false)), "Size": v1(sizeKernel),
	"GatherElements": v1(gatherElementsKernel), "ScatterElements": v1(scatterElementsKernel),
	"Scatter": {{9, scatterElementsKernel}}, "Trilu": v1(triluKernel), "Mod": v1(modKernel),
	"CumSum": v1(cumSumKernel), "Hardmax": {{1, hardmaxKernel(false)}, {13, hardmaxKernel(true)}},
	"TopK": {{1, topKKernel(false)}, {10, topKKernel(true)}}, "CastLike": v1(castLikeKernel),
	"EyeLike": v1(eyeLikeKernel), "OneHot": v1(oneHotKernel),
	"DepthToSpace": v1(depthToSpaceKernel(true)), "SpaceToDepth": v1(depthToSpaceKernel(false)),
	"IsNaN": v1(isNaNKernel), "IsInf": v1(isInfKernel), "Shrink": v1(shrinkKernel), "BitShift": v1(bitShiftKernel),
	"NegativeLogLikelihoodLoss": v1(nllKernel), "SoftmaxCrossEntropyLoss": v1(softmaxCEKernel),
	// op_slice.go
	"Slice": {{1, sliceKernel(false)}, {10, sliceKernel(true)}},
	// op_batchnorm.go
	"BatchNormalization": v1(batchNormKernel),
	// op_conv.go
	"Conv": v1(convKernel),
	// op_resize.go
	"Resize":   {{10, resizeKernel(10)}, {11, resizeKernel(11)}},
	"Upsample": {{7, resizeKernel(7)}, {9, resizeKernel(9)}},
	// op_rnn.go
	"RNN": {{7, rnnKernel}}, "GRU": {{7, rnnKernel}}, "LSTM": {{7, rnnKernel}},
	// op_convtranspose.go
	"ConvTranspose": v1(convTransposeKernel),
	// op_pool.go
	"MaxPool":           v1(poolKernel(true)),
	"AveragePool":       v1(poolKernel(false)),
	"GlobalAveragePool": v1(globalPoolKernel(false)),
	"GlobalMaxPool":     v1(globalPoolKernel(true)),
	// op_pad.go
	"Pad": {{1, padKernel(false)}, {11, padKernel(true)}},
	// op_reduce.go
	"ReduceMean":      {{1, reduceKernel(redMean, false)}, {18, reduceKernel(redMean, true)}},
	"ReduceSum":       {{1, reduceKernel(redSum, false)}, {13, reduceKernel(redSum, true)}},
	"ReduceMax":       {{1, reduceKernel(redMax, false)}, {18, reduceKernel(redMax, true)}},
	"ReduceMin":       {{1, reduceKernel(redMin, false)}, {18, reduceKernel(redMin, true)}},
	"ReduceProd":      {{1, reduceKernel(redProd, false)}, {18, reduceKernel(redProd, true)}},
	"ReduceL1":        {{1, reduceKernel(redL1, false)}, {18, reduceKernel(redL1, true)}},
	"ReduceL2":        {{1, reduceKernel(redL2, false)}, {18, reduceKernel(redL2, true)}},
	"ReduceLogSum":    {{1, reduceKernel(redLogSum, false)}, {18, reduceKernel(redLogSum, true)}},
	"ReduceLogSumExp": {{1, reduceKernel(redLogSumExp, false)}, {18, reduceKernel(redLogSumExp, true)}},
	"ReduceSumSquare": {{1, reduceKernel(redSumSquare, false)}, {18, reduceKernel(redSumSquare, true)}},
}

// SupportedOps lists the op types the engine runs, sorted.
func SupportedOps() []string {
	ops := make([]string, 0, len(registry))
	for k := range registry {
		ops = append(ops, k)
	}
	slices.Sort(ops)
	return ops
}

// resolve returns the kernel of n's op for opset: the highest version whose
// since is not above opset.
func resolve(n *model.Node, opset int) (kernel, error) {
	vs, ok := registry[n.Op]
	if !ok {
		return nil, fmt.Errorf("engine: %w: op %s (supported: %s)", model.ErrUnsupported, n.Op, strings.Join(SupportedOps(), ", "))
	}
	var k kernel
	for _, v := range vs {
		if v.since <= opset {
			k = v.run
		}
	}
	if k == nil {
		return nil, fmt.Errorf("engine: %w: op %s needs opset >= %d, model has opset %d", model.ErrUnsupported, n.Op, vs[0].since, opset)
	}
	if n.Op == "MaxPool" && len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return nil, fmt.Errorf("engine: %w: MaxPool Indices output (only Y is implemented)", model.ErrUnsupported)
	}
	return k, nil
}
