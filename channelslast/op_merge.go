package channelslast

import (
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// mergeKinds maps element-wise ONNX ops on two (or more) tensors to Keras
// merge layers, which broadcast size-1 axes (a squeeze-excitation's
// [N, 1, 1, C] gate times its [N, H, W, C] input).
var mergeKinds = map[string]string{
	"Add": "Add", "Sum": "Add", "Sub": "Subtract", "Mul": "Multiply", "Max": "Maximum", "Min": "Minimum", "Mean": "Average",
}

// opBinary converts element-wise arithmetic. Between tensors it is a Keras
// merge layer (both in one layout); with a constant it becomes a layer that
// holds the constant: a scalar a Rescaling, a per-channel vector on a rank-4
// tensor a 1x1 DepthwiseConv2D (its kernel the scale, its bias the offset,
// so the constant stays a weight), a vector along the last axis otherwise a
// Rescaling with one value per channel. GELU's erf form starting with a Div
// becomes Activation("gelu").
func opBinary(c *converter, n *model.Node) error {
	if n.Op == "Div" {
		if act, nodes, end := c.matchActivation(n.Inputs[0]); act == "gelu" && nodes[0] == n {
			xv := c.vals[n.Inputs[0]]
			if xv == nil {
				_, err := c.need(n, n.Inputs[0], nil)
				return err
			}
			for _, m := range nodes {
				c.done[m] = true
			}
			out, err := c.add(activationLayer(c.layerName(n, ""), xv.name, c.trainable(n), "gelu"))
			if err != nil {
				return err
			}
			c.set(end, out, xv.perm)
			return nil
		}
	}
	var dyn, con []string
	for _, in := range n.Inputs {
		switch {
		case c.vals[in] != nil:
			dyn = append(dyn, in)
		case c.constant(in) != nil:
			con = append(con, in)
		default:
			return c.noForm(n, in)
		}
	}
	switch {
	case len(con) == 0:
		return c.merge(n, dyn)
	case len(dyn) == 1 && len(con) == 1 && len(n.Inputs) == 2:
		return c.withConstant(n, dyn[0], con[0])
	}
	return c.fail(n, "%s of %d tensors and %d constants has no Keras layer", n.Op, len(dyn), len(con))
}

// merge writes a Keras merge layer over the inputs, brought to one layout.
func (c *converter) merge(n *model.Node, ins []string) error {
	kind, ok := mergeKinds[n.Op]
	if !ok {
		return c.fail(n, "%s of two tensors has no Keras merge layer (Keras has Add, Subtract, Multiply, Average, Maximum, Minimum)", n.Op)
	}
	if len(ins) < 2 {
		// Sum/Mean/Max/Min of one tensor is the tensor.
		xv := c.vals[ins[0]]
		c.set(n.Outputs[0], xv.name, xv.perm)
		c.nonneg[n.Outputs[0]] = c.nonneg[ins[0]]
		return nil
	}
	perm, err := c.commonLayout(n, ins)
	if err != nil {
		return err
	}
	var names []string
	nonneg := true
	for _, in := range ins {
		v, err := c.need(n, in, perm)
		if err != nil {
			return err
		}
		names = append(names, v)
		nonneg = nonneg && c.nonneg[in]
	}
	out, err := c.add(mergeLayer(kind, c.layerName(n, ""), names, c.trainable(n)))
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], out, perm)
	c.nonneg[n.Outputs[0]] = nonneg && (kind == "Add" || kind == "Multiply" || kind == "Average" || kind == "Maximum" || kind == "Minimum")
	return nil
}

// commonLayout picks the layout that most of ins already have (ties: the
// first input's). Inputs must have equal ranks: Keras merges do not add
// leading axes the way ONNX broadcasting does.
func (c *converter) commonLayout(n *model.Node, ins []string) ([]int, error) {
	r := c.rank(ins[0])
	count := map[string]int{}
	best, bestN := c.vals[ins[0]].perm, 0
	for _, in := range ins {
		if c.rank(in) != r {
			return nil, c.fail(n, "inputs of ranks %d and %d: Keras merge layers need equal ranks", r, c.rank(in))
		}
		k := permKey(c.vals[in].perm)
		count[k]++
		if count[k] > bestN {
			best, bestN = c.vals[in].perm, count[k]
		}
	}
	return best, nil
}

