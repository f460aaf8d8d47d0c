package model

import (
	"fmt"
	"slices"
)

// Shape rules of the data-movement and generator ops issue 11 added:
// Split, Expand, Where, Tile, ConstantOfShape, Range, and the comparisons.

// SplitSizes resolves the part sizes of Split along an axis of size dim
// into outputs parts: the given sizes (attribute split before opset 13,
// input 1 from 13, either in opset 1), which must add up to dim; else
// equal parts (opset 18 with num_outputs: ceil(dim/n) each, the last
// smaller). dim -1 (unknown) gives -1 sizes when they are not given. The
// engine and shape inference share it.
func SplitSizes(n *Node, version, dim, outputs int, input []int64) ([]int, error) {
	sizes := input
	if version < 13 {
		if a := n.AttrInts("split", nil); a != nil {
			sizes = a
		}
	}
	if sizes != nil {
		if len(sizes) != outputs {
			return nil, fmt.Errorf("split %v has %d sizes for %d outputs", sizes, len(sizes), outputs)
		}
		out := make([]int, len(sizes))
		sum := 0
		for i, v := range sizes {
			if v < 0 || v > 1<<31 {
				return nil, fmt.Errorf("split %v has a negative or huge size", sizes)
			}
			out[i] = int(v)
			sum += int(v)
		}
		if dim >= 0 && sum != dim {
			return nil, fmt.Errorf("split %v adds up to %d, the axis has %d", sizes, sum, dim)
		}
		return out, nil
	}
	parts := outputs
	if version >= 18 {
		if k := n.AttrInt("num_outputs", 0); k > 0 {
			if int(k) != outputs {
				return nil, fmt.Errorf("num_outputs %d but %d outputs", k, outputs)
			}
		}
	}
	if parts < 1 {
		return nil, fmt.Errorf("no outputs")
	}
	out := make([]int, parts)
	if dim < 0 {
		for i := range out {
			out[i] = -1
		}
		return out, nil
	}
	size := dim / parts
	if dim%parts != 0 {
		if version < 18 {
			return nil, fmt.Errorf("axis of %d does not split into %d equal parts", dim, parts)
		}
		size = (dim + parts - 1) / parts
	}
	left := dim
	for i := range out {
		out[i] = min(size, left)
		left -= out[i]
	}
	return out, nil
}

func splitShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	axis, err := NormAxis(c.node.AttrInt("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	version := c.opsetOf()
	var input []int64
	if (version == 1 || version >= 13) && c.in(1) != nil {
		v, ok := c.constInts(1)
		if !ok {
			// Sizes known at run time only.
			var outs []*Value
			for range c.node.Outputs {
				s := slices.Clone(x.Shape)
				s[axis] = -1
				outs = append(outs, &Value{DType: x.DType, Shape: s})
			}
			return outs, nil
		}
		input = v
	}
	sizes, err := SplitSizes(c.node, version, x.Shape[axis], len(c.node.Outputs), input)
	if err != nil {
		return nil, err
	}
	var outs []*Value
	for _, n := range sizes {
		s := slices.Clone(x.Shape)
		s[axis] = n
		outs = append(outs, &Value{DType: x.DType, Shape: s})
	}
	return outs, nil
}

// shapeFromInput returns the dims given by 1-D int64 input i (Expand,
// ConstantOfShape), -1 for each when its contents are unknown; ok is false
// when even its length is unknown.
func (c *inferCtx) shapeFromInput(i int) ([]int, bool, error) {
	v := c.in(i)
	if v == nil {
		return nil, false, fmt.Errorf("missing input %d (shape)", i)
	}
	if v.DType != Int64 || len(v.Shape) != 1 {
		return nil, false, fmt.Errorf("shape input must be a 1-D int64 tensor, got %v %v", v.DType, v.Shape)
	}
	if vals, ok := c.constInts(i); ok {
		out := make([]int, len(vals))
		for k, d := range vals {
			if d < 0 || d > 1<<31 {
				return nil, false, fmt.Errorf("shape %v has a negative or huge dim", vals)
			}
			out[k] = int(d)
		}
		return out, true, nil
	}
	if v.Shape[0] < 0 {
		return nil, false, nil
	}
	out := make([]int, v.Shape[0])
	for k := range out {
		out[k] = -1
	}
	return out, true, nil
}

func expandShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	want, ok, err := c.shapeFromInput(1)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("shape input of unknown length: the output rank cannot be inferred")
	}
	// A -1 (unknown) in want against a 1 in x gives -1; against d > 1, d.
	out, err := broadcastDims(x.Shape, want)
	if err != nil {
		return nil, err
	}
	for i := range out {
		j := i - (len(out) - len(want))
		k := i - (len(out) - len(x.Shape))
		if j >= 0 && want[j] < 0 && (k < 0 || x.Shape[k] == 1) {
			out[i] = -1
		}
	}
	if t, ok := c.knownTensor(0); ok && NumElements(out) >= 0 && NumElements(out) <= 1<<16 {
		c.fold(0, foldInts(out, broadcastInts(t, out)))
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

// broadcastInts broadcasts known int64 contents to shape (the caller
// checked that they broadcast).
func broadcastInts(t *Tensor, shape []int) []int64 {
	n := NumElements(shape)
	out := make([]int64, n)
	r := len(shape)
	ts := make([]int, r)
	acc := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] != 1 {
			ts[r-len(t.Shape)+i] = acc
		}
		acc *= t.Shape[i]
	}
	idx := make([]int, r)
	for k := range n {
		off := 0
		for d := range r {
			off += idx[d] * ts[d]
		}
		out[k] = t.I64[off]
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

func whereShape(c *inferCtx) ([]*Value, error) {
	cond, err := c.need(0, "condition")
	if err != nil {
		return nil, err
	}
	x, err := c.need(1, "X")
	if err != nil {
		return nil, err
	}
	y, err := c.need(2, "Y")
	if err != nil {
		return nil, err
	}
	if cond.DType != Bool {
		return nil, fmt.Errorf("condition has dtype %v, want bool", cond.DType)
	}
	if x.DType != y.DType {
		return nil, fmt.Errorf("X and Y have dtypes %v and %v", x.DType, y.DType)
	}
	s, err := broadcastDims(cond.Shape, x.Shape)
	if err != nil {
		return nil, err
	}
	if s, err = broadcastDims(s, y.Shape); err != nil {
		return nil, err
	}
	ct, okc := c.constTensor(0)
	xt, okx := c.knownTensor(1)
	yt, oky := c.knownTensor(2)
	if okc && okx && oky && NumElements(s) >= 0 && NumElements(s) <= 1<<16 {
		cv, xv, yv := broadcastInts(ct, s), broadcastInts(xt, s), broadcastInts(yt, s)
		for i := range cv {
			if cv[i] == 0 {
				xv[i] = yv[i]
			}
		}
		c.fold(0, foldInts(s, xv))
	}
	return []*Value{{DType: x.DType, Shape: s}}, nil
}

func tileShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	reps, ok := c.constInts(1)
	if !ok {
		return unknownDims(x.DType, len(x.Shape))
	}
	if len(reps) != len(x.Shape) {
		return nil, fmt.Errorf("repeats %v has %d entries for rank %d", reps, len(reps), len(x.Shape))
	}
	out := make([]int, len(reps))
	for i, k := range reps {
		if k < 0 || k > 1<<31 {
			return nil, fmt.Errorf("repeats %v: %d is not a count", reps, k)
		}
		out[i] = -1
		if x.Shape[i] >= 0 {
			out[i] = x.Shape[i] * int(k)
		}
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

func constantOfShapeShape(c *inferCtx) ([]*Value, error) {
	shape, ok, err := c.shapeFromInput(0)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("shape input of unknown length: the output rank cannot be inferred")
	}
	dt := Float32
	var fill *Tensor
	if a, ok := c.node.Attrs["value"]; ok {
		if a.Tensor == nil || NumElements(a.Tensor.Shape) != 1 || len(a.Tensor.F32)+len(a.Tensor.I64) != 1 {
			return nil, fmt.Errorf("attribute value must be a one-element tensor")
		}
		dt = a.Tensor.DType
		fill = a.Tensor
	}
	if fill != nil && !dt.IsFloat() && NumElements(shape) >= 0 && NumElements(shape) <= 1<<16 {
		v := make([]int64, NumElements(shape))
		for i := range v {
			v[i] = fill.I64[0]
		}
		c.fold(0, &Tensor{DType: dt, Shape: slices.Clone(shape), I64: v})
	}
	return []*Value{{DType: dt, Shape: shape}}, nil
}

func rangeShape(c *inferCtx) ([]*Value, error) {
	var ins [3]*Value
	for i := range ins {
		v, err := c.need(i, []string{"start", "limit", "delta"}[i])
		if err != nil {
			return nil, err
		}
		if NumElements(v.Shape) > 1 {
			return nil, fmt.Errorf("input %d must be a scalar, got %v", i, v.Shape)
		}
		ins[i] = v
	}
	if ins[1].DType != ins[0].DType || ins[2].DType != ins[0].DType {
		return nil, fmt.Errorf("start, limit and delta have dtypes %v, %v, %v", ins[0].DType, ins[1].DType, ins[2].DType)
	}
	n := -1
	a, oa := c.constTensor(0)
	b, ob := c.constTensor(1)
	d, od := c.constTensor(2)
	if oa && ob && od && !a.DType.IsFloat() && len(a.I64) == 1 && len(b.I64) == 1 && len(d.I64) == 1 && d.I64[0] != 0 {
		start, limit, delta := a.I64[0], b.I64[0], d.I64[0]
		k := (limit - start + delta - sign(delta)) / delta
		n = int(max(k, 0))
		if n <= 1<<16 {
			v := make([]int64, n)
			for i := range v {
				v[i] = start + int64(i)*delta
			}
			c.fold(0, &Tensor{DType: a.DType, Shape: []int{n}, I64: v})
		}
	}
	return []*Value{{DType: ins[0].DType, Shape: []int{n}}}, nil
}

func sign(v int64) int64 {
	if v < 0 {
		return -1
	}
	return 1
}

// compareShape is the broadcast shape with a bool result (Equal, Less,
// Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor); And, Or and Xor take
// bool inputs.
func compareShape(c *inferCtx) ([]*Value, error) {
	a, err := c.need(0, "A")
	if err != nil {
		return nil, err
	}
	b, err := c.need(1, "B")
	if err != nil {
		return nil, err
	}
	if a.DType != b.DType {
		return nil, fmt.Errorf("inputs have dtypes %v and %v", a.DType, b.DType)
	}
	switch c.node.Op {
	case "And", "Or", "Xor":
		if a.DType != Bool {
			return nil, fmt.Errorf("inputs have dtype %v, want bool", a.DType)
		}
	}
	bs, err := LegacyBroadcast(c.node, c.opsetOf(), a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	s, err := broadcastDims(a.Shape, bs)
	if err != nil {
		return nil, err
	}
	at, oka := c.constTensor(0)
	bt, okb := c.constTensor(1)
	if oka && okb && c.opsetOf() >= 7 && !a.DType.IsFloat() && NumElements(s) >= 0 && NumElements(s) <= 1<<16 && c.node.Op == "Equal" {
		av, bv := broadcastInts(at, s), broadcastInts(bt, s)
		for i := range av {
			if av[i] == bv[i] {
				av[i] = 1
			} else {
				av[i] = 0
			}
		}
		c.fold(0, &Tensor{DType: Bool, Shape: s, I64: av})
	}
	return []*Value{{DType: Bool, Shape: s}}, nil
}

func notShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	if x.DType != Bool {
		return nil, fmt.Errorf("input has dtype %v, want bool", x.DType)
	}
	return []*Value{x.Clone()}, nil
}
