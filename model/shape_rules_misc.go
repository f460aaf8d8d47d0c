package model

import (
	"fmt"
	"slices"
)

// Shape rules of the rest of issue 11's ops: ArgMax/ArgMin, Size,
// GatherElements, ScatterElements, Trilu, Mod, CumSum, Hardmax, TopK,
// CastLike, EyeLike, OneHot, DepthToSpace/SpaceToDepth, IsNaN/IsInf,
// BitShift and the two losses.

func argShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	axis, err := NormAxis(c.node.AttrInt("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(x.Shape[:axis])
	if c.node.AttrInt("keepdims", 1) != 0 {
		out = append(out, 1)
	}
	out = append(out, x.Shape[axis+1:]...)
	return []*Value{{DType: Int64, Shape: out}}, nil
}

func sizeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	if n := NumElements(x.Shape); n >= 0 {
		c.fold(0, foldInts([]int{}, []int64{int64(n)}))
	}
	return []*Value{{DType: Int64, Shape: []int{}}}, nil
}

func gatherElementsShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	idx, err := c.need(1, "indices")
	if err != nil {
		return nil, err
	}
	if len(idx.Shape) != len(x.Shape) {
		return nil, fmt.Errorf("indices %v must have data's rank %d", idx.Shape, len(x.Shape))
	}
	if c.node.Op == "GatherElements" {
		return []*Value{{DType: x.DType, Shape: slices.Clone(idx.Shape)}}, nil
	}
	return []*Value{x.Clone()}, nil // ScatterElements, Scatter
}

// likeInputShape is the shape of input 0 with the dtype of input 1
// (CastLike).
func likeInputShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	like, err := c.need(1, "target_type")
	if err != nil {
		return nil, err
	}
	return []*Value{{DType: like.DType, Shape: slices.Clone(x.Shape)}}, nil
}

func eyeLikeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) != 2 {
		return nil, fmt.Errorf("input %v must be 2-D", x.Shape)
	}
	dt := x.DType
	if a, ok := c.node.Attrs["dtype"]; ok {
		d, ok := DTypeFromONNX(a.Int)
		if !ok {
			return nil, fmt.Errorf("dtype %d is not supported", a.Int)
		}
		dt = d
	}
	return []*Value{{DType: dt, Shape: slices.Clone(x.Shape)}}, nil
}

func topKShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	axis, err := NormAxis(c.node.AttrInt("axis", -1), len(x.Shape))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(x.Shape)
	k := c.node.AttrInt("k", -1)
	if c.opsetOf() >= 10 {
		k = -1
		if v, ok := c.constInts(1); ok && len(v) == 1 {
			k = v[0]
		}
	}
	out[axis] = -1
	if k >= 0 {
		if x.Shape[axis] >= 0 && k > int64(x.Shape[axis]) {
			return nil, fmt.Errorf("k %d exceeds axis %d of size %d", k, axis, x.Shape[axis])
		}
		out[axis] = int(k)
	}
	return []*Value{{DType: x.DType, Shape: out}, {DType: Int64, Shape: slices.Clone(out)}}, nil
}

func oneHotShape(c *inferCtx) ([]*Value, error) {
	idx, err := c.need(0, "indices")
	if err != nil {
		return nil, err
	}
	vals, err := c.need(2, "values")
	if err != nil {
		return nil, err
	}
	r := len(idx.Shape)
	axis, err := NormAxis(c.node.AttrInt("axis", -1), r+1)
	if err != nil {
		return nil, err
	}
	depth := -1
	if t, ok := c.constTensor(1); ok && len(t.F32)+len(t.I64) == 1 {
		if t.DType.IsFloat() {
			depth = int(t.F32[0])
		} else {
			depth = int(t.I64[0])
		}
	}
	out := slices.Concat(idx.Shape[:axis], []int{depth}, idx.Shape[axis:])
	return []*Value{{DType: vals.DType, Shape: out}}, nil
}

func depthToSpaceShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("input %v must be 4-D", x.Shape)
	}
	b := int(c.node.AttrInt("blocksize", 0))
	if b < 1 {
		return nil, fmt.Errorf("blocksize %d must be positive", b)
	}
	n, ch, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	scale := func(d, f int) int {
		if d < 0 {
			return -1
		}
		return d * f
	}
	div := func(d, f int) (int, error) {
		if d < 0 {
			return -1, nil
		}
		if d%f != 0 {
			return 0, fmt.Errorf("dim %d does not divide by %d", d, f)
		}
		return d / f, nil
	}
	if c.node.Op == "DepthToSpace" {
		oc, err := div(ch, b*b)
		if err != nil {
			return nil, err
		}
		return []*Value{{DType: x.DType, Shape: []int{n, oc, scale(h, b), scale(w, b)}}}, nil
	}
	oh, err := div(h, b)
	if err != nil {
		return nil, err
	}
	ow, err := div(w, b)
	if err != nil {
		return nil, err
	}
	return []*Value{{DType: x.DType, Shape: []int{n, scale(ch, b*b), oh, ow}}}, nil
}

// boolLikeShape is the input's shape with a bool result (IsNaN, IsInf).
func boolLikeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	return []*Value{{DType: Bool, Shape: slices.Clone(x.Shape)}}, nil
}

// lossShape is NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: the
// target's shape with reduction none, a scalar otherwise; SCE's second
// output is the log-probability, of the scores' shape.
func lossShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	t, err := c.need(1, "target")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 || len(t.Shape) != len(x.Shape)-1 {
		return nil, fmt.Errorf("input %v must be [N, C, d...] and target %v [N, d...]", x.Shape, t.Shape)
	}
	if t.DType.IsFloat() {
		return nil, fmt.Errorf("target has dtype %v, want an integer type", t.DType)
	}
	loss := &Value{DType: x.DType, Shape: []int{}}
	if c.node.AttrString("reduction", "mean") == "none" {
		loss.Shape = slices.Clone(t.Shape)
	}
	return []*Value{loss, x.Clone()}, nil
}
