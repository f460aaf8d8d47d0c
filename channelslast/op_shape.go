package channelslast

import (
	"slices"
	"sort"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// Shape ops. Transpose and Identity build no layer: they change
// only how the converted value relates to the source value (its perm).
// Flatten, Reshape, Squeeze and Unsqueeze split and merge runs of source
// axes; the conversion does the same splits and merges on the converted
// tensor where its layout holds each run in order (a channel shuffle's
// [N, C, H, W] -> [N, g, C/g, H, W] becomes [N, H, W, C] -> [N, H, W, g,
// C/g]), with a Keras Permute first where it does not. A channels-last
// tensor flattened straight into Dense layers is flattened as it is and the
// Dense kernels' rows reordered, as Keras models do.

// opTranspose relabels: converted axis k now holds output axis
// inverse(T)[perm_in[k]].
func opTranspose(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	r := c.rank(x)
	t := n.AttrInts("perm", nil)
	if t == nil {
		for i := r - 1; i >= 0; i-- {
			t = append(t, int64(i))
		}
	}
	if k := c.constant(x); k != nil && len(t) == len(k.Shape) {
		// A weight transposed in the graph (a Keras kernel reaching Conv):
		// fold it, so the reader finds a constant.
		p := make([]int, len(t))
		for i, a := range t {
			p[i] = int(a)
		}
		data, shape := transposeData(k.F32, k.Shape, p)
		c.floats[n.Outputs[0]] = &model.Tensor{Name: n.Outputs[0], DType: model.Float32, Shape: shape, F32: data}
		return nil
	}
	xv := c.vals[x]
	if xv == nil {
		return c.noForm(n, x)
	}
	out, ok := relabel(n, xv.perm)
	if !ok {
		if ok, err := c.matchAttention(n); ok || err != nil {
			return err
		}
		return c.fail(n, "Transpose perm %v moves the batch axis: Keras layers keep it first (torch's nn.MultiheadAttention export "+
			"folds the batch into the heads axis this way; it converts to MultiHeadAttention only in the form torch 1.13 exports, see matchAttention)", t)
	}
	c.set(n.Outputs[0], xv.name, out)
	c.nonneg[n.Outputs[0]] = c.nonneg[x]
	return nil
}

// opDropout writes a Keras Dropout layer (identity at inference; it
// matters when the Keras model is trained).
func opDropout(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	xv := c.vals[x]
	if xv == nil {
		return opIdentity(c, n)
	}
	rate := n.AttrFloat("ratio", 0.5) // ONNX's default ratio
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		t := c.constant(n.Inputs[1])
		if t == nil || len(t.F32) != 1 {
			return c.fail(n, "ratio %q must be a constant", n.Inputs[1])
		}
		rate = t.F32[0]
	}
	out, err := c.add(layers.Dropout(layers.DropoutSpec{Common: common(c.layerName(n, ""), xv.name, c.trainable(n)), Kind: "Dropout", Rate: rate}))
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], out, xv.perm)
	c.nonneg[n.Outputs[0]] = c.nonneg[x]
	return nil
}

// opCast relabels a Cast to float (int64 Casts are shape arithmetic).
func opCast(c *converter, n *model.Node) error {
	if to := n.AttrInt("to", 1); to != 1 {
		return c.fail(n, "Cast to ONNX element type %d: Keras layers compute in float32", to)
	}
	return opIdentity(c, n)
}

// relabel returns the layout of Transpose node n's output when its input
// is held in layout perm: converted axis k now holds output axis
// inverse(T)[perm[k]]. ok is false when T moves the batch axis.
func relabel(n *model.Node, perm []int) ([]int, bool) {
	r := len(perm)
	t := n.AttrInts("perm", nil)
	if t == nil {
		for i := r - 1; i >= 0; i-- {
			t = append(t, int64(i))
		}
	}
	if len(t) != r || t[0] != 0 {
		return nil, false
	}
	tp := make([]int, r)
	for i, a := range t {
		tp[i] = int(a)
	}
	inv := inverse(tp)
	out := make([]int, r)
	for k, a := range perm {
		out[k] = inv[a]
	}
	return out, true
}

// opIdentity relabels Identity and float Casts.
func opIdentity(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	if t := c.constant(x); t != nil {
		c.floats[n.Outputs[0]] = t
		return nil
	}
	xv := c.vals[x]
	if xv == nil {
		return c.noForm(n, x)
	}
	c.set(n.Outputs[0], xv.name, xv.perm)
	c.nonneg[n.Outputs[0]] = c.nonneg[x]
	return nil
}

// axisGroup is a run of source input axes that a reshape turns into a run
// of output axes with the same number of elements.
type axisGroup struct{ in, out []int }

// groups factors a reshape of in to out (batch first, the other dims known)
// into runs; ok is false when the dims do not factor (or are unknown).
func groups(in, out []int) ([]axisGroup, bool) {
	gs := []axisGroup{{in: []int{0}, out: []int{0}}}
	i, j := 1, 1
	for i < len(in) || j < len(out) {
		var g axisGroup
		pa, pb := 1, 1
		if i < len(in) {
			if in[i] < 0 {
				return nil, false
			}
			pa *= in[i]
			g.in = append(g.in, i)
			i++
		}
		if j < len(out) {
			if out[j] < 0 {
				return nil, false
			}
			pb *= out[j]
			g.out = append(g.out, j)
			j++
		}
		for pa != pb {
			switch {
			case pa < pb && i < len(in):
				if in[i] < 0 {
					return nil, false
				}
				pa *= in[i]
				g.in = append(g.in, i)
				i++
			case pb < pa && j < len(out):
				if out[j] < 0 {
					return nil, false
				}
				pb *= out[j]
				g.out = append(g.out, j)
				j++
			default:
				return nil, false
			}
		}
		gs = append(gs, g)
	}
	return gs, true
}

