package model

import (
	"fmt"
	"slices"
)

// shapeRules maps an ONNX op type to its shape rule. A registry is a map
// literal: adding an op means adding a line here and a rule below.
var shapeRules = map[string]shapeRule{
	// Element-wise, one input, same shape out.
	"Relu": sameAsInput, "LeakyRelu": sameAsInput, "Elu": sameAsInput, "Selu": sameAsInput,
	"Sigmoid": sameAsInput, "HardSigmoid": sameAsInput, "Tanh": sameAsInput,
	"Softplus": sameAsInput, "Softsign": sameAsInput, "Exp": sameAsInput, "Log": sameAsInput,
	"Sqrt": sameAsInput, "Neg": intUnaryShape, "Abs": intUnaryShape, "Identity": intUnaryShape,
	"Softmax": axisShape, "LogSoftmax": axisShape, "Clip": clipShape,
	"Gelu": sameAsInput, "HardSwish": sameAsInput, "Mish": sameAsInput, "Celu": sameAsInput,
	"ThresholdedRelu": sameAsInput, "Erf": sameAsInput, "Reciprocal": sameAsInput,
	"Dropout": dropoutShape,
	// Broadcasting binary and variadic.
	"Add": binaryShape, "Sub": binaryShape, "Mul": binaryShape, "Div": binaryShape,
	"Pow": binaryShape, "Max": binaryShape, "Min": binaryShape, "Sum": binaryShape,
	"Mean": binaryShape, "PRelu": binaryShape,
	"MatMul":    matMulShape,
	"Gemm":      gemmShape,
	"Flatten":   flattenShape,
	"Transpose": transposeShape,
	// Shape arithmetic and data movement (shape_rules_shape.go).
	"Reshape": reshapeShape, "Squeeze": squeezeShape, "Unsqueeze": unsqueezeShape,
	"Concat": concatShape, "Shape": shapeShape, "Gather": gatherShape, "Cast": castShape,
	"Constant": constantShape,
	// shape_rules_rnn.go
	"RNN": rnnShape, "GRU": rnnShape, "LSTM": rnnShape,
	// shape_rules_resize.go
	"Resize": resizeShape, "Upsample": resizeShape,
	// shape_rules_data.go
	"Split": splitShape, "Expand": expandShape, "Where": whereShape, "Tile": tileShape,
	"ConstantOfShape": constantOfShapeShape, "Range": rangeShape,
	"Equal": compareShape, "Less": compareShape, "Greater": compareShape, "LessOrEqual": compareShape,
	"GreaterOrEqual": compareShape, "And": compareShape, "Or": compareShape, "Xor": compareShape, "Not": notShape,
	// shape_rules_norm.go
	"LayerNormalization": layerNormShape, "InstanceNormalization": channelNormShape, "GroupNormalization": channelNormShape,
	// shape_rules_misc.go
	"ArgMax": argShape, "ArgMin": argShape, "Size": sizeShape,
	"GatherElements": gatherElementsShape, "ScatterElements": gatherElementsShape, "Scatter": gatherElementsShape,
	"Trilu": sameAsInput, "Mod": binaryShape, "CumSum": sameAsInput, "Hardmax": sameAsInput,
	"TopK": topKShape, "CastLike": likeInputShape, "EyeLike": eyeLikeShape, "OneHot": oneHotShape,
	"DepthToSpace": depthToSpaceShape, "SpaceToDepth": depthToSpaceShape,
	"IsNaN": boolLikeShape, "IsInf": boolLikeShape, "Shrink": sameAsInput, "BitShift": binaryShape,
	"NegativeLogLikelihoodLoss": lossShape, "SoftmaxCrossEntropyLoss": lossShape,
	"Sin": sameAsInput, "Cos": sameAsInput, "Tan": sameAsInput, "Asin": sameAsInput, "Acos": sameAsInput,
	"Atan": sameAsInput, "Sinh": sameAsInput, "Cosh": sameAsInput, "Asinh": sameAsInput, "Acosh": sameAsInput,
	"Atanh": sameAsInput, "Floor": sameAsInput, "Ceil": sameAsInput, "Round": sameAsInput, "Sign": intUnaryShape,
	// shape_rules_slice.go
	"Slice": sliceShape,
	// Neural-network ops (shape_rules_nn.go).
	"Conv": convShape, "ConvTranspose": convTransposeShape, "MaxPool": poolShape, "AveragePool": poolShape,
	"GlobalAveragePool": globalPoolShape, "GlobalMaxPool": globalPoolShape,
	"BatchNormalization": batchNormShape, "Pad": padShape,
	"ReduceMean": reduceShape, "ReduceSum": reduceShape, "ReduceMax": reduceShape, "ReduceMin": reduceShape,
	"ReduceProd": reduceShape, "ReduceL1": reduceShape, "ReduceL2": reduceShape, "ReduceLogSum": reduceShape,
	"ReduceLogSumExp": reduceShape, "ReduceSumSquare": reduceShape,
}

func sameAsInput(c *inferCtx) ([]*Value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input 0")
	}
	return []*Value{x.Clone()}, nil
}

