package channelslast

import (
	"math"
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// matchAttention recognises torch's nn.MultiheadAttention self-attention
// as torch.onnx.export writes it for a batch-first caller (torchvision's
// ViT encoder blocks), starting at its first Transpose t, which moves the
// batch axis:
//
//	xt = Transpose(x [N, L, E], [1, 0, 2])                 [L, N, E]
//	p = MatMul(xt, W [E, 3E']) [+ b [3E']]; q, k, v = Slice(p, thirds of the last axis)
//	q = Transpose(Reshape(q, [L, N*h, d]), [1, 0, 2]) / s   (s a constant)
//	k = Transpose(Reshape(k, [L, N*h, d]), [1, 2, 0])
//	v = Transpose(Reshape(v, [L, N*h, d]), [1, 0, 2])
//	o = MatMul(Softmax(MatMul(q, k), -1), v)                [N*h, L, d]
//	o = Reshape(Transpose(o, [1, 0, 2]), [L*N, E'])
//	y = Transpose(Reshape(Gemm(o, Wo, bo), [L, N, E]), [1, 0, 2])
//
// and writes it as one Keras MultiHeadAttention(num_heads=h, key_dim=d)
// called as mha(x, x): W's column thirds become the query, key and value
// kernels [E, h, d], Wo the output kernel [h, d, E]; a scale other than
// sqrt(d) is folded into the query kernel and bias (Keras scales by
// 1/sqrt(key_dim)). ok is false when the nodes do not have this form.
func (c *converter) matchAttention(t *model.Node) (bool, error) {
	x := t.Inputs[0]
	xv := c.vals[x]
	in := c.shape(x)
	if xv == nil || len(in) != 3 || !slices.Equal(t.AttrInts("perm", nil), []int64{1, 0, 2}) || in[1] <= 0 || in[2] <= 0 {
		return false, nil
	}
	steps, e := in[1], in[2]
	nodes := []*model.Node{t}
	// one returns the one node reading v that computes floats (shape
	// arithmetic readers, Shape nodes, are ignored), with op.
	one := func(v, op string) *model.Node {
		var got *model.Node
		for _, u := range c.uses[v] {
			if c.shapeArithmetic(u) {
				continue
			}
			if got != nil || u.Op != op {
				return nil
			}
			got = u
		}
		if got == nil || c.graphOut[v] {
			return nil
		}
		nodes = append(nodes, got)
		return got
	}
	mm := one(t.Outputs[0], "MatMul")
	if mm == nil || mm.Inputs[0] != t.Outputs[0] {
		return false, nil
	}
	w := c.constant(mm.Inputs[1])
	if w == nil || len(w.Shape) != 2 || w.Shape[0] != e || w.Shape[1]%3 != 0 {
		return false, nil
	}
	inner := w.Shape[1] / 3
	proj := mm.Outputs[0]
	var inBias []float32
	if len(c.uses[proj]) == 1 && c.uses[proj][0].Op == "Add" {
		a := c.uses[proj][0]
		other := a.Inputs[0]
		if other == proj {
			other = a.Inputs[1]
		}
		b := c.constant(other)
		if b == nil || len(b.F32) != 3*inner {
			return false, nil
		}
		nodes = append(nodes, a)
		inBias, proj = b.F32, a.Outputs[0]
	}
	// The three slices, by their start.
	var parts [3]string
	for _, u := range c.uses[proj] {
		if c.shapeArithmetic(u) {
			continue
		}
		if u.Op != "Slice" || len(u.Inputs) < 4 {
			return false, nil
		}
		st, en, ax := c.known[u.Inputs[1]], c.known[u.Inputs[2]], c.known[u.Inputs[3]]
		if st == nil || en == nil || ax == nil || len(st.I64) != 1 || len(en.I64) != 1 || len(ax.I64) != 1 || (ax.I64[0] != -1 && ax.I64[0] != 2) {
			return false, nil
		}
		if len(u.Inputs) > 4 && u.Inputs[4] != "" {
			if s := c.known[u.Inputs[4]]; s == nil || len(s.I64) != 1 || s.I64[0] != 1 {
				return false, nil
			}
		}
		i := int(st.I64[0]) / max(inner, 1)
		if int(st.I64[0]) != i*inner || int(min(en.I64[0], int64(3*inner))) != (i+1)*inner || i > 2 || parts[i] != "" {
			return false, nil
		}
		parts[i] = u.Outputs[0]
		nodes = append(nodes, u)
	}
	if parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return false, nil
	}
	// heads reshapes part into [L, N*h, d] and transposes it by perm.
	var heads, dim int
	split := func(part string, perm []int64) string {
		r := one(part, "Reshape")
		if r == nil {
			return ""
		}
		s := c.shape(r.Outputs[0])
		if len(s) != 3 || s[0] != steps || s[1]%probeBatch != 0 || s[2] <= 0 {
			return ""
		}
		h := s[1] / probeBatch
		if heads != 0 && (h != heads || s[2] != dim) || h*s[2] != inner {
			return ""
		}
		heads, dim = h, s[2]
		tr := one(r.Outputs[0], "Transpose")
		if tr == nil || !slices.Equal(tr.AttrInts("perm", nil), perm) {
			return ""
		}
		return tr.Outputs[0]
	}
	q := split(parts[0], []int64{1, 0, 2})
	k := split(parts[1], []int64{1, 2, 0})
	v := split(parts[2], []int64{1, 0, 2})
	if q == "" || k == "" || v == "" {
		return false, nil
	}
	// The query's scale: q / s or q * s.
	sc := c.uses[q]
	if len(sc) != 1 || (sc[0].Op != "Div" && sc[0].Op != "Mul") || sc[0].Inputs[0] != q {
		return false, nil
	}
	st := c.constant(sc[0].Inputs[1])
	if st == nil || len(st.F32) != 1 || st.F32[0] == 0 {
		return false, nil
	}
	scale := float64(st.F32[0])
	if sc[0].Op == "Div" {
		scale = 1 / scale
	}
	nodes = append(nodes, sc[0])
	qk := one(sc[0].Outputs[0], "MatMul")
	if qk == nil || qk.Inputs[0] != sc[0].Outputs[0] || qk.Inputs[1] != k || len(c.uses[k]) != 1 {
		return false, nil
	}
	sm := one(qk.Outputs[0], "Softmax")
	if sm == nil || (sm.AttrInt("axis", -1) != -1 && sm.AttrInt("axis", -1) != 2) {
		return false, nil
	}
	av := one(sm.Outputs[0], "MatMul")
	if av == nil || av.Inputs[0] != sm.Outputs[0] || av.Inputs[1] != v || len(c.uses[v]) != 1 {
		return false, nil
	}
	ot := one(av.Outputs[0], "Transpose")
	if ot == nil || !slices.Equal(ot.AttrInts("perm", nil), []int64{1, 0, 2}) {
		return false, nil
	}
	or := one(ot.Outputs[0], "Reshape")
	if or == nil {
		return false, nil
	}
	if s := c.shape(or.Outputs[0]); len(s) != 2 || s[1] != inner {
		return false, nil
	}
	// The output projection: Gemm, or MatMul [+ Add].
	var outKernel, outBias []float32 // [inner, e] and [e]
	var y string
	if g := one(or.Outputs[0], "Gemm"); g != nil {
		wo := c.constant(g.Inputs[1])
		if wo == nil || len(wo.Shape) != 2 || g.AttrInt("transA", 0) != 0 || g.AttrFloat("alpha", 1) != 1 || g.AttrFloat("beta", 1) != 1 {
			return false, nil
		}
		outKernel = wo.F32
		if g.AttrInt("transB", 0) != 0 {
			outKernel, _ = transposeData(wo.F32, wo.Shape, []int{1, 0})
		}
		if len(outKernel) != inner*e {
			return false, nil
		}
		if len(g.Inputs) > 2 && g.Inputs[2] != "" {
			b := c.constant(g.Inputs[2])
			if b == nil || len(b.F32) != e {
				return false, nil
			}
			outBias = b.F32
		}
		y = g.Outputs[0]
	} else {
		return false, nil
	}
	rs := one(y, "Reshape")
	if rs == nil {
		return false, nil
	}
	if s := c.shape(rs.Outputs[0]); len(s) != 3 || s[0] != steps || s[2] != e {
		return false, nil
	}
	back := one(rs.Outputs[0], "Transpose")
	if back == nil || !slices.Equal(back.AttrInts("perm", nil), []int64{1, 0, 2}) {
		return false, nil
	}
	// Keras weights: kernel [E, h, d] from W's columns part*inner..., the
	// query's scale folded in relative to Keras's 1/sqrt(d).
	fold := float32(scale * math.Sqrt(float64(dim)))
	kernel := func(part int, f float32) []float32 {
		out := make([]float32, e*inner)
		for r := 0; r < e; r++ {
			for j := 0; j < inner; j++ {
				out[r*inner+j] = w.F32[r*3*inner+part*inner+j] * f
			}
		}
		return out
	}
	bias := func(part int, f float32) []float32 {
		if inBias == nil {
			return make([]float32, inner)
		}
		out := slices.Clone(inBias[part*inner : (part+1)*inner])
		for i := range out {
			out[i] *= f
		}
		return out
	}
	if outBias == nil {
		outBias = make([]float32, e)
	}
	xin, err := c.need(t, x, identity(3))
	if err != nil {
		return true, err
	}
	for _, m := range append(nodes, or, rs, back) {
		c.done[m] = true
	}
	out, err := c.add(layers.MultiHeadAttention(layers.MultiHeadAttentionSpec{
		Common:   layers.Common{Name: c.layerName(t, "attention"), Inputs: []string{xin, xin}, Trainable: c.trainable(t)},
		NumHeads: heads, KeyDim: dim, ValueDim: dim, QueryFeatures: e, KeyFeatures: e, ValueFeatures: e, OutputFeatures: e, UseBias: true,
		QueryKernel: kernel(0, fold), QueryBias: bias(0, fold), KeyKernel: kernel(1, 1), KeyBias: bias(1, 1),
		ValueKernel: kernel(2, 1), ValueBias: bias(2, 1), OutputKernel: outKernel, OutputBias: outBias,
	}))
	if err != nil {
		return true, err
	}
	c.set(back.Outputs[0], out, identity(3))
	return true, nil
}
