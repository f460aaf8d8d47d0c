package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// rnnAct is an ONNX recurrent activation function with its alpha and beta.
type rnnAct struct {
	name        string
	alpha, beta float64
}

func (a rnnAct) f(x float64) float64 {
	switch a.name {
	case "Sigmoid":
		return 1 / (1 + math.Exp(-x))
	case "Tanh":
		return math.Tanh(x)
	case "Relu":
		return math.Max(x, 0)
	case "Affine":
		return a.alpha*x + a.beta
	case "HardSigmoid":
		return math.Min(math.Max(a.alpha*x+a.beta, 0), 1)
	case "Softsign":
		return x / (1 + math.Abs(x))
	case "Softplus":
		return math.Log1p(math.Exp(-math.Abs(x))) + math.Max(x, 0)
	case "Elu":
		if x >= 0 {
			return x
		}
		return a.alpha * (math.Exp(x) - 1)
	}
	return math.NaN()
}

// df is the derivative at pre-activation x whose activation is y.
func (a rnnAct) df(x, y float64) float64 {
	switch a.name {
	case "Sigmoid":
		return y * (1 - y)
	case "Tanh":
		return 1 - y*y
	case "Relu":
		if x > 0 {
			return 1
		}
		return 0
	case "Affine":
		return a.alpha
	case "HardSigmoid":
		if v := a.alpha*x + a.beta; v > 0 && v < 1 {
			return a.alpha
		}
		return 0
	case "Softsign":
		d := 1 + math.Abs(x)
		return 1 / (d * d)
	case "Softplus":
		return 1 / (1 + math.Exp(-x))
	case "Elu":
		if x >= 0 {
			return 1
		}
		return a.alpha * math.Exp(x)
	}
	return math.NaN()
}

// rnnActs reads a node's activations (ONNX's defaults when absent), one
// list per direction; activation_alpha and activation_beta are consumed in
// order by the functions that take them, as ONNX Runtime reads them.
func rnnActs(n *model.Node, dirs int) ([]rnnAct, error) {
	def := map[string][]string{"RNN": {"Tanh"}, "GRU": {"Sigmoid", "Tanh"}, "LSTM": {"Sigmoid", "Tanh", "Tanh"}}[n.Op]
	names := n.AttrStrings("activations", nil)
	if names == nil {
		for range dirs {
			names = append(names, def...)
		}
	}
	if len(names) != len(def)*dirs {
		return nil, fmt.Errorf("%s has %d activations, want %d", n.Op, len(names), len(def)*dirs)
	}
	alphas, betas := n.AttrFloats("activation_alpha", nil), n.AttrFloats("activation_beta", nil)
	var out []rnnAct
	for _, name := range names {
		a := rnnAct{name: name}
		take := func(v []float32, def float64) (float64, []float32) {
			if len(v) == 0 {
				return def, v
			}
			return float64(v[0]), v[1:]
		}
		switch name {
		case "Sigmoid", "Tanh", "Relu", "Softsign", "Softplus":
		case "Affine":
			a.alpha, alphas = take(alphas, 1)
			a.beta, betas = take(betas, 0)
		case "HardSigmoid":
			a.alpha, alphas = take(alphas, 0.2)
			a.beta, betas = take(betas, 0.5)
		case "Elu":
			a.alpha, alphas = take(alphas, 1)
		default:
			return nil, fmt.Errorf("%s activation %s is not lowered (Sigmoid, Tanh, Relu, Affine, HardSigmoid, Softsign, Softplus, Elu)", n.Op, name)
		}
		out = append(out, a)
	}
	return out, nil
}

// rnnGeom is one recurrent node: its op, sizes (steps, batch, input,
// hidden, directions, gates), GRU's linear_before_reset, the activations
// per direction and whether each direction runs backward in time.
type rnnGeom struct {
	op                  string
	steps, batch, in, h int
	dirs, gates         int
	lbr                 bool
	acts                []rnnAct
	reverse             []bool
}

// rnnState is what the forward pass keeps for the backward one, per
// direction and step (in processing order): the previous hidden (and cell)
// state, the gates' pre-activations and activations, the new cell state,
// and GRU's recurrent product of the candidate.
type rnnState struct {
	x, w, r, b       []float64
	hp, cp, pre, act [][][]float64 // [dir][step] -> batch*h or batch*gates*h
	c, rh            [][][]float64
}

