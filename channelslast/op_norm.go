package channelslast

import (
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opBatchNorm converts an inference BatchNormalization into a Keras
// BatchNormalization over the channels axis, last in the converted layout
// (axis [rank-1]); gamma, beta and the moving statistics keep their values
// and ONNX's epsilon and momentum (the same meaning in Keras).
func opBatchNorm(c *converter, n *model.Node) error {
	if len(n.Inputs) != 5 {
		return c.fail(n, "BatchNormalization needs 5 inputs, has %d", len(n.Inputs))
	}
	x := n.Inputs[0]
	r := c.rank(x)
	if r < 2 {
		return c.fail(n, "input of rank %d", r)
	}
	ch := c.shape(x)[1]
	var w [4][]float32
	for i := range w {
		t := c.constant(n.Inputs[i+1])
		if t == nil || len(t.F32) != ch {
			return c.fail(n, "input %q must be a constant of %d values (Keras keeps it as a weight)", n.Inputs[i+1], ch)
		}
		w[i] = t.F32
	}
	cl := channelsLast(r)
	xin, err := c.need(n, x, cl)
	if err != nil {
		return err
	}
	tr := c.trainable(n)
	name := c.layerName(n, "")
	eps, mom := n.AttrFloat("epsilon", 1e-5), n.AttrFloat("momentum", 0.9)
	out, err := c.add(layers.BatchNormalization(layers.BatchNormSpec{
		Common: common(name, xin, tr),
		Rank:   r, Channels: ch, Epsilon: eps, Momentum: mom, Center: true, Scale: true,
		Gamma: w[0], Beta: w[1], MovingMean: w[2], MovingVariance: w[3],
	}))
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], out, cl)
	return nil
}

// opLayerNorm converts ONNX LayerNormalization (opset 17: over the axes
// from axis to the last) into a Keras LayerNormalization over the axes
// where the layout holds them; Scale and B become gamma and beta, in the
// order of those axes.
func opLayerNorm(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	r := c.rank(x)
	axis := int(n.AttrInt("axis", -1))
	if axis < 0 {
		axis += r
	}
	if axis <= 0 || axis >= r {
		return c.fail(n, "LayerNormalization from axis %d of a rank-%d input: Keras normalises non-batch axes", axis, r)
	}
	if len(n.Outputs) > 1 && (n.Outputs[1] != "" && len(c.uses[n.Outputs[1]]) > 0 || len(n.Outputs) > 2 && n.Outputs[2] != "" && len(c.uses[n.Outputs[2]]) > 0) {
		return c.fail(n, "LayerNormalization's Mean and InvStdDev outputs have no Keras form")
	}
	var gamma, beta *model.Tensor
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		if gamma = c.constant(n.Inputs[1]); gamma == nil {
			return c.fail(n, "scale %q must be a constant (Keras keeps it as the weight gamma)", n.Inputs[1])
		}
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		if beta = c.constant(n.Inputs[2]); beta == nil {
			return c.fail(n, "bias %q must be a constant (Keras keeps it as the weight beta)", n.Inputs[2])
		}
	}
	return c.layerNorm(n, x, seq(axis, r), n.AttrFloat("epsilon", 1e-5), gamma, beta, n.Outputs[0])
}

// layerNorm writes a Keras LayerNormalization of source value x over the
// source axes, with gamma and beta (nil: none) holding one value per
// element of those axes, as the source broadcasts them; y is the source
// value it computes.
func (c *converter) layerNorm(n *model.Node, x string, axes []int, eps float32, gamma, beta *model.Tensor, y string) error {
	xv := c.vals[x]
	if xv == nil {
		return c.noForm(n, x)
	}
	in := c.shape(x)
	// The axes where the layout holds them, in increasing order, and the
	// source axis each is.
	var pos []int
	for _, a := range axes {
		if in[a] < 0 {
			return c.fail(n, "LayerNormalization over axis %d of unknown size", a)
		}
		pos = append(pos, position(xv.perm, a))
	}
	slices.Sort(pos)
	dims := make([]int, len(pos))
	srcOrder := make([]int, len(pos)) // weight axis i is source axis axes[srcOrder[i]]
	for i, p := range pos {
		dims[i] = in[xv.perm[p]]
		srcOrder[i] = slices.Index(axes, xv.perm[p])
	}
	srcDims := make([]int, len(axes))
	for i, a := range axes {
		srcDims[i] = in[a]
	}
	weight := func(t *model.Tensor, what string) ([]float32, error) {
		if t == nil {
			return nil, nil
		}
		if len(t.F32) != model.NumElements(srcDims) {
			return nil, c.fail(n, "%s of shape %v does not hold one value per element of axes %v %v", what, t.Shape, axes, srcDims)
		}
		data, _ := transposeData(t.F32, srcDims, srcOrder)
		return data, nil
	}
	g, err := weight(gamma, "scale")
	if err != nil {
		return err
	}
	b, err := weight(beta, "bias")
	if err != nil {
		return err
	}
	out, err := c.add(layers.LayerNormalization(layers.LayerNormSpec{
		Common: common(c.layerName(n, ""), xv.name, c.trainable(n)),
		Rank:   len(in), Axis: pos, Shape: dims, Epsilon: eps,
		Center: beta != nil, Scale: gamma != nil, Gamma: g, Beta: b,
	}))
	if err != nil {
		return err
	}
	c.set(y, out, xv.perm)
	return nil
}