// intUnaryShape is sameAsInput folding known integer contents (Neg, Abs,
// Sign, Identity of shape arithmetic).
func intUnaryShape(c *inferCtx) ([]*Value, error) {
	outs, err := sameAsInput(c)
	if err != nil {
		return nil, err
	}
	if t, ok := c.knownTensor(0); ok {
		v := make([]int64, len(t.I64))
		for i, x := range t.I64 {
			switch c.node.Op {
			case "Neg":
				v[i] = -x
			case "Abs":
				v[i] = max(x, -x)
			case "Sign":
				v[i] = int64(min(max(x, -1), 1))
			default:
				v[i] = x
			}
		}
		c.fold(0, &Tensor{DType: t.DType, Shape: slices.Clone(t.Shape), I64: v})
	}
	return outs, nil
}

func dropoutShape(c *inferCtx) ([]*Value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input 0")
	}
	mask := x.Clone()
	if c.opsetOf() >= 10 {
		mask.DType = Bool // the input's type before opset 10
	}
	return []*Value{x.Clone(), mask}, nil
}

// broadcastDims applies numpy broadcasting to two shapes.
func broadcastDims(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da < 0:
			out[i] = db
		case db < 0:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func broadcastShape(c *inferCtx) ([]*Value, error) {
	var shape []int
	dt := DType(0)
	for i, v := range c.ins {
		if v == nil {
			continue
		}
		if dt == 0 {
			dt, shape = v.DType, slices.Clone(v.Shape)
			continue
		}
		vs, err := LegacyBroadcast(c.node, c.opsetOf(), shape, v.Shape)
		if err != nil {
			return nil, err
		}
		s, err := broadcastDims(shape, vs)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		shape = s
	}
	if dt == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	return []*Value{{DType: dt, Shape: shape}}, nil
}

func dimsAgree(a, b int) bool { return a < 0 || b < 0 || a == b }

func matMulShape(c *inferCtx) ([]*Value, error) {
	a, b := c.in(0), c.in(1)
	if a == nil || b == nil {
		return nil, fmt.Errorf("needs two inputs")
	}
	as, bs := slices.Clone(a.Shape), slices.Clone(b.Shape)
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("scalar operand")
	}
	aVec, bVec := len(as) == 1, len(bs) == 1
	if aVec {
		as = []int{1, as[0]}
	}
	if bVec {
		bs = []int{bs[0], 1}
	}
	k1, k2 := as[len(as)-1], bs[len(bs)-2]
	if !dimsAgree(k1, k2) {
		return nil, fmt.Errorf("inner dims differ: %v x %v", a.Shape, b.Shape)
	}
	batch, err := broadcastDims(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, err
	}
	out := append(batch, as[len(as)-2], bs[len(bs)-1])
	if aVec {
		out = append(out[:len(out)-2], out[len(out)-1])
	}
	if bVec {
		out = out[:len(out)-1]
	}
	return []*Value{{DType: a.DType, Shape: out}}, nil
}

func gemmShape(c *inferCtx) ([]*Value, error) {
	a, b := c.in(0), c.in(1)
	if a == nil || b == nil {
		return nil, fmt.Errorf("needs inputs A and B")
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, fmt.Errorf("A %v and B %v must be 2-D", a.Shape, b.Shape)
	}
	m, k := a.Shape[0], a.Shape[1]
	if c.node.AttrInt("transA", 0) != 0 {
		m, k = k, m
	}
	k2, n := b.Shape[0], b.Shape[1]
	if c.node.AttrInt("transB", 0) != 0 {
		k2, n = n, k2
	}
	if !dimsAgree(k, k2) {
		return nil, fmt.Errorf("inner dims differ: A %v, B %v (transA=%d transB=%d)", a.Shape, b.Shape, c.node.AttrInt("transA", 0), c.node.AttrInt("transB", 0))
	}
	out := []int{m, n}
	if cv := c.in(2); cv != nil {
		if _, err := broadcastDims(out, cv.Shape); err != nil {
			return nil, fmt.Errorf("bias C: %w", err)
		}
	}
	return []*Value{{DType: a.DType, Shape: out}}, nil
}

func flattenShape(c *inferCtx) ([]*Value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	r := len(x.Shape)
	axis := int(c.node.AttrInt("axis", 1))
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis > r {
		return nil, fmt.Errorf("axis %d out of range for rank %d", c.node.AttrInt("axis", 1), r)
	}
	prod := func(s []int) int {
		p := 1
		for _, d := range s {
			if d < 0 {
				return -1
			}
			p *= d
		}
		return p
	}
	return []*Value{{DType: x.DType, Shape: []int{prod(x.Shape[:axis]), prod(x.Shape[axis:])}}}, nil
}

func transposeShape(c *inferCtx) ([]*Value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	r := len(x.Shape)
	perm := c.node.AttrInts("perm", nil)
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v has %d entries for rank %d", perm, len(perm), r)
	}
	seen := make([]bool, r)
	out := make([]int, r)
	for i, p := range perm {
		if p < 0 || int(p) >= r || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation of rank %d", perm, r)
		}
		seen[p] = true
		out[i] = x.Shape[p]
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}