// lowerRecurrent lowers ONNX RNN, GRU and LSTM (layout 0; no
// sequence_lens, initial states or peepholes: what Keras's layers lower
// to) as one op over X, W, R and B computing Y [steps, dirs, batch,
// hidden], with backpropagation through time in float64; Y_h is Y's last
// step per direction.
func lowerRecurrent(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	for i := 4; i < len(n.Inputs); i++ {
		if n.Inputs[i] != "" {
			return nil, fmt.Errorf("%s input %d (sequence_lens, initial states, peepholes) is not lowered", n.Op, i)
		}
	}
	if n.AttrInt("layout", 0) != 0 || n.AttrInt("input_forget", 0) != 0 {
		return nil, fmt.Errorf("%s with layout 1 or input_forget is not lowered", n.Op)
	}
	if _, ok := n.Attrs["clip"]; ok {
		return nil, fmt.Errorf("%s with clip is not lowered", n.Op)
	}
	ins, err := lw.insOpt(n, 3, 4)
	if err != nil {
		return nil, err
	}
	x, w := ins[0], ins[1]
	hasB := len(ins) > 3
	xs, ws := x.Shape(), w.Shape()
	g := rnnGeom{op: n.Op, gates: map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[n.Op], lbr: n.AttrInt("linear_before_reset", 0) != 0}
	if len(xs) != 3 || len(ws) != 3 {
		return nil, fmt.Errorf("%s X %v and W %v must have rank 3", n.Op, xs, ws)
	}
	g.steps, g.batch, g.in, g.dirs, g.h = xs[0], xs[1], xs[2], ws[0], ws[1]/g.gates
	switch d := n.AttrString("direction", "forward"); d {
	case "forward":
		g.reverse = []bool{false}
	case "reverse":
		g.reverse = []bool{true}
	case "bidirectional":
		g.reverse = []bool{false, true}
	default:
		return nil, fmt.Errorf("%s direction %q", n.Op, d)
	}
	if len(g.reverse) != g.dirs || ws[2] != g.in {
		return nil, fmt.Errorf("%s W %v does not fit X %v and the direction", n.Op, ws, xs)
	}
	if g.acts, err = rnnActs(n, g.dirs); err != nil {
		return nil, err
	}
	dt := x.Dtype()
	st := &rnnState{}
	yShape := tensor.Shape{g.steps, g.dirs, g.batch, g.h}
	op := newOp(n.Op, dt, yShape, len(ins))
	// gen counts forward runs; the gradient ops compute one backward pass
	// per run, whichever of them runs first.
	gen := 0
	op.do = func(in []*tensor.Dense, y *tensor.Dense) error {
		gen++
		st.x, st.w, st.r = toF64(in[0]), toF64(in[1]), toF64(in[2])
		st.b = make([]float64, g.dirs*2*g.gates*g.h)
		if hasB {
			st.b = toF64(in[3])
		}
		fromF64(g.forward(st), y)
		return nil
	}
	op.wrt = []bool{true, true, true, true}[:len(ins)]
	op.diff = func(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		// One backward pass serves the four gradient ops: the first to run
		// in a step computes it (gen counts the steps).
		var grads [4][]float64
		done := 0
		back := func(gy *tensor.Dense) {
			if done == gen {
				return
			}
			grads[0], grads[1], grads[2], grads[3] = g.backward(st, toF64(gy))
			done = gen
		}
		names := []string{"X", "W", "R", "B"}
		specs := make([]*gradSpec, len(ins))
		for i, in := range ins {
			specs[i] = &gradSpec{n.Op + "Grad" + names[i], in.Shape(), func(in []*tensor.Dense, d *tensor.Dense) {
				back(in[0])
				fromF64(grads[i], d)
			}, G.Nodes{grad}}
		}
		return gradOps(dt, specs...)
	}
	y, err := op.apply(ins...)
	if err != nil {
		return nil, err
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		// Y_h: the last step each direction processed.
		src := make([]int, 0, g.dirs*g.batch*g.h)
		for d, rev := range g.reverse {
			t := g.steps - 1
			if rev {
				t = 0
			}
			for k := range g.batch * g.h {
				src = append(src, ((t*g.dirs)+d)*g.batch*g.h+k)
			}
		}
		yh, err := pickIdx(n.Op+"LastStep", y, tensor.Shape{g.dirs, g.batch, g.h}, src)
		if err != nil {
			return nil, err
		}
		lw.env[n.Outputs[1]] = yh
		lw.needsGrad[n.Outputs[1]] = true
	}
	return y, nil
}

// matVec adds m[rows, cols] . v[cols] into out[rows] (out += m v).
func matVec(out, m, v []float64, rows, cols int) {
	for i := range rows {
		s := 0.0
		row := m[i*cols : (i+1)*cols]
		for j, x := range v {
			s += row[j] * x
		}
		out[i] += s
	}
}

// vecMat adds v[rows] . m[rows, cols] into out[cols] (out += m^T v).
func vecMat(out, v, m []float64, rows, cols int) {
	for i, a := range v {
		if a == 0 {
			continue
		}
		row := m[i*cols : (i+1)*cols]
		for j := range cols {
			out[j] += a * row[j]
		}
	}
}

