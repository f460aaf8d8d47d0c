package finetune

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// denseGrads says which gradients a fused Dense must produce: only those on
// a path to a trainable param (a frozen layer's kernel needs none; the first
// layer's input needs none).
type denseGrads struct{ x, w, b bool }

// dense is the fused Keras Dense: y = act(x @ w + b), x [N, K], w [K, U]
// (Keras layout), b [U] or nil. One op runs the product through BLAS, adds
// the bias and applies the activation in one pass; its gradient is
// dz = g * act'(z), dw = xᵀ dz, db = Σ dz, dx = dz wᵀ, each computed only
// when need says so.
func dense(x, w, b *G.Node, act kernels.Act, need denseGrads) (*G.Node, error) {
	dt := x.Dtype()
	n, k := x.Shape()[0], x.Shape()[1]
	u := w.Shape()[1]
	shape := tensor.Shape{n, u}
	ins := []*G.Node{x, w}
	if b != nil {
		ins = append(ins, b)
	}
	z := tensor.New(tensor.Of(dt), tensor.WithShape(n, u)) // pre-activation, kept for the gradient
	op := newOp("Dense."+act.Op, dt, shape, len(ins))
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			denseForward(in, z, out, act, n, k, u, f64)
		} else {
			denseForward(in, z, out, act, n, k, u, f32)
		}
		return nil
	}
	op.wrt = []bool{need.x, need.w, need.b}[:len(ins)]
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		dz := grad
		if act.Op != "Identity" {
			dzop := newOp("Dense."+act.Op+"GradZ", dt, shape, 2)
			dzop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					kernels.Backward(act, f64(z), f64(in[0]), f64(in[1]), f64(out))
				} else {
					kernels.Backward(act, f32(z), f32(in[0]), f32(in[1]), f32(out))
				}
				return nil
			}
			var err error
			if dz, err = dzop.apply(y, grad); err != nil {
				return nil, err
			}
		}
		grads := make(G.Nodes, len(ins))
		if need.x {
			dxop := newOp("Dense.GradX", dt, tensor.Shape{n, k}, 2)
			dxop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					gemm(false, true, n, k, u, f64(in[0]), f64(in[1]), f64(out), 0)
				} else {
					gemm(false, true, n, k, u, f32(in[0]), f32(in[1]), f32(out), 0)
				}
				return nil
			}
			d, err := dxop.apply(dz, in[1])
			if err != nil {
				return nil, err
			}
			grads[0] = d
		}
		if need.w {
			dwop := newOp("Dense.GradW", dt, tensor.Shape{k, u}, 2)
			dwop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					gemm(true, false, k, u, n, f64(in[0]), f64(in[1]), f64(out), 0)
				} else {
					gemm(true, false, k, u, n, f32(in[0]), f32(in[1]), f32(out), 0)
				}
				return nil
			}
			d, err := dwop.apply(in[0], dz)
			if err != nil {
				return nil, err
			}
			grads[1] = d
		}
		if b != nil && need.b {
			dbop := newOp("Dense.GradB", dt, tensor.Shape{u}, 1)
			dbop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					kernels.SumRows(f64(in[0]), f64(out))
				} else {
					kernels.SumRows(f32(in[0]), f32(out))
				}
				return nil
			}
			d, err := dbop.apply(dz)
			if err != nil {
				return nil, err
			}
			grads[2] = d
		}
		return grads, nil
	}
	return op.apply(ins...)
}

func denseForward[T floats](in []*tensor.Dense, z, out *tensor.Dense, act kernels.Act, n, k, u int, get func(*tensor.Dense) []T) {
	zs := get(z)
	gemm(false, false, n, u, k, get(in[0]), get(in[1]), zs, 0)
	if z32, ok := any(zs).([]float32); ok {
		// Bias and activation in one vectorised C pass where the kernels
		// have one, with the bits of AddRows then ForwardGo.
		var b []float32
		if len(in) > 2 {
			b = any(get(in[2])).([]float32)
		}
		kernels.BiasAct(act, n, u, z32, u, b, any(get(out)).([]float32), u)
		return
	}
	if len(in) > 2 {
		kernels.AddRows(zs, get(in[2]), zs)
	}
	kernels.Forward(act, zs, get(out))
}

// fuseDense lowers nodes i.. of l as one fused Dense when they are MatMul by
// a 2-D param, optionally Add of a 1-D param, optionally an activation, each
// intermediate value used only by the next node. It returns how many nodes
// it consumed (0: no match).
func (lw *lowerer) fuseDense(l *model.Layer, i int, head *model.Node) (int, error) {
	nodes := l.Nodes
	mm := nodes[i]
	if mm.Op != "MatMul" || len(mm.Inputs) != 2 || lw.noFuse {
		return 0, nil
	}
	wp, ok := lw.params[mm.Inputs[1]]
	x, have := lw.env[mm.Inputs[0]]
	if !ok || len(wp.Shape) != 2 || !have || len(x.Shape()) != 2 || x.Shape()[1] != wp.Shape[0] {
		return 0, nil
	}
	used := 1
	last := mm.Outputs[0]
	var bp *model.Param
	if i+used < len(nodes) {
		if a := nodes[i+used]; a.Op == "Add" && a != head && len(a.Inputs) == 2 && lw.uses[last] == 1 {
			other := a.Inputs[1]
			if a.Inputs[1] == last {
				other = a.Inputs[0]
			} else if a.Inputs[0] != last {
				other = ""
			}
			if p, ok := lw.params[other]; ok && len(p.Shape) == 1 && p.Shape[0] == wp.Shape[1] {
				bp, last = p, a.Outputs[0]
				used++
			}
		}
	}
	act := kernels.Act{Op: "Identity"}
	if i+used < len(nodes) {
		if a := nodes[i+used]; kernels.IsAct(a.Op) && kernels.HasGrad(a.Op) && a != head && len(a.Inputs) == 1 && a.Inputs[0] == last && lw.uses[last] == 1 {
			k, err := kernels.ActOf(a)
			if err != nil {
				return 0, err
			}
			act, last = k, a.Outputs[0]
			used++
		}
	}
	w, err := lw.value(wp.Name)
	if err != nil {
		return 0, err
	}
	var b *G.Node
	if bp != nil {
		if b, err = lw.value(bp.Name); err != nil {
			return 0, err
		}
	}
	need := denseGrads{x: lw.needsGrad[mm.Inputs[0]], w: wp.Trainable, b: bp != nil && bp.Trainable}
	y, err := dense(x, w, b, act, need)
	if err != nil {
		return 0, err
	}
	lw.env[last] = y
	lw.needsGrad[last] = need.x || need.w || need.b
	return used, nil
}
