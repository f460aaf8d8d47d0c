package channelslast

import (
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opPool converts MaxPool and AveragePool into Keras MaxPooling/
// AveragePooling 1D/2D/3D. Keras has no ceil_mode and pads either nothing
// ("valid") or TensorFlow's "same" (ignoring the padding: -inf for max,
// left out of the count for average). So the end padding that ceil_mode
// implies is added to the ONNX pads; pads equal to "same" (with
// count_include_pad=0 for average) become "same"; other pads become a
// ZeroPadding layer before a "valid" pooling, which is exact for
// AveragePool with count_include_pad=1 and for MaxPool on values known to
// be >= 0 (after a ReLU, a sigmoid...). Anything else is refused.
func opPool(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	r := c.rank(x)
	sp := r - 2
	if sp < 1 || sp > 3 {
		return c.fail(n, "pooling over %d spatial dims has no Keras layer", sp)
	}
	maxPool := n.Op == "MaxPool"
	in := c.shape(x)[2:]
	outShape := c.shape(n.Outputs[0])
	if slices.Contains(in, -1) || outShape == nil || slices.Contains(outShape[2:], -1) {
		return c.fail(n, "pooling needs known spatial sizes, input has %v", c.shape(x))
	}
	k := intsAttr(n, "kernel_shape", sp, 1)
	s := intsAttr(n, "strides", sp, 1)
	for _, d := range intsAttr(n, "dilations", sp, 1) {
		if d != 1 {
			return c.fail(n, "dilated pooling has no Keras layer")
		}
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" && len(c.uses[n.Outputs[1]]) > 0 {
		return c.fail(n, "MaxPool's Indices output has no Keras form")
	}
	begin, end, err := c.pads(n, in, k, s, intsAttr(n, "dilations", sp, 1))
	if err != nil {
		return err
	}
	// The end padding the output size needs: floor((n+b+e-k)/s)+1 = out.
	eff := make([]int, sp)
	ceilExt := false
	for i := range eff {
		eff[i] = max(0, (outShape[2+i]-1)*s[i]+k[i]-in[i]-begin[i])
		ceilExt = ceilExt || eff[i] > end[i]
	}
	countPad := n.AttrInt("count_include_pad", 0) == 1
	padding, zp := kerasPadding(begin, eff, in, k, s, ones(sp))
	if padding == "same" && !maxPool && countPad {
		padding, zp = "valid", toPairs(begin, eff)
	}
	if zp != nil {
		switch {
		case maxPool && !c.nonneg[x]:
			return c.fail(n, "MaxPool with pads %v %v (ceil_mode %d) on input %q, which may be negative: Keras pads max pooling only as \"same\", and zero padding would change the maximum of negative windows",
				begin, end, n.AttrInt("ceil_mode", 0), x)
		case !maxPool && (!countPad || ceilExt):
			return c.fail(n, "AveragePool with pads %v %v, count_include_pad %v and ceil_mode %d divides by a count Keras's average pooling (\"valid\" or \"same\") does not", begin, end, countPad, n.AttrInt("ceil_mode", 0))
		case sp == 3:
			return c.fail(n, "explicit pads on 3-D pooling (Keras ZeroPadding3D is not built here)")
		}
	}
	cl := channelsLast(r)
	xin, err := c.need(n, x, cl)
	if err != nil {
		return err
	}
	tr := c.trainable(n)
	if zp != nil {
		if xin, err = c.add(zeroPaddingLayer(c.layerName(n, "pad"), xin, tr, zp)); err != nil {
			return err
		}
	}
	name := c.layerName(n, "")
	out, err := c.add(layers.Pooling(layers.PoolSpec{
		Common: common(name, xin, tr),
		Max:    maxPool, InputSpatial: spatialAfter(in, zp), PoolSize: k, Strides: s, Padding: padding,
	}))
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], out, cl)
	c.nonneg[n.Outputs[0]] = c.nonneg[x]
	return nil
}