// outer adds a[rows] x b[cols] into m[rows, cols].
func outer(m, a, b []float64, cols int) {
	for i, x := range a {
		if x == 0 {
			continue
		}
		row := m[i*cols : (i+1)*cols]
		for j, y := range b {
			row[j] += x * y
		}
	}
}

// forward runs every direction over X [steps, batch, in] and returns Y
// [steps, dirs, batch, h] in time order, keeping st's caches.
func (g rnnGeom) forward(st *rnnState) []float64 {
	T, N, I, H, GH := g.steps, g.batch, g.in, g.h, g.gates*g.h
	nAct := len(g.acts) / g.dirs
	y := make([]float64, T*g.dirs*N*H)
	alloc := func(size int) [][][]float64 {
		out := make([][][]float64, g.dirs)
		for d := range out {
			out[d] = make([][]float64, T)
			for t := range out[d] {
				out[d][t] = make([]float64, size)
			}
		}
		return out
	}
	st.hp, st.pre, st.act = alloc(N*H), alloc(N*GH), alloc(N*GH)
	if g.op == "LSTM" {
		st.cp, st.c = alloc(N*H), alloc(N*H)
	}
	if g.op == "GRU" {
		st.rh = alloc(N * H)
	}
	for d, rev := range g.reverse {
		W, R := st.w[d*GH*I:(d+1)*GH*I], st.r[d*GH*H:(d+1)*GH*H]
		Wb, Rb := st.b[d*2*GH:d*2*GH+GH], st.b[d*2*GH+GH:(d+1)*2*GH]
		acts := g.acts[d*nAct : (d+1)*nAct]
		h := make([]float64, N*H)
		c := make([]float64, N*H)
		for s := range T {
			t := s
			if rev {
				t = T - 1 - s
			}
			copy(st.hp[d][s], h)
			if st.cp != nil {
				copy(st.cp[d][s], c)
			}
			for n := range N {
				xt := st.x[(t*N+n)*I : (t*N+n+1)*I]
				hp := st.hp[d][s][n*H : (n+1)*H]
				pre := st.pre[d][s][n*GH : (n+1)*GH]
				act := st.act[d][s][n*GH : (n+1)*GH]
				hn := h[n*H : (n+1)*H]
				for k := range GH {
					pre[k] = Wb[k]
				}
				matVec(pre, W, xt, GH, I)
				switch g.op {
				case "RNN":
					matVec(pre, R, hp, H, H)
					for k := range H {
						pre[k] += Rb[k]
						act[k] = acts[0].f(pre[k])
						hn[k] = act[k]
					}
				case "LSTM":
					matVec(pre, R, hp, GH, H)
					cn := c[n*H : (n+1)*H]
					cp := st.cp[d][s][n*H : (n+1)*H]
					for k := range GH {
						pre[k] += Rb[k]
					}
					// gates i, o, f, c
					for k := range H {
						i, o, f := acts[0].f(pre[k]), acts[0].f(pre[H+k]), acts[0].f(pre[2*H+k])
						cc := acts[1].f(pre[3*H+k])
						act[k], act[H+k], act[2*H+k], act[3*H+k] = i, o, f, cc
						cn[k] = f*cp[k] + i*cc
						hn[k] = o * acts[2].f(cn[k])
					}
					copy(st.c[d][s][n*H:(n+1)*H], cn)
				case "GRU":
					// z and r: the first 2H rows.
					matVec(pre[:2*H], R[:2*H*H], hp, 2*H, H)
					for k := range 2 * H {
						pre[k] += Rb[k]
						act[k] = acts[0].f(pre[k])
					}
					z, r := act[:H], act[H:2*H]
					rh := st.rh[d][s][n*H : (n+1)*H]
					Rh := R[2*H*H:]
					if g.lbr {
						for k := range H {
							rh[k] = Rb[2*H+k]
						}
						matVec(rh, Rh, hp, H, H)
						for k := range H {
							pre[2*H+k] += r[k] * rh[k]
						}
					} else {
						u := make([]float64, H)
						for k := range H {
							u[k] = r[k] * hp[k]
						}
						matVec(pre[2*H:], Rh, u, H, H)
						for k := range H {
							pre[2*H+k] += Rb[2*H+k]
						}
					}
					for k := range H {
						hh := acts[1].f(pre[2*H+k])
						act[2*H+k] = hh
						hn[k] = (1-z[k])*hh + z[k]*hp[k]
					}
				}
				copy(y[((t*g.dirs+d)*N+n)*H:], hn)
			}
		}
	}
	return y
}

