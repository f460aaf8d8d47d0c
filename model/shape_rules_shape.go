package model

import (
	"fmt"
	"slices"
)

// Shape rules of the ops that move data or compute shapes (Reshape,
// Squeeze, Unsqueeze, Concat, Shape, Gather, Cast, Constant). When their
// int64 inputs have known contents, the rules fold the result (ctx.fold) so
// that a Reshape fed by Shape/Gather/Concat arithmetic keeps a known shape.

// opsetOf returns the default-domain opset the rule must follow.
func (c *inferCtx) opsetOf() int {
	if c.opset == 0 {
		return DefaultOpset
	}
	return c.opset
}

// need returns input i or an error naming it.
func (c *inferCtx) need(i int, what string) (*Value, error) {
	v := c.in(i)
	if v == nil {
		return nil, fmt.Errorf("missing input %d (%s)", i, what)
	}
	return v, nil
}

// NormAxis maps a possibly negative axis into [0, rank).
func NormAxis(axis int64, rank int) (int, error) {
	a := int(axis)
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return a, nil
}

// known1D returns int64 contents of input i and whether they are known.
func (c *inferCtx) knownTensor(i int) (*Tensor, bool) {
	if i >= len(c.node.Inputs) || c.node.Inputs[i] == "" {
		return nil, false
	}
	t, ok := c.known[c.node.Inputs[i]]
	if !ok || t.DType.IsFloat() {
		return nil, false
	}
	return t, true
}

func foldInts(shape []int, v []int64) *Tensor {
	return &Tensor{DType: Int64, Shape: slices.Clone(shape), I64: slices.Clone(v)}
}

func reshapeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	if c.opsetOf() < 5 {
		// Reshape-1: the shape is an attribute.
		spec := c.node.AttrInts("shape", nil)
		if spec == nil {
			return nil, fmt.Errorf("missing attribute shape")
		}
		out, err := ReshapeDims(x.Shape, spec, false)
		if err != nil {
			return nil, err
		}
		return []*Value{{DType: x.DType, Shape: out}}, nil
	}
	sv, err := c.need(1, "shape")
	if err != nil {
		return nil, err
	}
	if sv.DType != Int64 || len(sv.Shape) != 1 {
		return nil, fmt.Errorf("shape input must be a 1-D int64 tensor, got %v %v", sv.DType, sv.Shape)
	}
	spec, ok := c.constInts(1)
	if !ok {
		n := sv.Shape[0]
		out := make([]int, max(n, 0))
		for i := range out {
			out[i] = -1
		}
		if n < 0 {
			return nil, fmt.Errorf("shape input has unknown length; the output rank cannot be inferred")
		}
		return []*Value{{DType: x.DType, Shape: out}}, nil
	}
	allowZero := c.opsetOf() >= 14 && c.node.AttrInt("allowzero", 0) != 0
	out, err := ReshapeDims(x.Shape, spec, allowZero)
	if err != nil {
		return nil, err
	}
	if t, ok := c.knownTensor(0); ok && NumElements(out) >= 0 {
		c.fold(0, foldInts(out, t.I64))
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

// axesOf returns the axes of Squeeze/Unsqueeze/Reduce*: the attribute, or
// from input i when fromInput. ok is false when the axes come from an input
// whose contents are unknown.
func (c *inferCtx) axesOf(fromInput bool, i int) (axes []int64, ok bool) {
	if !fromInput {
		return c.node.AttrInts("axes", nil), true
	}
	if c.in(i) == nil {
		return nil, true
	}
	return c.constInts(i)
}

func squeezeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	axes, ok := c.axesOf(c.opsetOf() >= 13, 1)
	r := len(x.Shape)
	if !ok {
		// Axes computed at run time: only the output rank is known.
		if n := axesLen(c.in(1)); n >= 0 {
			return unknownDims(x.DType, r-n)
		}
		return unknownDims(x.DType, -1)
	}
	drop := make([]bool, r)
	if axes == nil {
		for i, d := range x.Shape {
			if d < 0 {
				return nil, fmt.Errorf("squeeze without axes needs known dims, input is %v", x.Shape)
			}
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		ax, err := NormAxis(a, r)
		if err != nil {
			return nil, err
		}
		if x.Shape[ax] >= 0 && x.Shape[ax] != 1 {
			return nil, fmt.Errorf("axis %d of input %v is not 1", a, x.Shape)
		}
		drop[ax] = true
	}
	out := []int{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	if t, ok := c.knownTensor(0); ok {
		c.fold(0, foldInts(out, t.I64))
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

func unsqueezeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	fromInput := c.opsetOf() >= 13
	if fromInput && c.in(1) == nil {
		return nil, fmt.Errorf("missing input 1 (axes)")
	}
	axes, ok := c.axesOf(fromInput, 1)
	if !ok {
		return unknownDims(x.DType, len(x.Shape)+axesLen(c.in(1)))
	}
	if len(axes) == 0 {
		return nil, fmt.Errorf("no axes")
	}
	out, err := UnsqueezeDims(x.Shape, axes)
	if err != nil {
		return nil, err
	}
	if t, ok := c.knownTensor(0); ok {
		c.fold(0, foldInts(out, t.I64))
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

func concatShape(c *inferCtx) ([]*Value, error) {
	var ins []*Value
	for _, v := range c.ins {
		if v != nil {
			ins = append(ins, v)
		}
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	def := int64(1) // Concat-1 defaults to axis 1; from opset 4 axis is required
	if _, ok := c.node.Attrs["axis"]; !ok && c.opsetOf() >= 4 {
		return nil, fmt.Errorf("missing attribute axis")
	}
	first := ins[0]
	r := len(first.Shape)
	if r == 0 {
		return nil, fmt.Errorf("cannot concatenate scalars")
	}
	axis, err := NormAxis(c.node.AttrInt("axis", def), r)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(first.Shape)
	for i, v := range ins[1:] {
		if v.DType != first.DType {
			return nil, fmt.Errorf("input %d has dtype %v, input 0 has %v", i+1, v.DType, first.DType)
		}
		if len(v.Shape) != r {
			return nil, fmt.Errorf("input %d has shape %v, input 0 has %v", i+1, v.Shape, first.Shape)
		}
		for d := range r {
			switch {
			case d == axis:
				if out[d] < 0 || v.Shape[d] < 0 {
					out[d] = -1
				} else {
					out[d] += v.Shape[d]
				}
			case !dimsAgree(out[d], v.Shape[d]):
				return nil, fmt.Errorf("input %d has shape %v, input 0 has %v (concat axis %d)", i+1, v.Shape, first.Shape, axis)
			case out[d] < 0:
				out[d] = v.Shape[d]
			}
		}
	}
	if first.DType == Int64 && r == 1 {
		var vals []int64
		all := true
		for i, name := range c.node.Inputs {
			if name == "" {
				continue
			}
			t, ok := c.knownTensor(i)
			if !ok {
				all = false
				break
			}
			vals = append(vals, t.I64...)
		}
		if all {
			c.fold(0, foldInts([]int{len(vals)}, vals))
		}
	}
	return []*Value{{DType: first.DType, Shape: out}}, nil
}

func shapeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	lo, hi := 0, r
	if c.opsetOf() >= 15 {
		lo = clampIndex(c.node.AttrInt("start", 0), r)
		if _, ok := c.node.Attrs["end"]; ok {
			hi = clampIndex(c.node.AttrInt("end", int64(r)), r)
		}
	}
	hi = max(hi, lo)
	dims := x.Shape[lo:hi]
	if !slices.ContainsFunc(dims, func(d int) bool { return d < 0 }) {
		v := make([]int64, len(dims))
		for i, d := range dims {
			v[i] = int64(d)
		}
		c.fold(0, foldInts([]int{len(v)}, v))
	}
	return []*Value{{DType: Int64, Shape: []int{hi - lo}}}, nil
}

// clampIndex maps a possibly negative index into [0, r], clamping.
func clampIndex(i int64, r int) int {
	if i < 0 {
		i += int64(r)
	}
	return int(min(max(i, 0), int64(r)))
}

func gatherShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	idx, err := c.need(1, "indices")
	if err != nil {
		return nil, err
	}
	if idx.DType != Int64 && idx.DType != Int32 {
		return nil, fmt.Errorf("indices have dtype %v, want int64 or int32", idx.DType)
	}
	r := len(x.Shape)
	if r == 0 {
		return nil, fmt.Errorf("data is a scalar")
	}
	axis, err := NormAxis(c.node.AttrInt("axis", 0), r)
	if err != nil {
		return nil, err
	}
	out := slices.Concat(x.Shape[:axis], idx.Shape, x.Shape[axis+1:])
	iv, iok := c.constInts(1)
	if iok && x.Shape[axis] >= 0 {
		for _, v := range iv {
			if v < -int64(x.Shape[axis]) || v >= int64(x.Shape[axis]) {
				return nil, fmt.Errorf("index %d out of range for axis %d of size %d", v, axis, x.Shape[axis])
			}
		}
	}
	if t, ok := c.knownTensor(0); ok && iok {
		dim := t.Shape[axis]
		outer, inner := NumElements(t.Shape[:axis]), NumElements(t.Shape[axis+1:])
		var vals []int64
		for o := range outer {
			for _, j := range iv {
				if j < 0 {
					j += int64(dim)
				}
				start := (o*dim + int(j)) * inner
				vals = append(vals, t.I64[start:start+inner]...)
			}
		}
		c.fold(0, foldInts(out, vals))
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

func castShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	dt, err := CastTo(c.node)
	if err != nil {
		return nil, err
	}
	if t, ok := c.knownTensor(0); ok && !dt.IsFloat() {
		c.fold(0, Convert(t, dt))
	}
	return []*Value{{DType: dt, Shape: slices.Clone(x.Shape)}}, nil
}

func constantShape(c *inferCtx) ([]*Value, error) {
	n := c.node
	if len(n.Attrs) != 1 {
		return nil, fmt.Errorf("needs exactly one of value, value_float(s), value_int(s); has %d attributes", len(n.Attrs))
	}
	for name, a := range n.Attrs {
		switch name {
		case "value":
			t := a.Tensor
			if t == nil {
				return nil, fmt.Errorf("attribute value has no tensor")
			}
			nel := NumElements(t.Shape)
			switch {
			case t.DType.Valid() && t.DType.IsFloat() && nel == len(t.F32):
			case t.DType.Valid() && !t.DType.IsFloat() && nel == len(t.I64):
				c.fold(0, t)
			default:
				return nil, fmt.Errorf("value tensor: dtype %v shape %v does not match its data", t.DType, t.Shape)
			}
			return []*Value{{DType: t.DType, Shape: slices.Clone(t.Shape)}}, nil
		case "value_float":
			return []*Value{{DType: Float32, Shape: []int{}}}, nil
		case "value_floats":
			return []*Value{{DType: Float32, Shape: []int{len(a.Floats)}}}, nil
		case "value_int":
			c.fold(0, foldInts([]int{}, []int64{a.Int}))
			return []*Value{{DType: Int64, Shape: []int{}}}, nil
		case "value_ints":
			c.fold(0, foldInts([]int{len(a.Ints)}, a.Ints))
			return []*Value{{DType: Int64, Shape: []int{len(a.Ints)}}}, nil
		}
		return nil, fmt.Errorf("unsupported attribute %q (want value, value_float(s), value_int(s))", name)
	}
	return nil, nil
}

// foldBinary folds Add/Sub/Mul/Div on int64 inputs with known contents
// (broadcasting a scalar or equal shapes: what shape arithmetic uses).
func foldBinary(c *inferCtx, out *Value) {
	if out.DType != Int64 || len(c.ins) != 2 {
		return
	}
	a, okA := c.knownTensor(0)
	b, okB := c.knownTensor(1)
	if !okA || !okB || NumElements(out.Shape) < 0 {
		return
	}
	n := NumElements(out.Shape)
	at := func(t *Tensor, i int) (int64, bool) {
		switch len(t.I64) {
		case 1:
			return t.I64[0], true
		case n:
			return t.I64[i], true
		}
		return 0, false
	}
	vals := make([]int64, n)
	for i := range n {
		x, ok1 := at(a, i)
		y, ok2 := at(b, i)
		if !ok1 || !ok2 {
			return
		}
		switch c.node.Op {
		case "Add":
			vals[i] = x + y
		case "Sub":
			vals[i] = x - y
		case "Mul":
			vals[i] = x * y
		case "Div":
			if y == 0 {
				return
			}
			vals[i] = x / y
		default:
			return
		}
	}
	c.fold(0, foldInts(out.Shape, vals))
}

// axesLen returns the length of a 1-D axes value, or -1 when unknown.
func axesLen(v *Value) int {
	if v == nil || len(v.Shape) != 1 {
		return -1
	}
	return v.Shape[0]
}

// unknownDims returns one value of rank r with every dim unknown; it fails
// when the rank itself is unknown (an axes input of unknown length).
func unknownDims(dt DType, r int) ([]*Value, error) {
	if r < 0 {
		return nil, fmt.Errorf("axes input of unknown length: the output rank cannot be inferred")
	}
	out := make([]int, r)
	for i := range out {
		out[i] = -1
	}
	return []*Value{{DType: dt, Shape: out}}, nil
}

// ReshapeDims resolves the shape spec of an ONNX Reshape against the input
// shape in: a 0 copies the input's dim (unless allowZero, opset 14), one -1
// is inferred from the element count. Unknown dims (-1) of in leave the
// dims that depend on them unknown. The engine and shape inference share it.
func ReshapeDims(in []int, spec []int64, allowZero bool) ([]int, error) {
	out := make([]int, len(spec))
	infer := -1
	for i, d := range spec {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = i
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dim %d of input %v, which has no such dim", spec, i, in)
			}
			out[i] = in[i]
		case d < 0:
			return nil, fmt.Errorf("shape %v has a negative dim", spec)
		default:
			out[i] = int(d)
		}
	}
	total := NumElements(in)
	rest := 1 // the product of the other dims, -1 when one is unknown
	for i, d := range out {
		if i == infer {
			continue
		}
		if d < 0 {
			rest = -1
			break
		}
		rest *= d
	}
	switch {
	case infer >= 0:
		out[infer] = -1
		switch {
		case total < 0 || rest < 0:
		case rest == 0 && total != 0:
			return nil, fmt.Errorf("cannot infer the -1 of shape %v for input %v", spec, in)
		case rest == 0:
			out[infer] = 0
		case total%rest != 0:
			return nil, fmt.Errorf("shape %v does not fit input %v (%d elements)", spec, in, total)
		default:
			out[infer] = total / rest
		}
	case total >= 0 && rest >= 0 && total != rest:
		return nil, fmt.Errorf("shape %v does not fit input %v (%d elements)", spec, in, total)
	}
	return out, nil
}

// UnsqueezeDims returns in with a 1 inserted at each of axes (ONNX
// Unsqueeze: axes index the output, may be negative, must not repeat).
func UnsqueezeDims(in []int, axes []int64) ([]int, error) {
	r := len(in) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		ax, err := NormAxis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[ax] {
			return nil, fmt.Errorf("axes %v repeat an axis", axes)
		}
		ins[ax] = true
	}
	out := make([]int, 0, r)
	j := 0
	for i := range r {
		if ins[i] {
			out = append(out, 1)
			continue
		}
		out = append(out, in[j])
		j++
	}
	return out, nil
}
