package model

import (
	"fmt"
	"slices"
	"strings"
)

// Shape rules of the neural-network ops: Conv, pools, BatchNormalization,
// Pad, reductions, and checked versions of the element-wise rules.

// binaryShape is broadcastShape with a dtype check (Pow may mix dtypes;
// PRelu's slope must broadcast to the input) and int64 folding.
func binaryShape(c *inferCtx) ([]*Value, error) {
	outs, err := broadcastShape(c)
	if err != nil {
		return nil, err
	}
	var first *Value
	for i, v := range c.ins {
		if v == nil {
			continue
		}
		if first == nil {
			first = v
			continue
		}
		if v.DType != first.DType && c.node.Op != "Pow" {
			return nil, fmt.Errorf("input %d has dtype %v, input 0 has %v", i, v.DType, first.DType)
		}
	}
	outs[0].DType = first.DType
	if c.node.Op == "PRelu" {
		x := c.in(0)
		if len(outs[0].Shape) != len(x.Shape) {
			return nil, fmt.Errorf("slope %v does not broadcast to input %v", c.in(1).Shape, x.Shape)
		}
		for i, d := range x.Shape {
			if d >= 0 && outs[0].Shape[i] != d {
				return nil, fmt.Errorf("slope %v does not broadcast to input %v", c.in(1).Shape, x.Shape)
			}
		}
		outs[0].Shape = slices.Clone(x.Shape)
	}
	foldBinary(c, outs[0])
	return outs, nil
}

// axisShape is sameAsInput checking that the axis attribute fits the rank
// (Softmax, LogSoftmax).
func axisShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	def := int64(1)
	if c.opsetOf() >= 13 {
		def = -1
	}
	if _, err := NormAxis(c.node.AttrInt("axis", def), len(x.Shape)); err != nil {
		return nil, err
	}
	return []*Value{x.Clone()}, nil
}

// float32Unary is sameAsInput for ops defined on floats only.
func float32Unary(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	if x.DType != Float32 {
		return nil, fmt.Errorf("input has dtype %v, want float32", x.DType)
	}
	return []*Value{x.Clone()}, nil
}

// spatialOut computes output spatial dims of Conv and the pools (ONNX
// spec: explicit pads, VALID, SAME_UPPER/SAME_LOWER, ceil_mode); -1 stays -1.
func spatialOut(n *Node, in, k []int, ceilMode bool) ([]int, error) {
	r := len(in)
	get := func(name string, def int64, size int) ([]int64, error) {
		v := n.AttrInts(name, nil)
		if v == nil {
			v = make([]int64, size)
			for i := range v {
				v[i] = def
			}
		}
		if len(v) != size {
			return nil, fmt.Errorf("%s %v has %d entries, want %d", name, v, len(v), size)
		}
		return v, nil
	}
	strides, err := get("strides", 1, r)
	if err != nil {
		return nil, err
	}
	dil, err := get("dilations", 1, r)
	if err != nil {
		return nil, err
	}
	pads, err := get("pads", 0, 2*r)
	if err != nil {
		return nil, err
	}
	autoPad := strings.ToUpper(n.AttrString("auto_pad", "NOTSET"))
	out := make([]int, r)
	for i := range r {
		if strides[i] < 1 || dil[i] < 1 || k[i] == 0 || pads[i] < 0 || pads[i+r] < 0 {
			return nil, fmt.Errorf("strides %v, dilations %v, kernel %v must be positive and pads %v not negative", strides, dil, k, pads)
		}
		if in[i] < 0 || k[i] < 0 {
			out[i] = -1
			continue
		}
		s, ext := int(strides[i]), (k[i]-1)*int(dil[i])+1
		pb, pe := int(pads[i]), int(pads[i+r])
		switch autoPad {
		case "NOTSET", "":
		case "VALID":
			pb, pe = 0, 0
		case "SAME_UPPER", "SAME_LOWER":
			out[i] = (in[i] + s - 1) / s
			continue
		default:
			return nil, fmt.Errorf("auto_pad %q is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER", autoPad)
		}
		span := in[i] + pb + pe - ext
		if span < 0 {
			return nil, fmt.Errorf("kernel %v (dilations %v) is larger than the padded input %v", k, dil, in)
		}
		o := span/s + 1
		if ceilMode && span%s != 0 {
			o++
			if (o-1)*s >= in[i]+pb {
				o--
			}
		}
		out[i] = o
	}
	return out, nil
}

func convShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	w, err := c.need(1, "W")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	if r < 3 || len(w.Shape) != r {
		return nil, fmt.Errorf("X %v and W %v must have the same rank >= 3 (Conv is channels-first: [N, C, D...])", x.Shape, w.Shape)
	}
	group := int(c.node.AttrInt("group", 1))
	if group < 1 {
		return nil, fmt.Errorf("group %d must be positive", group)
	}
	cin, m, cg := x.Shape[1], w.Shape[0], w.Shape[1]
	if cin >= 0 && cg >= 0 && cin != cg*group {
		return nil, fmt.Errorf("X has %d channels but W %v with group %d expects %d", cin, w.Shape, group, cg*group)
	}
	if m >= 0 && m%group != 0 {
		return nil, fmt.Errorf("W %v: %d output channels do not divide into %d groups", w.Shape, m, group)
	}
	k := slices.Clone(w.Shape[2:])
	if ks := c.node.AttrInts("kernel_shape", nil); ks != nil {
		if len(ks) != r-2 {
			return nil, fmt.Errorf("kernel_shape %v does not fit X %v", ks, x.Shape)
		}
		for i, v := range ks {
			if k[i] >= 0 && int(v) != k[i] {
				return nil, fmt.Errorf("kernel_shape %v does not match W %v", ks, w.Shape)
			}
			k[i] = int(v)
		}
	}
	if b := c.in(2); b != nil {
		if len(b.Shape) != 1 || !dimsAgree(b.Shape[0], m) {
			return nil, fmt.Errorf("bias B %v must be [%d]", b.Shape, m)
		}
	}
	sp, err := spatialOut(c.node, x.Shape[2:], k, false)
	if err != nil {
		return nil, err
	}
	return []*Value{{DType: x.DType, Shape: append([]int{x.Shape[0], m}, sp...)}}, nil
}

func poolShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	if r < 3 {
		return nil, fmt.Errorf("X %v must have rank >= 3 ([N, C, D...])", x.Shape)
	}
	ks := c.node.AttrInts("kernel_shape", nil)
	if len(ks) != r-2 {
		return nil, fmt.Errorf("kernel_shape %v does not fit X %v", ks, x.Shape)
	}
	k := make([]int, len(ks))
	for i, v := range ks {
		k[i] = int(v)
	}
	sp, err := spatialOut(c.node, x.Shape[2:], k, c.node.AttrInt("ceil_mode", 0) != 0)
	if err != nil {
		return nil, err
	}
	y := &Value{DType: x.DType, Shape: append([]int{x.Shape[0], x.Shape[1]}, sp...)}
	outs := []*Value{y}
	if len(c.node.Outputs) > 1 {
		outs = append(outs, &Value{DType: Int64, Shape: slices.Clone(y.Shape)})
	}
	return outs, nil
}

func globalPoolShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 3 {
		return nil, fmt.Errorf("X %v must have rank >= 3 ([N, C, D...])", x.Shape)
	}
	out := []int{x.Shape[0], x.Shape[1]}
	for range len(x.Shape) - 2 {
		out = append(out, 1)
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

func batchNormShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("X %v must have rank >= 2 ([N, C, ...])", x.Shape)
	}
	if c.opsetOf() >= 14 && c.node.AttrInt("training_mode", 0) != 0 {
		return nil, fmt.Errorf("training_mode=1 is not supported (inference only)")
	}
	spatial := c.opsetOf() >= 9 || c.node.AttrInt("spatial", 1) != 0
	names := []string{"scale", "B", "mean", "var"}
	for i, name := range names {
		p, err := c.need(i+1, name)
		if err != nil {
			return nil, err
		}
		if spatial && (len(p.Shape) != 1 || !dimsAgree(p.Shape[0], x.Shape[1])) {
			return nil, fmt.Errorf("%s %v must be [C] = [%d] for X %v", name, p.Shape, x.Shape[1], x.Shape)
		}
	}
	outs := []*Value{x.Clone()}
	for i := 1; i < len(c.node.Outputs); i++ {
		if p := c.in(min(i+2, 4)); p != nil {
			outs = append(outs, p.Clone())
		}
	}
	return outs, nil
}

func padShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	switch mode := c.node.AttrString("mode", "constant"); mode {
	case "constant", "reflect", "edge":
	default:
		return nil, fmt.Errorf("mode %q is not supported (supported: constant, reflect, edge)", mode)
	}
	var pads []int64
	if c.opsetOf() < 11 {
		pads = c.node.AttrInts("pads", c.node.AttrInts("paddings", nil))
	} else {
		pv, err := c.need(1, "pads")
		if err != nil {
			return nil, err
		}
		if pv.DType != Int64 {
			return nil, fmt.Errorf("pads have dtype %v, want int64", pv.DType)
		}
		var ok bool
		if pads, ok = c.constInts(1); !ok {
			out := make([]int, r)
			for i := range out {
				out[i] = -1
			}
			return []*Value{{DType: x.DType, Shape: out}}, nil
		}
		if cv := c.in(2); cv != nil && cv.DType != x.DType {
			return nil, fmt.Errorf("constant_value has dtype %v, data %v", cv.DType, x.DType)
		}
	}
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if c.opsetOf() >= 18 && c.in(3) != nil {
		a, ok := c.constInts(3)
		if !ok {
			out := make([]int, r)
			for i := range out {
				out[i] = -1
			}
			return []*Value{{DType: x.DType, Shape: out}}, nil
		}
		axes = axes[:0]
		for _, v := range a {
			ax, err := NormAxis(v, r)
			if err != nil {
				return nil, err
			}
			axes = append(axes, ax)
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("pads %v has %d entries, want %d for input %v", pads, len(pads), 2*len(axes), x.Shape)
	}
	out := slices.Clone(x.Shape)
	for i, ax := range axes {
		if out[ax] < 0 {
			continue
		}
		out[ax] += int(pads[i] + pads[i+len(axes)])
		if out[ax] < 0 {
			return nil, fmt.Errorf("pads %v crop more than input %v has", pads, x.Shape)
		}
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

// reduceShape covers ReduceSum (axes input from opset 13), ReduceMean and
// ReduceMax (axes input from 18): keepdims, noop_with_empty_axes.
func reduceShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	since := 18
	if c.node.Op == "ReduceSum" {
		since = 13
	}
	fromInput := c.opsetOf() >= since
	axes, ok := c.axesOf(fromInput, 1)
	r := len(x.Shape)
	keep := c.node.AttrInt("keepdims", 1) != 0
	if !ok {
		// Axes computed at run time: only the output rank is known.
		if keep {
			return unknownDims(x.DType, r)
		}
		if n := axesLen(c.in(1)); n > 0 {
			return unknownDims(x.DType, r-n)
		}
		return nil, fmt.Errorf("axes input of unknown or empty length with keepdims=0: the output rank cannot be inferred")
	}
	if fromInput && len(axes) == 0 && c.node.AttrInt("noop_with_empty_axes", 0) != 0 {
		return []*Value{x.Clone()}, nil
	}
	red := make([]bool, r)
	for i := range red {
		red[i] = len(axes) == 0
	}
	for _, a := range axes {
		ax, err := NormAxis(a, r)
		if err != nil {
			return nil, err
		}
		red[ax] = true
	}
	out := []int{}
	for i, d := range x.Shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

func clipShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	for i := 1; i <= 2; i++ {
		if v := c.in(i); v != nil {
			if v.DType != x.DType || NumElements(v.Shape) > 1 {
				return nil, fmt.Errorf("input %d must be a %v scalar, got %v %v", i, x.DType, v.DType, v.Shape)
			}
		}
	}
	return []*Value{x.Clone()}, nil
}