// backward returns the gradients of X, W, R and B given Y's.
func (g rnnGeom) backward(st *rnnState, gy []float64) (dx, dw, dr, db []float64) {
	T, N, I, H, GH := g.steps, g.batch, g.in, g.h, g.gates*g.h
	nAct := len(g.acts) / g.dirs
	dx = make([]float64, T*N*I)
	dw = make([]float64, len(st.w))
	dr = make([]float64, len(st.r))
	db = make([]float64, len(st.b))
	for d, rev := range g.reverse {
		W, R := st.w[d*GH*I:(d+1)*GH*I], st.r[d*GH*H:(d+1)*GH*H]
		dW, dR := dw[d*GH*I:(d+1)*GH*I], dr[d*GH*H:(d+1)*GH*H]
		dWb, dRb := db[d*2*GH:d*2*GH+GH], db[d*2*GH+GH:(d+1)*2*GH]
		acts := g.acts[d*nAct : (d+1)*nAct]
		dhNext := make([]float64, N*H)
		dcNext := make([]float64, N*H)
		da := make([]float64, GH)
		for s := T - 1; s >= 0; s-- {
			t := s
			if rev {
				t = T - 1 - s
			}
			for n := range N {
				xt := st.x[(t*N+n)*I : (t*N+n+1)*I]
				hp := st.hp[d][s][n*H : (n+1)*H]
				pre := st.pre[d][s][n*GH : (n+1)*GH]
				act := st.act[d][s][n*GH : (n+1)*GH]
				dh := make([]float64, H)
				for k := range H {
					dh[k] = gy[((t*g.dirs+d)*N+n)*H+k] + dhNext[n*H+k]
				}
				dhp := dhNext[n*H : (n+1)*H]
				clear(dhp)
				clear(da)
				switch g.op {
				case "RNN":
					for k := range H {
						da[k] = dh[k] * acts[0].df(pre[k], act[k])
					}
					vecMat(dhp, da, R, H, H)
				case "LSTM":
					cp := st.cp[d][s][n*H : (n+1)*H]
					cn := st.c[d][s][n*H : (n+1)*H]
					dc := dcNext[n*H : (n+1)*H]
					for k := range H {
						i, o, f, cc := act[k], act[H+k], act[2*H+k], act[3*H+k]
						hc := acts[2].f(cn[k])
						dck := dc[k] + dh[k]*o*acts[2].df(cn[k], hc)
						da[k] = dck * cc * acts[0].df(pre[k], i)
						da[H+k] = dh[k] * hc * acts[0].df(pre[H+k], o)
						da[2*H+k] = dck * cp[k] * acts[0].df(pre[2*H+k], f)
						da[3*H+k] = dck * i * acts[1].df(pre[3*H+k], cc)
						dc[k] = dck * f
					}
					vecMat(dhp, da, R, GH, H)
				case "GRU":
					z, r, hh := act[:H], act[H:2*H], act[2*H:]
					rh := st.rh[d][s][n*H : (n+1)*H]
					Rh := R[2*H*H:]
					dRh := dR[2*H*H:]
					dr := make([]float64, H)
					for k := range H {
						dz := dh[k] * (hp[k] - hh[k])
						dhp[k] += dh[k] * z[k]
						da[2*H+k] = dh[k] * (1 - z[k]) * acts[1].df(pre[2*H+k], hh[k])
						da[k] = dz * acts[0].df(pre[k], z[k])
					}
					dah := da[2*H:]
					if g.lbr {
						drh := make([]float64, H)
						for k := range H {
							dr[k] = dah[k] * rh[k]
							drh[k] = dah[k] * r[k]
							dRb[2*H+k] += drh[k]
						}
						outer(dRh, drh, hp, H)
						vecMat(dhp, drh, Rh, H, H)
					} else {
						u := make([]float64, H)
						for k := range H {
							u[k] = r[k] * hp[k]
							dRb[2*H+k] += dah[k]
						}
						outer(dRh, dah, u, H)
						du := make([]float64, H)
						vecMat(du, dah, Rh, H, H)
						for k := range H {
							dr[k] = du[k] * hp[k]
							dhp[k] += du[k] * r[k]
						}
					}
					for k := range H {
						da[H+k] = dr[k] * acts[0].df(pre[H+k], r[k])
					}
					// z and r's recurrent terms.
					outer(dR[:2*H*H], da[:2*H], hp, H)
					vecMat(dhp, da[:2*H], R[:2*H*H], 2*H, H)
					for k := range 2 * H {
						dRb[k] += da[k]
					}
				}
				// Terms every gate shares: the input, W, the biases, and for
				// RNN/LSTM R and the recurrent bias.
				outer(dW, da, xt, I)
				vecMat(dx[(t*N+n)*I:(t*N+n+1)*I], da, W, GH, I)
				for k := range GH {
					dWb[k] += da[k]
				}
				if g.op != "GRU" {
					outer(dR, da, hp, H)
					for k := range GH {
						dRb[k] += da[k]
					}
				}
			}
		}
	}
	return dx, dw, dr, db
}