// opReshape converts Flatten, Reshape, Squeeze and Unsqueeze (see above).
func opReshape(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	if k := c.constant(x); k != nil {
		// A reshaped weight (a depthwise kernel): fold it.
		shape := c.shape(n.Outputs[0])
		if model.NumElements(shape) != len(k.F32) {
			return c.fail(n, "reshape of constant %q to %v", x, shape)
		}
		c.floats[n.Outputs[0]] = &model.Tensor{Name: n.Outputs[0], DType: model.Float32, Shape: shape, F32: k.F32}
		return nil
	}
	xv := c.vals[x]
	if xv == nil {
		return c.noForm(n, x)
	}
	in, out := c.shape(x), c.shape(n.Outputs[0])
	if len(in) == 0 || len(out) == 0 || in[0] != out[0] && !(in[0] < 0 && out[0] < 0) {
		return c.fail(n, "reshape of %v to %v changes the batch axis; Keras reshapes the other axes only", in, out)
	}
	gs, ok := groups(in, out)
	if !ok {
		return c.fail(n, "reshape of %v to %v needs every non-batch size known", in, out)
	}
	// Order the groups as the converted layout holds them: by the first
	// converted position of a size > 1 axis (groups of size-1 axes only
	// keep their source place).
	p := xv.perm
	key := make([]float64, len(gs))
	last := -1.0
	for gi, g := range gs {
		k := -1.0
		for _, a := range g.in {
			if in[a] != 1 {
				pos := float64(position(p, a))
				if k < 0 || pos < k {
					k = pos
				}
			}
		}
		if k < 0 {
			k = last + 0.5
		}
		key[gi], last = k, k
	}
	order := make([]int, len(gs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return key[order[a]] < key[order[b]] })
	// The layout the reshape needs: groups in that order, each group's axes
	// in source order.
	var want, pOut []int
	for _, gi := range order {
		want = append(want, gs[gi].in...)
		pOut = append(pOut, gs[gi].out...)
	}
	target := permuteShape(out, pOut)[1:]
	tr := c.trainable(n)
	if !sameBigOrder(p, want, in) {
		if order, ok := c.flattenIntoDense(n, xv, in, out); ok {
			// Flatten as held; Dense reorders its kernel rows.
			y, err := c.add(flattenLayer(c.layerName(n, ""), xv.name, tr))
			if err != nil {
				return err
			}
			c.set(n.Outputs[0], y, identity(2))
			c.rowOrder[n.Outputs[0]] = order
			return nil
		}
		v, err := c.need(n, x, want)
		if err != nil {
			return err
		}
		xv = &val{name: v, perm: want}
	}
	if slices.Equal(target, permuteShape(in, xv.perm)[1:]) {
		c.set(n.Outputs[0], xv.name, pOut)
		c.nonneg[n.Outputs[0]] = c.nonneg[x]
		return nil
	}
	var y string
	var err error
	if len(out) == 2 {
		y, err = c.add(flattenLayer(c.layerName(n, ""), xv.name, tr))
	} else {
		y, err = c.add(reshapeLayer(c.layerName(n, ""), xv.name, tr, target))
	}
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], y, pOut)
	c.nonneg[n.Outputs[0]] = c.nonneg[x]
	return nil
}

// sameBigOrder reports whether layouts a and b hold the axes of size > 1
// in the same order (size-1 axes can move freely under a reshape).
func sameBigOrder(a, b []int, shape []int) bool {
	var x, y []int
	for _, v := range a {
		if shape[v] != 1 {
			x = append(x, v)
		}
	}
	for _, v := range b {
		if shape[v] != 1 {
			y = append(y, v)
		}
	}
	return slices.Equal(x, y)
}

// flattenIntoDense reports whether reshape node n flattens x (held in
// layout xv.perm) to [N, features] read only by Dense-convertible nodes
// (Gemm, or MatMul by a constant 2-D weight); it then returns, for each
// feature of the tensor flattened as held, the source feature it is.
func (c *converter) flattenIntoDense(n *model.Node, xv *val, in, out []int) ([]int, bool) {
	y := n.Outputs[0]
	if len(out) != 2 || c.graphOut[y] || len(c.uses[y]) == 0 {
		return nil, false
	}
	for _, u := range c.uses[y] {
		if (u.Op != "Gemm" && u.Op != "MatMul") || u.Inputs[0] != y || len(u.Inputs) < 2 || c.constant(u.Inputs[1]) == nil ||
			u.Op == "Gemm" && u.AttrInt("transA", 0) != 0 {
			return nil, false
		}
	}
	// Source feature index of each converted (row-major) element.
	src := in[1:]
	total := 1
	for _, d := range src {
		total *= d
	}
	index := make([]float32, total)
	for i := range index {
		index[i] = float32(i)
	}
	if total >= 1<<24 {
		return nil, false // float32 indices would not be exact
	}
	held, _ := transposeData(index, src, relPerm(xv.perm))
	order := make([]int, total)
	for j, v := range held {
		order[j] = int(v)
	}
	return order, true
}

// relPerm is perm without the batch axis, renumbered from 0.
func relPerm(p []int) []int {
	out := make([]int, len(p)-1)
	for i, a := range p[1:] {
		out[i] = a - 1
	}
	return out
}