// withConstant writes x (op) k for a constant k.
func (c *converter) withConstant(n *model.Node, x, kname string) error {
	k := c.constant(kname)
	xv := c.vals[x]
	r := c.rank(x)
	xFirst := n.Inputs[0] == x
	tr := c.trainable(n)
	y := n.Outputs[0]
	if len(k.Shape) > r {
		return c.fail(n, "constant %q of rank %d broadcasts %q to a higher rank", kname, len(k.Shape), x)
	}
	// scale*x + offset per element of v (one value, or one per channel).
	affine := func(v []float32) (scale, offset []float32, ok bool) {
		scale, offset = make([]float32, len(v)), make([]float32, len(v))
		for i, e := range v {
			switch {
			case n.Op == "Mul":
				scale[i] = e
			case n.Op == "Add":
				scale[i], offset[i] = 1, e
			case n.Op == "Sub" && xFirst:
				scale[i], offset[i] = 1, -e
			case n.Op == "Sub":
				scale[i], offset[i] = -1, e
			case n.Op == "Div" && xFirst:
				scale[i] = 1 / e
			default:
				return nil, nil, false
			}
		}
		return scale, offset, true
	}
	// The one source axis k varies along (-1: none, -2: several).
	full := append(ones(r-len(k.Shape)), k.Shape...)
	axis := -1
	for a, d := range full {
		if d == 1 {
			continue
		}
		if axis >= 0 {
			axis = -2
			break
		}
		axis = a
	}
	if axis == 0 {
		return c.fail(n, "constant %q varies along the batch axis", kname)
	}
	scale, offset, ok := affine(k.F32)
	if ok && axis == -2 && full[0] == 1 && slices.Equal(scale, ones32(len(scale))) {
		// x + a constant tensor (a ViT's position embedding): Rescaling
		// with scale 1 and the constant, in x's layout, as its offset.
		data, cdims := transposeData(offset, full, xv.perm)
		cdims = cdims[1:]
		for len(cdims) > 1 && cdims[0] == 1 {
			cdims = cdims[1:]
		}
		spec := layers.RescalingSpec{Common: common(c.layerName(n, ""), xv.name, tr), Scale: []float32{1}, Offset: data}
		if len(cdims) > 1 {
			spec.OffsetShape = cdims
		}
		out, err := c.add(layers.Rescaling(spec))
		if err != nil {
			return err
		}
		c.set(y, out, xv.perm)
		return nil
	}
	if !ok || axis == -2 {
		return c.fail(n, "%s of %q by constant %q of shape %v: Keras layers take a scalar or a per-channel vector here (Rescaling, a 1x1 DepthwiseConv2D), not %s by a constant tensor",
			n.Op, x, kname, k.Shape, n.Op)
	}
	if axis == -1 {
		out, err := c.add(rescalingLayer(c.layerName(n, ""), xv.name, tr, scale[:1], offset[:1]))
		if err != nil {
			return err
		}
		c.set(y, out, xv.perm)
		return nil
	}
	perm := xv.perm
	if r == 4 && axis == 1 {
		perm = channelsLast(4)
	}
	if position(perm, axis) != r-1 {
		// Move the constant's axis last, keeping the others in order.
		perm = append(slices.DeleteFunc(slices.Clone(perm), func(a int) bool { return a == axis }), axis)
	}
	xin, err := c.need(n, x, perm)
	if err != nil {
		return err
	}
	var out string
	if r == 4 {
		var bias []float32
		if n.Op != "Mul" && !(n.Op == "Div" && xFirst) {
			bias = offset
		}
		out, err = c.add(depthwise1x1(c.layerName(n, ""), xin, tr, len(scale), scale, bias))
	} else {
		out, err = c.add(rescalingLayer(c.layerName(n, ""), xin, tr, scale, offset))
	}
	if err != nil {
		return err
	}
	c.set(y, out, perm)
	return nil
}

func ones32(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// opConcat converts Concat into a Keras Concatenate on the axis where the
// common layout holds the source axis (the channels axis of NCHW tensors
// is the last one, -1, of the channels-last tensors).
func opConcat(c *converter, n *model.Node) error {
	var ins, tensors []string
	for _, in := range n.Inputs {
		switch {
		case c.bconst[in] != nil:
		case c.vals[in] == nil:
			return c.noForm(n, in)
		default:
			tensors = append(tensors, in)
		}
		ins = append(ins, in)
	}
	if len(tensors) == 0 {
		return c.fail(n, "Concat of constants only")
	}
	r := c.rank(ins[0])
	axis := int(n.AttrInt("axis", 1))
	if axis < 0 {
		axis += r
	}
	if axis <= 0 || axis >= r {
		return c.fail(n, "Concat along axis %d of rank-%d tensors: Keras concatenates non-batch axes", axis, r)
	}
	if len(ins) == 1 {
		xv := c.vals[ins[0]]
		c.set(n.Outputs[0], xv.name, xv.perm)
		return nil
	}
	perm, err := c.commonLayout(n, tensors)
	if err != nil {
		return err
	}
	var names []string
	nonneg := true
	for _, in := range ins {
		var v string
		var err error
		if c.bconst[in] != nil {
			v, err = c.batchConstant(n, in, tensors[0], perm)
			nonneg = false
		} else {
			v, err = c.need(n, in, perm)
			nonneg = nonneg && c.nonneg[in]
		}
		if err != nil {
			return err
		}
		names = append(names, v)
	}
	pos := position(perm, axis)
	if pos == r-1 {
		pos = -1
	}
	tr := c.trainable(n)
	name := c.layerName(n, "")
	out, err := c.add(concatenateLayer(name, names, tr, pos))
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], out, perm)
	c.nonneg[n.Outputs[0]] = nonneg
	return nil
}