// matchLayerNorm recognises torch's LayerNormalization before opset 17,
// starting at its first ReduceMean n:
//
//	mean = ReduceMean(x, axes); d = Sub(x, mean); v = ReduceMean(Pow(d, 2), axes)
//	y = Div(d, Sqrt(Add(v, eps))) [* gamma] [+ beta]
//
// over a trailing run of axes; it converts the whole and marks it done.
func (c *converter) matchLayerNorm(n *model.Node) (bool, error) {
	x := n.Inputs[0]
	r := c.rank(x)
	axes, ok := c.reduceAxes(n)
	if !ok || n.AttrInt("keepdims", 1) != 1 || len(axes) == 0 || axes[len(axes)-1] != r-1 || !slices.Equal(axes, seq(axes[0], r)) {
		return false, nil
	}
	sub := c.soleUse(n.Outputs[0])
	if sub == nil || sub.Op != "Sub" || len(sub.Inputs) != 2 || sub.Inputs[0] != x || sub.Inputs[1] != n.Outputs[0] {
		return false, nil
	}
	d := sub.Outputs[0]
	var pow, div *model.Node
	for _, u := range c.uses[d] {
		switch {
		case u.Op == "Pow" && len(u.Inputs) == 2 && u.Inputs[0] == d && c.scalar(u.Inputs[1], 2):
			pow = u
		case u.Op == "Mul" && len(u.Inputs) == 2 && u.Inputs[0] == d && u.Inputs[1] == d:
			pow = u
		case u.Op == "Div" && len(u.Inputs) == 2 && u.Inputs[0] == d:
			div = u
		}
	}
	if pow == nil || div == nil || len(c.uses[d]) != 2 || c.graphOut[d] {
		return false, nil
	}
	mean2 := c.soleUse(pow.Outputs[0])
	if mean2 == nil || mean2.Op != "ReduceMean" || mean2.AttrInt("keepdims", 1) != 1 {
		return false, nil
	}
	if a2, ok := c.reduceAxes(mean2); !ok || !slices.Equal(a2, axes) {
		return false, nil
	}
	add := c.soleUse(mean2.Outputs[0])
	if add == nil || add.Op != "Add" || len(add.Inputs) != 2 {
		return false, nil
	}
	epsName := add.Inputs[1]
	if epsName == mean2.Outputs[0] {
		epsName = add.Inputs[0]
	}
	epsT := c.constant(epsName)
	if epsT == nil || len(epsT.F32) != 1 {
		return false, nil
	}
	sqrt := c.soleUse(add.Outputs[0])
	if sqrt == nil || sqrt.Op != "Sqrt" || c.soleUse(sqrt.Outputs[0]) != div || div.Inputs[1] != sqrt.Outputs[0] {
		return false, nil
	}
	nodes := []*model.Node{n, sub, pow, mean2, add, sqrt, div}
	y := div.Outputs[0]
	// Optional affine part: * gamma, then + beta (constants over the axes).
	affine := func(op string) *model.Tensor {
		u := c.soleUse(y)
		if u == nil || u.Op != op || len(u.Inputs) != 2 {
			return nil
		}
		other := u.Inputs[1]
		if other == y {
			other = u.Inputs[0]
		}
		t := c.constant(other)
		if t == nil || len(t.Shape) > len(axes) {
			return nil
		}
		nodes = append(nodes, u)
		y = u.Outputs[0]
		return t
	}
	gamma := affine("Mul")
	beta := affine("Add")
	for _, m := range nodes {
		c.done[m] = true
	}
	return true, c.layerNorm(n, x, axes, epsT.F32[0], gamma, beta, y)
}

// reduceAxes returns a Reduce node's axes (attribute, or input from opset
// 18), normalised and sorted.
func (c *converter) reduceAxes(n *model.Node) ([]int, bool) {
	r := c.rank(n.Inputs[0])
	axes := n.AttrInts("axes", nil)
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		t := c.known[n.Inputs[1]]
		if t == nil {
			return nil, false
		}
		axes = t.I64
	}
	var out []int
	for _, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		out = append(out, int(a))
	}
	slices.Sort(out)
	return out, true
}
