package channelslast

import (
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opDense converts Gemm, or MatMul by a constant [in, out] weight with an
// optional Add of a constant bias, into a Keras Dense (kernel [in, out]:
// Gemm's transB=1 weight [out, in] is transposed once, alpha and beta folded
// in) with the activation that follows. Dense works on the last axis, so a
// MatMul on a higher-rank tensor needs the source's last axis last in the
// converted layout. When the input is a flattened channels-last tensor (see
// opReshape), the kernel's rows are reordered to the converted feature
// order.
func opDense(c *converter, n *model.Node) error {
	if len(n.Inputs) < 2 {
		return c.fail(n, "%s needs two inputs", n.Op)
	}
	x := n.Inputs[0]
	w := c.constant(n.Inputs[1])
	if c.vals[x] == nil || w == nil || len(w.Shape) != 2 {
		return c.fail(n, "%s of %q by %q: Keras has a Dense layer for a tensor times a constant 2-D weight only (a product of two tensors has no Keras layer)", n.Op, x, n.Inputs[1])
	}
	in, units := w.Shape[0], w.Shape[1]
	var kernel, bias []float32
	y := n.Outputs[0]
	switch n.Op {
	case "Gemm":
		if n.AttrInt("transA", 0) != 0 {
			return c.fail(n, "Gemm with transA=1: Keras Dense multiplies the input as it is")
		}
		kernel = slices.Clone(w.F32)
		if n.AttrInt("transB", 0) != 0 {
			in, units = units, in
			kernel, _ = transposeData(w.F32, w.Shape, []int{1, 0})
		}
		if a := n.AttrFloat("alpha", 1); a != 1 {
			for i := range kernel {
				kernel[i] *= a
			}
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			b := c.constant(n.Inputs[2])
			if b == nil || (len(b.F32) != units && len(b.F32) != 1) {
				return c.fail(n, "bias %q must be a constant of %d values", n.Inputs[2], units)
			}
			beta := n.AttrFloat("beta", 1)
			bias = make([]float32, units)
			for i := range bias {
				bias[i] = b.F32[i%len(b.F32)] * beta
			}
		}
	case "MatMul":
		kernel = slices.Clone(w.F32)
		if a := c.soleUse(y); a != nil && a.Op == "Add" && len(a.Inputs) == 2 {
			other := a.Inputs[1]
			if other == y {
				other = a.Inputs[0]
			}
			if b := c.constant(other); b != nil && len(b.F32) == units && b.Shape[len(b.Shape)-1] == units {
				bias = slices.Clone(b.F32)
				c.done[a] = true
				y = a.Outputs[0]
			}
		}
	}
	r := c.rank(x)
	xv := c.vals[x]
	perm := xv.perm
	if perm[r-1] != r-1 {
		perm = append(slices.DeleteFunc(slices.Clone(perm), func(a int) bool { return a == r-1 }), r-1)
	}
	xin, err := c.need(n, x, perm)
	if err != nil {
		return err
	}
	if order := c.rowOrder[x]; order != nil {
		kernel = reorderRows(kernel, order, units)
	}
	act, y, yperm := c.fuseActivation(y, perm)
	tr := c.trainable(n)
	out, err := c.add(layers.Dense(layers.DenseSpec{
		Name: c.layerName(n, ""), Input: xin, InFeatures: in, Units: units, Activation: act,
		UseBias: bias != nil, Trainable: tr, Kernel: kernel, Bias: bias,
	}))
	if err != nil {
		return err
	}
	c.set(y, out, yperm)
	c.nonneg[y] = nonnegActivation[act]
	return nil
}

// reorderRows returns kernel [len(order), units] with row j taken from row
// order[j].
func reorderRows(kernel []float32, order []int, units int) []float32 {
	out := make([]float32, len(kernel))
	for j, src := range order {
		copy(out[j*units:(j+1)*units], kernel[src*units:(src+1)*units])
	}
	return out
}
