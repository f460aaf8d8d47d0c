package engine

import (
	"fmt"
	"math"
	"strings"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// rnnKernel is ONNX RNN, GRU and LSTM (opsets 7 and 14: layout), every
// direction, with optional B, sequence_lens, initial_h, initial_c and P
// (peepholes), activations with activation_alpha/beta, clip,
// linear_before_reset (GRU) and input_forget (LSTM). Any output (Y, Y_h,
// Y_c) may be omitted. Per direction, X times W^T (plus Wb) for all time
// steps is one product; each step then multiplies the state by R^T and
// applies the cell. A batch element runs sequence_lens[b] steps (from its
// last one backwards in the reverse direction); Y is 0 past its end and
// Y_h holds its last state.
func rnnKernel(s *step) error {
	op := s.node.Op
	gates := model.RNNGates[op]
	x, w, err := s.need2F32()
	if err != nil {
		return err
	}
	rw, err := s.needF32(2)
	if err != nil {
		return err
	}
	dirs, err := model.RNNDirections(s.node)
	if err != nil {
		return err
	}
	direction := strings.ToLower(s.node.AttrString("direction", "forward"))
	layout := s.node.AttrInt("layout", 0)
	if len(x.Shape) != 3 || len(w.Shape) != 3 || len(rw.Shape) != 3 || layout != 0 && layout != 1 {
		return fmt.Errorf("X %v, W %v, R %v must be 3-D and layout %d 0 or 1", x.Shape, w.Shape, rw.Shape, layout)
	}
	seq, batch, in := x.Shape[0], x.Shape[1], x.Shape[2]
	if layout == 1 {
		seq, batch = batch, seq
	}
	hidden := rw.Shape[2]
	if hs := int(s.node.AttrInt("hidden_size", int64(hidden))); hs != hidden {
		return fmt.Errorf("hidden_size %d does not match R %v", hs, rw.Shape)
	}
	gh := gates * hidden
	if w.Shape[0] != dirs || w.Shape[1] != gh || w.Shape[2] != in || rw.Shape[0] != dirs || rw.Shape[1] != gh {
		return fmt.Errorf("W %v and R %v must be [%d %d %d] and [%d %d %d]", w.Shape, rw.Shape, dirs, gh, in, dirs, gh, hidden)
	}
	opt := func(i int, shape []int, what string) ([]float32, error) {
		t := s.opt(i)
		if t == nil || len(t.F32)+len(t.I64) == 0 && numel(shape) != 0 {
			return nil, nil
		}
		if !t.DType.IsFloat() || numel(t.Shape) != numel(shape) {
			return nil, fmt.Errorf("%s %v %v must be float %v", what, t.DType, t.Shape, shape)
		}
		return t.F32, nil
	}
	bias, err := opt(3, []int{dirs, 2 * gh}, "B")
	if err != nil {
		return err
	}
	stateShape := []int{dirs, batch, hidden}
	h0, err := opt(5, stateShape, "initial_h")
	if err != nil {
		return err
	}
	var c0, peep []float32
	if op == "LSTM" {
		if c0, err = opt(6, stateShape, "initial_c"); err != nil {
			return err
		}
		if peep, err = opt(7, []int{dirs, 3 * hidden}, "P"); err != nil {
			return err
		}
	}
	lens := make([]int, batch)
	for b := range lens {
		lens[b] = seq
	}
	if t := s.opt(4); t != nil && len(t.I64)+len(t.F32) > 0 {
		v, err := ints(t)
		if err != nil || len(v) != batch {
			return fmt.Errorf("sequence_lens %v %v must be %d integers", t.DType, t.Shape, batch)
		}
		for b, l := range v {
			if l < 0 || l > int64(seq) {
				return fmt.Errorf("sequence_lens[%d] = %d is outside [0, %d]", b, l, seq)
			}
			lens[b] = int(l)
		}
	}
	acts, err := rnnActivations(s.node, op, dirs)
	if err != nil {
		return err
	}
	clip := float32(math.Inf(1))
	if c, ok := s.node.Attrs["clip"]; ok && c.Kind == model.AttrFloat {
		if !(c.Float > 0) {
			return fmt.Errorf("clip %v must be positive", c.Float)
		}
		clip = c.Float
	}
	lbr := s.node.AttrInt("linear_before_reset", 0) != 0
	inputForget := s.node.AttrInt("input_forget", 0) != 0

	// Time-major X [seq, batch, in].
	xs := x.F32
	if layout == 1 {
		xs = make([]float32, len(x.F32))
		permute(xs, x.F32, []int{seq, batch, in}, []int{in, seq * in, 1})
	}
	yAll := make([]float32, allocNumel([]int{seq, dirs, batch, hidden}, 4))
	hLast := make([]float32, dirs*batch*hidden)
	cLast := make([]float32, dirs*batch*hidden)
	nActs := len(acts) / dirs
	for d := range dirs {
		reverse := direction == "reverse" || d == 1
		cell := &rnnCell{op: op, hidden: hidden, batch: batch, gates: gates,
			w: w.F32[d*gh*in : (d+1)*gh*in], r: rw.F32[d*gh*hidden : (d+1)*gh*hidden],
			acts: acts[d*nActs : (d+1)*nActs], clip: clip, lbr: lbr, inputForget: inputForget}
		if bias != nil {
			cell.wb, cell.rb = bias[d*2*gh:d*2*gh+gh], bias[d*2*gh+gh:(d+1)*2*gh]
		}
		if peep != nil {
			cell.p = peep[d*3*hidden : (d+1)*3*hidden]
		}
		h := hLast[d*batch*hidden : (d+1)*batch*hidden]
		c := cLast[d*batch*hidden : (d+1)*batch*hidden]
		if h0 != nil {
			copy(h, h0[d*batch*hidden:])
		}
		if c0 != nil {
			copy(c, c0[d*batch*hidden:])
		}
		cell.run(xs, seq, in, lens, reverse, h, c, yAll, d, dirs)
	}
	// Outputs in the layout asked for.
	if len(s.outs) > 0 && s.outs[0] >= 0 {
		if layout == 0 {
			copy(setF32(s.out[0], []int{seq, dirs, batch, hidden}), yAll)
		} else {
			y := setF32(s.out[0], []int{batch, seq, dirs, hidden})
			permute(y, yAll, []int{batch, seq, dirs, hidden}, []int{hidden, dirs * batch * hidden, batch * hidden, 1})
		}
	}
	for k, st := range [][]float32{hLast, cLast} {
		if k+1 >= len(s.outs) || s.outs[k+1] < 0 || k == 1 && op != "LSTM" {
			continue
		}
		if layout == 0 {
			copy(setF32(s.out[k+1], []int{dirs, batch, hidden}), st)
		} else {
			o := setF32(s.out[k+1], []int{batch, dirs, hidden})
			permute(o, st, []int{batch, dirs, hidden}, []int{hidden, batch * hidden, 1})
		}
	}
	return nil
}

// rnnAct is one activation of a recurrent cell: a kernels activation, or
// ScaledTanh (alpha*tanh(beta*x)), which the kernels table lacks.
type rnnAct struct {
	a                   kernels.Act
	scaled              bool
	scaleIn, scaleOut32 float32
}

func (a *rnnAct) apply(v []float32) {
	if a.scaled {
		for i := range v {
			v[i] *= a.scaleIn
		}
	}
	kernels.Forward(a.a, v, v)
	if a.scaled {
		for i := range v {
			v[i] *= a.scaleOut32
		}
	}
}

// rnnActivations reads the activations attribute (default RNN: Tanh; GRU:
// Sigmoid, Tanh; LSTM: Sigmoid, Tanh, Tanh; the list repeats for the
// reverse direction of a bidirectional op when given once). Alphas and
// betas are consumed in order by the activations that take them, defaults
// otherwise (ONNX's activation_alpha/beta).
func rnnActivations(n *model.Node, op string, dirs int) ([]rnnAct, error) {
	defs := map[string][]string{"RNN": {"Tanh"}, "GRU": {"Sigmoid", "Tanh"}, "LSTM": {"Sigmoid", "Tanh", "Tanh"}}[op]
	names := n.AttrStrings("activations", nil)
	if len(names) == 0 {
		for range dirs {
			names = append(names, defs...)
		}
	}
	if len(names) == len(defs) && dirs == 2 {
		names = append(names, names...)
	}
	if len(names) != len(defs)*dirs {
		return nil, fmt.Errorf("activations %v: want %d per direction", names, len(defs))
	}
	alphas, betas := n.AttrFloats("activation_alpha", nil), n.AttrFloats("activation_beta", nil)
	next := func(v *[]float32, def float32) float64 {
		if len(*v) == 0 {
			return float64(def)
		}
		x := (*v)[0]
		*v = (*v)[1:]
		return float64(x)
	}
	out := make([]rnnAct, len(names))
	for i, name := range names {
		var a rnnAct
		switch strings.ToLower(name) {
		case "relu":
			a.a = kernels.Act{Op: "Relu"}
		case "tanh":
			a.a = kernels.Act{Op: "Tanh"}
		case "sigmoid":
			a.a = kernels.Act{Op: "Sigmoid"}
		case "softsign":
			a.a = kernels.Act{Op: "Softsign"}
		case "softplus":
			a.a = kernels.Act{Op: "Softplus"}
		case "leakyrelu":
			a.a = kernels.Act{Op: "LeakyRelu", Alpha: next(&alphas, 0.01)}
		case "thresholdedrelu":
			a.a = kernels.Act{Op: "ThresholdedRelu", Alpha: next(&alphas, 1)}
		case "elu":
			a.a = kernels.Act{Op: "Elu", Alpha: next(&alphas, 1)}
		case "hardsigmoid":
			a.a = kernels.Act{Op: "HardSigmoid", Alpha: next(&alphas, 0.2), Beta: next(&betas, 0.5)}
		case "affine":
			a.a = kernels.Act{Op: "Affine", Alpha: next(&alphas, 1), Beta: next(&betas, 0)}
		case "scaledtanh":
			a.a = kernels.Act{Op: "Tanh"}
			a.scaled = true
			a.scaleOut32 = float32(next(&alphas, 1))
			a.scaleIn = float32(next(&betas, 1))
		default:
			return nil, fmt.Errorf("%w: activation %q (supported: Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)", model.ErrUnsupported, name)
		}
		out[i] = a
	}
	return out, nil
}

// rnnCell runs one direction of a recurrent op.
type rnnCell struct {
	op               string
	hidden, batch    int
	gates            int
	w, r, wb, rb, p  []float32
	acts             []rnnAct
	clip             float32
	lbr, inputForget bool
}

// run computes the direction's states over the time-major input xs [seq,
// batch, in], updating h and c [batch, hidden] in place and writing each
// step's state into y [seq, dirs, batch, hidden] at direction d.
func (cl *rnnCell) run(xs []float32, seq, in int, lens []int, reverse bool, h, c, y []float32, d, dirs int) {
	H, B, gh := cl.hidden, cl.batch, cl.gates*cl.hidden
	// xw [seq*batch, gh] = X W^T + Wb.
	xw := make([]float32, seq*B*gh)
	if seq*B > 0 && in > 0 {
		gemm(false, true, seq*B, gh, in, 1, xs, in, cl.w, in, 0, xw, gh)
	}
	if cl.wb != nil {
		for i := 0; i < len(xw); i += gh {
			row := xw[i : i+gh]
			for j, b := range cl.wb {
				row[j] += b
			}
		}
	}
	hr := make([]float32, B*gh) // h R^T (+ Rb)
	g := make([]float32, B*gh)  // gate pre-activations, then activations
	rh := make([]float32, B*H)  // GRU: r ⊙ h
	rhr := make([]float32, B*H) // GRU: (r ⊙ h) Rh^T
	tmp := make([]float32, B*H) // LSTM: h(C)
	active := make([]bool, B)
	maxLen := 0
	for _, l := range lens {
		maxLen = max(maxLen, l)
	}
	// timeOf is the time index of step t for sequence b: counted back from
	// the sequence's own end in the reverse direction.
	timeOf := func(t, b int) int {
		if reverse {
			return lens[b] - 1 - t
		}
		return t
	}
	for t := range maxLen {
		for b := range B {
			active[b] = t < lens[b]
		}
		if cl.op != "GRU" || cl.lbr {
			gemm(false, true, B, gh, H, 1, h, H, cl.r, H, 0, hr, gh)
		} else {
			// GRU without linear_before_reset: z and r now, h~ once r is
			// known.
			gemm(false, true, B, 2*H, H, 1, h, H, cl.r[:2*H*H], H, 0, hr, gh)
		}
		for b := range B {
			if !active[b] {
				continue
			}
			time := timeOf(t, b)
			src := xw[(time*B+b)*gh : (time*B+b+1)*gh]
			dst := g[b*gh : (b+1)*gh]
			hrow := hr[b*gh : (b+1)*gh]
			for j := range dst {
				dst[j] = src[j] + hrow[j]
				if cl.rb != nil && (cl.op != "GRU" || j < 2*H || cl.lbr) {
					dst[j] += cl.rb[j]
				}
			}
		}
		switch cl.op {
		case "RNN":
			cl.clipGate(g, 0, H)
			cl.applyGate(g, 0, H, &cl.acts[0])
			for b := range B {
				if active[b] {
					copy(h[b*H:(b+1)*H], g[b*gh:b*gh+H])
				}
			}
		case "GRU":
			// g: [z | r | h~], z and r from f.
			cl.clipGate(g, 0, 2*H)
			cl.applyGate(g, 0, 2*H, &cl.acts[0])
			if cl.lbr {
				// h~ = g(x Wh^T + Wbh + r ⊙ (h Rh^T + Rbh)): g holds
				// x Wh^T + Wbh + h Rh^T + Rbh, so scale its last part by r.
				for b := range B {
					if !active[b] {
						continue
					}
					for j := range H {
						k := b*gh + 2*H + j
						hrh := hr[k] + rbOr0(cl.rb, 2*H+j)
						g[k] += (g[b*gh+H+j] - 1) * hrh
					}
				}
			} else {
				for b := range B {
					for j := range H {
						rh[b*H+j] = g[b*gh+H+j] * h[b*H+j]
					}
				}
				gemm(false, true, B, H, H, 1, rh, H, cl.r[2*H*H:], H, 0, rhr, H)
				for b := range B {
					if !active[b] {
						continue
					}
					for j := range H {
						k := b*gh + 2*H + j
						g[k] += rhr[b*H+j] + rbOr0(cl.rb, 2*H+j)
					}
				}
			}
			cl.clipGate(g, 2*H, 3*H)
			cl.applyGate(g, 2*H, 3*H, &cl.acts[1])
			for b := range B {
				if !active[b] {
					continue
				}
				for j := range H {
					z, ht := g[b*gh+j], g[b*gh+2*H+j]
					h[b*H+j] = (1-z)*ht + z*h[b*H+j]
				}
			}
		case "LSTM":
			// g: [i | o | f | c~]; peepholes P = [Pi | Po | Pf].
			if cl.p != nil {
				for b := range B {
					for j := range H {
						cp := c[b*H+j]
						g[b*gh+j] += cl.p[j] * cp         // i
						g[b*gh+2*H+j] += cl.p[2*H+j] * cp // f
					}
				}
			}
			cl.clipGate(g, 0, H)
			cl.clipGate(g, 2*H, 4*H)
			cl.applyGate(g, 0, H, &cl.acts[0])     // i
			cl.applyGate(g, 2*H, 3*H, &cl.acts[0]) // f
			cl.applyGate(g, 3*H, 4*H, &cl.acts[1]) // c~
			for b := range B {
				if !active[b] {
					continue
				}
				for j := range H {
					i, f, cc := g[b*gh+j], g[b*gh+2*H+j], g[b*gh+3*H+j]
					if cl.inputForget {
						f = 1 - i
					}
					c[b*H+j] = f*c[b*H+j] + i*cc
				}
			}
			if cl.p != nil {
				for b := range B {
					for j := range H {
						g[b*gh+H+j] += cl.p[H+j] * c[b*H+j] // o sees the new cell
					}
				}
			}
			cl.clipGate(g, H, 2*H)
			cl.applyGate(g, H, 2*H, &cl.acts[0]) // o
			copy(tmp, c)
			cl.acts[2].apply(tmp)
			for b := range B {
				if !active[b] {
					continue
				}
				for j := range H {
					h[b*H+j] = g[b*gh+H+j] * tmp[b*H+j]
				}
			}
		}
		for b := range B {
			if !active[b] {
				continue
			}
			time := timeOf(t, b)
			copy(y[((time*dirs+d)*B+b)*H:], h[b*H:(b+1)*H])
		}
	}
}

func rbOr0(rb []float32, i int) float32 {
	if rb == nil {
		return 0
	}
	return rb[i]
}

// clipGate clamps columns [lo, hi) of every row of the gates to ±clip.
func (cl *rnnCell) clipGate(g []float32, lo, hi int) {
	if math.IsInf(float64(cl.clip), 1) {
		return
	}
	gh := cl.gates * cl.hidden
	for b := range cl.batch {
		row := g[b*gh+lo : b*gh+hi]
		for j, v := range row {
			row[j] = min(max(v, -cl.clip), cl.clip)
		}
	}
}

// applyGate applies a to columns [lo, hi) of every row of the gates.
func (cl *rnnCell) applyGate(g []float32, lo, hi int, a *rnnAct) {
	gh := cl.gates * cl.hidden
	for b := range cl.batch {
		a.apply(g[b*gh+lo : b*gh+hi])
	}
}