func ones(n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func toPairs(begin, end []int) [][2]int {
	p := make([][2]int, len(begin))
	for i := range p {
		p[i] = [2]int{begin[i], end[i]}
	}
	return p
}

// opGlobalPool converts GlobalAveragePool/GlobalMaxPool into Keras
// GlobalAveragePooling/GlobalMaxPooling with keepdims=True, or
// keepdims=False when the only use flattens the [N, C, 1, 1] result.
func opGlobalPool(c *converter, n *model.Node) error {
	return c.globalPool(n, n.Op == "GlobalMaxPool", true)
}

// globalPool writes a global pooling of n's input over all spatial axes.
func (c *converter) globalPool(n *model.Node, maxPool, keep bool) error {
	x := n.Inputs[0]
	r := c.rank(x)
	if r < 3 || r > 4 {
		return c.fail(n, "global pooling over %d spatial dims has no Keras layer", r-2)
	}
	y := n.Outputs[0]
	if keep {
		// Fold a Flatten (or Reshape/Squeeze to [N, C]) that is the only use.
		if u := c.soleUse(y); u != nil && (u.Op == "Flatten" && u.AttrInt("axis", 1) == 1 || u.Op == "Reshape" || u.Op == "Squeeze") {
			if s := c.shape(u.Outputs[0]); len(s) == 2 {
				c.done[u] = true
				y, keep = u.Outputs[0], false
			}
		}
	}
	cl := channelsLast(r)
	xin, err := c.need(n, x, cl)
	if err != nil {
		return err
	}
	tr := c.trainable(n)
	name := c.layerName(n, "")
	out, err := c.add(layers.GlobalPooling(layers.GlobalPoolSpec{
		Common: common(name, xin, tr),
		Max:    maxPool, Rank: r, KeepDims: keep,
	}))
	if err != nil {
		return err
	}
	if keep {
		c.set(y, out, cl)
	} else {
		c.set(y, out, identity(2))
	}
	c.nonneg[y] = c.nonneg[x]
	return nil
}

// opReduce converts ReduceMean/ReduceMax over all spatial axes (what
// torchvision's mnasnet writes for its global pooling) into global pooling,
// and a ReduceMean that starts torch's LayerNormalization before opset 17
// into LayerNormalization.
func opReduce(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	r := c.rank(x)
	if n.Op == "ReduceMean" {
		if ok, err := c.matchLayerNorm(n); ok || err != nil {
			return err
		}
	}
	got, ok := c.reduceAxes(n)
	if !ok {
		return c.fail(n, "axes %q must be a constant", n.Inputs[1])
	}
	axes := got
	if r >= 3 && slices.Equal(got, seq(2, r)) {
		return c.globalPool(n, n.Op == "ReduceMax", n.AttrInt("keepdims", 1) == 1)
	}
	return c.fail(n, "%s over axes %v of a rank-%d input: Keras reduces only as global pooling over all spatial axes (or inside LayerNormalization)", n.Op, axes, r)
}

// opPad converts a constant zero Pad of spatial axes into ZeroPadding1D/2D;
// an all-zero Pad is dropped.
func opPad(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	r := c.rank(x)
	if mode := n.AttrString("mode", "constant"); mode != "constant" {
		return c.fail(n, "Pad mode %q: Keras pads with zeros only (ZeroPadding)", mode)
	}
	pads := n.AttrInts("pads", nil)
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		t := c.known[n.Inputs[1]]
		if t == nil {
			return c.fail(n, "pads %q must be a constant", n.Inputs[1])
		}
		pads = t.I64
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		if t := c.constant(n.Inputs[2]); t == nil || len(t.F32) != 1 || t.F32[0] != 0 {
			return c.fail(n, "Pad with a constant value other than 0: Keras pads with zeros only")
		}
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != "" {
		return c.fail(n, "Pad with an axes input is not converted")
	}
	if len(pads) != 2*r {
		return c.fail(n, "pads %v for a rank-%d input", pads, r)
	}
	zero := true
	for _, p := range pads {
		if p < 0 {
			return c.fail(n, "negative pads %v (cropping) are not converted", pads)
		}
		zero = zero && p == 0
	}
	xv := c.vals[x]
	if zero {
		if xv == nil {
			return c.noForm(n, x)
		}
		c.set(n.Outputs[0], xv.name, xv.perm)
		c.nonneg[n.Outputs[0]] = c.nonneg[x]
		return nil
	}
	if pads[0] != 0 || pads[1] != 0 || pads[r] != 0 || pads[r+1] != 0 || r < 3 || r > 4 {
		return c.fail(n, "pads %v pad the batch or channel axis, or a rank-%d input: Keras ZeroPadding1D/2D pads spatial axes only", pads, r)
	}
	zp := make([][2]int, r-2)
	for i := range zp {
		zp[i] = [2]int{int(pads[2+i]), int(pads[r+2+i])}
	}
	cl := channelsLast(r)
	xin, err := c.need(n, x, cl)
	if err != nil {
		return err
	}
	out, err := c.add(zeroPaddingLayer(c.layerName(n, ""), xin, c.trainable(n), zp))
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], out, cl)
	c.nonneg[n.Outputs[0]] = c.nonneg[x]
	return nil
}
