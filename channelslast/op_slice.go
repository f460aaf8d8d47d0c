package channelslast

import (
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opSlice converts a Slice with step 1 on non-batch axes (shufflenet's
// channel split x.chunk(2, dim=1)) into Keras Cropping layers, one per
// sliced axis, on the axis where the layout holds it: Cropping2D crops
// axes 1 and 2 of a rank-4 tensor, or, with data_format channels_first,
// axes 2 and 3 (so the channels of an NHWC tensor are cropped in place);
// Cropping1D crops axis 1 of a rank-3 tensor (the sliced axis is moved
// there first when it is not). Bounds come from shape inference (torch
// computes them from the input's shape).
func opSlice(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	xv := c.vals[x]
	if xv == nil {
		return c.noForm(n, x)
	}
	in := c.shape(x)
	r := len(in)
	ints := func(i int) ([]int64, bool) {
		if i >= len(n.Inputs) || n.Inputs[i] == "" {
			return nil, true
		}
		t := c.known[n.Inputs[i]]
		if t == nil {
			return nil, false
		}
		return t.I64, true
	}
	if c.src.Opset < 10 {
		return c.fail(n, "Slice before opset 10 is not converted")
	}
	starts, ok1 := ints(1)
	ends, ok2 := ints(2)
	axes, ok3 := ints(3)
	steps, ok4 := ints(4)
	if !ok1 || !ok2 || !ok3 || !ok4 || len(starts) != len(ends) {
		return c.fail(n, "starts, ends, axes and steps must be known constants (they are computed from unknown values here)")
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	type crop struct{ axis, begin, end int }
	var crops []crop
	for i, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a <= 0 || int(a) >= r {
			return c.fail(n, "Slice along axis %d of a rank-%d tensor: Keras crops non-batch axes only", axes[i], r)
		}
		if steps != nil && steps[i] != 1 {
			return c.fail(n, "Slice with step %d: Keras's Cropping layers take contiguous ranges only", steps[i])
		}
		d := in[a]
		if d < 0 {
			return c.fail(n, "Slice of axis %d of unknown size", a)
		}
		clamp := func(v int64) int {
			if v < 0 {
				v += int64(d)
			}
			return int(min(max(v, 0), int64(d)))
		}
		b, e := clamp(starts[i]), clamp(ends[i])
		if e <= b {
			return c.fail(n, "Slice [%d:%d] of axis %d is empty", b, e, a)
		}
		if b > 0 || e < d {
			crops = append(crops, crop{int(a), b, d - e})
		}
	}
	perm := xv.perm
	name := xv.name
	tr := c.trainable(n)
	for k, cr := range crops {
		pos := position(perm, cr.axis)
		spec := layers.CroppingSpec{Common: layers.Common{Inputs: []string{name}, Trainable: tr}}
		switch {
		case r == 4 && pos == 1:
			spec.Cropping = [][2]int{{cr.begin, cr.end}, {0, 0}}
		case r == 4 && pos == 2:
			spec.Cropping = [][2]int{{0, 0}, {cr.begin, cr.end}}
		case r == 4 && pos == 3:
			spec.Cropping, spec.ChannelsFirst = [][2]int{{0, 0}, {cr.begin, cr.end}}, true
		case r == 3:
			if pos != 1 {
				want := append([]int{0, cr.axis}, slices.DeleteFunc(slices.Clone(perm[1:]), func(a int) bool { return a == cr.axis })...)
				v, err := c.need(n, x, want)
				if err != nil {
					return err
				}
				if k > 0 {
					return c.fail(n, "Slice of several axes of a rank-3 tensor is not converted")
				}
				perm, name = want, v
				spec.Inputs = []string{v}
			}
			spec.Cropping = [][2]int{{cr.begin, cr.end}}
		default:
			return c.fail(n, "Slice of a rank-%d tensor: Keras has Cropping1D/2D for rank 3 and 4 only", r)
		}
		spec.Name = c.layerName(n, "")
		var err error
		if name, err = c.add(layers.Cropping(spec)); err != nil {
			return err
		}
	}
	c.set(n.Outputs[0], name, perm)
	c.nonneg[n.Outputs[0]] = c.nonneg[x]
	return nil
}
