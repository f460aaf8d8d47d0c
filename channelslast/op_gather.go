package channelslast

import (
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opGather converts a Gather of one constant index along a non-batch axis
// (a ViT's class token, x[:, 0]) into a Keras Cropping layer that keeps
// that index and, for a scalar index, a Reshape that drops the axis.
func opGather(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	xv := c.vals[x]
	if xv == nil {
		return c.noForm(n, x)
	}
	idx := c.known[n.Inputs[1]]
	if idx == nil || len(idx.I64) != 1 || len(idx.Shape) > 1 {
		return c.fail(n, "Gather with indices %q: Keras layers select one constant index (Cropping), not a gather of several or computed indices", n.Inputs[1])
	}
	in := c.shape(x)
	r := len(in)
	axis := int(n.AttrInt("axis", 0))
	if axis < 0 {
		axis += r
	}
	if axis <= 0 || axis >= r || in[axis] <= 0 {
		return c.fail(n, "Gather along axis %d of %v: Keras crops non-batch axes of known size only", axis, in)
	}
	i := int(idx.I64[0])
	if i < 0 {
		i += in[axis]
	}
	if i < 0 || i >= in[axis] {
		return c.fail(n, "Gather index %d out of range for axis %d of size %d", idx.I64[0], axis, in[axis])
	}
	name, perm, err := c.cropAxis(n, x, axis, i, in[axis]-1-i)
	if err != nil {
		return err
	}
	if len(idx.Shape) == 1 {
		c.set(n.Outputs[0], name, perm)
		c.nonneg[n.Outputs[0]] = c.nonneg[x]
		return nil
	}
	// Drop the axis: the converted dims without it, and the layout of the
	// source axes that remain.
	cdims := permuteShape(in, perm)
	pos := position(perm, axis)
	target := slices.Delete(slices.Clone(cdims), pos, pos+1)[1:]
	var out []int
	for _, a := range perm {
		switch {
		case a < axis:
			out = append(out, a)
		case a > axis:
			out = append(out, a-1)
		}
	}
	y, err := c.add(reshapeLayer(c.layerName(n, "reshape"), name, c.trainable(n), target))
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], y, out)
	c.nonneg[n.Outputs[0]] = c.nonneg[x]
	return nil
}

// cropAxis writes the Keras Cropping layer that removes begin and end
// elements of source axis of x, on the axis where the layout holds it (see
// opSlice); it returns the converted value and its layout.
func (c *converter) cropAxis(n *model.Node, x string, axis, begin, end int) (string, []int, error) {
	xv := c.vals[x]
	perm, name := xv.perm, xv.name
	r := len(perm)
	pos := position(perm, axis)
	spec := layers.CroppingSpec{Common: layers.Common{Name: c.layerName(n, ""), Trainable: c.trainable(n)}}
	switch {
	case r == 4 && pos == 1:
		spec.Cropping = [][2]int{{begin, end}, {0, 0}}
	case r == 4 && pos == 2:
		spec.Cropping = [][2]int{{0, 0}, {begin, end}}
	case r == 4 && pos == 3:
		spec.Cropping, spec.ChannelsFirst = [][2]int{{0, 0}, {begin, end}}, true
	case r == 3:
		if pos != 1 {
			want := append([]int{0, axis}, slices.DeleteFunc(slices.Clone(perm[1:]), func(a int) bool { return a == axis })...)
			v, err := c.need(n, x, want)
			if err != nil {
				return "", nil, err
			}
			perm, name = want, v
		}
		spec.Cropping = [][2]int{{begin, end}}
	default:
		return "", nil, c.fail(n, "cropping a rank-%d tensor: Keras has Cropping1D/2D for rank 3 and 4 only", r)
	}
	spec.Inputs = []string{name}
	out, err := c.add(layers.Cropping(spec))
	return out, perm, err
}

// opExpand handles Expand of a constant: along the batch axis only (torch's
// class_token.expand(N, -1, -1)) it is a batch-broadcast constant that the
// Concat reading it builds (see bconst); otherwise the expanded constant.
func opExpand(c *converter, n *model.Node) error {
	k := c.constant(n.Inputs[0])
	out := c.shape(n.Outputs[0])
	if k == nil || out == nil {
		return c.fail(n, "Expand of a tensor: Keras layers broadcast only inside merges; only a constant expanded along the batch axis (a class token) converts")
	}
	full := append(ones(len(out)-len(k.Shape)), k.Shape...)
	if len(out) == 0 || out[0] >= 0 {
		// No batch axis: a constant like any other.
		for i, d := range out {
			if d != full[i] && full[i] != 1 {
				return c.fail(n, "Expand of %v to %v", k.Shape, out)
			}
		}
		if !slices.Equal(full, out) {
			return c.fail(n, "Expand of constant %v to %v along non-batch axes is not converted", k.Shape, out)
		}
		c.floats[n.Outputs[0]] = &model.Tensor{Name: n.Outputs[0], DType: model.Float32, Shape: slices.Clone(out), F32: k.F32}
		return nil
	}
	if full[0] != 1 || !slices.Equal(full[1:], out[1:]) {
		return c.fail(n, "Expand of constant %v to %v: only the batch axis may be broadcast", k.Shape, out)
	}
	c.bconst[n.Outputs[0]] = &model.Tensor{Name: n.Outputs[0], DType: model.Float32, Shape: slices.Clone(out[1:]), F32: k.F32}
	return nil
}

// batchConstant builds the batch-broadcast constant v (bconst) in layout
// perm from converted tensor t (held in perm, rank 3): Cropping1D keeps as
// many steps of t as v has and Rescaling(scale=0, offset=v) replaces them
// by v. (0*t is 0 for finite t, so the result is v exactly; like torch's
// model, it is NaN when t holds inf or NaN.)
func (c *converter) batchConstant(n *model.Node, v string, t string, perm []int) (string, error) {
	k := c.bconst[v]
	full := append([]int{1}, k.Shape...)
	data, cdims := transposeData(k.F32, full, perm)
	tin, err := c.need(n, t, perm)
	if err != nil {
		return "", err
	}
	tdims := permuteShape(c.shape(t), perm)
	if len(cdims) != 3 || len(tdims) != 3 || tdims[2] != cdims[2] || tdims[1] < cdims[1] {
		return "", c.fail(n, "constant %q %v broadcast along the batch axis, next to %q %v: converted for rank-3 tensors of the same features only", v, k.Shape, t, c.shape(t))
	}
	tr := c.trainable(n)
	crop := tin
	if tdims[1] > cdims[1] {
		spec := layers.CroppingSpec{Common: layers.Common{Name: c.layerName(n, "crop"), Inputs: []string{tin}, Trainable: tr}, Cropping: [][2]int{{0, tdims[1] - cdims[1]}}}
		if crop, err = c.add(layers.Cropping(spec)); err != nil {
			return "", err
		}
	}
	spec := layers.RescalingSpec{Common: common(c.layerName(n, "constant"), crop, tr), Scale: []float32{0}, Offset: data}
	if cdims[1] > 1 {
		spec.OffsetShape = cdims[1:]
	}
	return c.add(layers.Rescaling(spec))
}
