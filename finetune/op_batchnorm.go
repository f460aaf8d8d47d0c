package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func (lw *lowerer) batchNorm(l *model.Layer, n *model.Node, ins []*G.Node) (*G.Node, error) {
	if len(ins) < 5 {
		return nil, fmt.Errorf("needs 5 inputs (X, scale, B, mean, var)")
	}
	for i := 1; i < 5; i++ {
		if ins[i] == nil {
			return nil, fmt.Errorf("input %d missing", i)
		}
	}
	st := &bnState{eps: float64(n.AttrFloat("epsilon", 1e-5)), momentum: float64(n.AttrFloat("momentum", 0.9))}
	if l.Kind == "BatchNormalization" && len(l.Config) > 0 {
		// A Keras layer: its config's momentum as written (a Python float,
		// from which Keras computes 1 - momentum), not the node's float32
		// copy; epsilon is the node's, the float32 Keras adds.
		o, err := layers.BatchNormConfig(l)
		if err != nil {
			return nil, err
		}
		st.momentum = o.Momentum
	}
	training := lw.o.training && lw.batchStats(l)
	st.needX = lw.needsGrad[n.Inputs[0]]
	if training {
		mp, vp := lw.params[n.Inputs[3]], lw.params[n.Inputs[4]]
		if mp == nil || vp == nil {
			return nil, fmt.Errorf("moving statistics %q and %q must be params", n.Inputs[3], n.Inputs[4])
		}
		st.movingMean, st.movingVar = lw.st.vals[mp.Name], lw.st.vals[vp.Name]
	}
	return batchNorm(ins[0], ins[1], ins[2], ins[3], ins[4], st, training)
}

// bnState is what a batch normalisation shares with its gradient ops and
// with the moving averages it updates.
type bnState struct {
	c, inner      int // channels (axis 1) and positions per channel per example
	eps, momentum float64
	// xhat is the normalised input ([]float32 or []float64, as the graph),
	// invstd 1/sqrt(var+eps) per channel, for the gradients.
	xhat   any
	invstd []float64
	// movingMean and movingVar are the layer's State params, updated in place
	// at each training step: moving = moving*momentum + batch*(1-momentum).
	movingMean, movingVar any // []float32 or []float64
	// needX says whether the input needs a gradient.
	needX bool
}

// batchNorm returns ONNX BatchNormalization of x (channels on axis 1). In
// training it normalises with the batch statistics (biased variance, as
// Keras) and updates st's moving averages; otherwise it uses the moving
// statistics mean and variance. Statistics and the gradients' sums are
// accumulated in float64, per channel over contiguous runs.
func batchNorm(x, gamma, beta, mean, variance *G.Node, st *bnState, training bool) (*G.Node, error) {
	dt, shape := x.Dtype(), x.Shape()
	if len(shape) < 2 {
		return nil, fmt.Errorf("finetune: BatchNormalization of shape %v: need [N, C, ...]", shape)
	}
	st.c = shape[1]
	st.inner = shape[2:].TotalSize()
	if len(shape) == 2 {
		st.inner = 1
	}
	n := shape.TotalSize()
	if dt == tensor.Float64 {
		st.xhat = make([]float64, n)
	} else {
		st.xhat = make([]float32, n)
	}
	st.invstd = make([]float64, st.c)
	op := newOp("BatchNormalization", dt, shape, 5)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			bnForward(st, training, f64(in[0]), f64(in[1]), f64(in[2]), f64(in[3]), f64(in[4]), f64(out), st.xhat.([]float64))
		} else {
			bnForward(st, training, f32(in[0]), f32(in[1]), f32(in[2]), f32(in[3]), f32(in[4]), f32(out), st.xhat.([]float32))
		}
		return nil
	}
	op.wrt = []bool{st.needX, true, true, false, false}
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		grads := G.Nodes{nil, nil, nil, nil, nil}
		if st.needX {
			dxop := newOp("BatchNormalizationGradX", dt, shape, 3)
			dxop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					bnGradX(st, training, f64(in[1]), f64(in[2]), st.xhat.([]float64), f64(out))
				} else {
					bnGradX(st, training, f32(in[1]), f32(in[2]), st.xhat.([]float32), f32(out))
				}
				return nil
			}
			dx, err := dxop.apply(y, grad, in[1])
			if err != nil {
				return nil, err
			}
			grads[0] = dx
		}
		for k, name := range []string{"Gamma", "Beta"} {
			dop := newOp("BatchNormalizationGrad"+name, dt, []tensor.Shape{gamma.Shape(), beta.Shape()}[k], 2)
			withXhat := k == 0
			dop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					bnGradParam(st, f64(in[1]), st.xhat.([]float64), withXhat, f64(out))
				} else {
					bnGradParam(st, f32(in[1]), st.xhat.([]float32), withXhat, f32(out))
				}
				return nil
			}
			d, err := dop.apply(y, grad)
			if err != nil {
				return nil, err
			}
			grads[1+k] = d
		}
		return grads, nil
	}
	return op.apply(x, gamma, beta, mean, variance)
}

// bnRuns calls f(lo, hi) for each contiguous run of channel c's values.
func bnRuns(st *bnState, n, c int, f func(lo, hi int)) {
	for base := c * st.inner; base < n; base += st.c * st.inner {
		f(base, base+st.inner)
	}
}

func bnForward[T floats](st *bnState, training bool, x, g, b, mm, mv, y, xhat []T) {
	n := len(x)
	m := float64(n / st.c)
	for c := 0; c < st.c; c++ {
		mu, va := float64(mm[c]), float64(mv[c])
		if training {
			var s float64
			bnRuns(st, n, c, func(lo, hi int) {
				for _, v := range x[lo:hi] {
					s += float64(v)
				}
			})
			mu = s / m
			var q float64
			bnRuns(st, n, c, func(lo, hi int) {
				for _, v := range x[lo:hi] {
					d := float64(v) - mu
					q += d * d
				}
			})
			va = q / m
			updateMoving(st.movingMean, c, mu, st.momentum)
			// tf.keras normalises with the biased variance; its moving
			// variance takes the biased one after Dense (non-fused path,
			// tf.nn.moments) but the Bessel-corrected one on conv
			// feature maps (fused_batch_norm, used for rank 4 and 5).
			vm := va
			if st.inner > 1 && m > 1 {
				vm = va * m / (m - 1)
			}
			updateMoving(st.movingVar, c, vm, st.momentum)
		}
		inv := 1 / math.Sqrt(va+st.eps)
		st.invstd[c] = inv
		muT, invT, gc, bc := T(mu), T(inv), g[c], b[c]
		bnRuns(st, n, c, func(lo, hi int) {
			xr, hr, yr := x[lo:hi], xhat[lo:hi], y[lo:hi]
			for i, v := range xr {
				h := (v - muT) * invT
				hr[i] = h
				yr[i] = gc*h + bc
			}
		})
	}
}

func bnGradX[T floats](st *bnState, training bool, g, gamma, xhat, dx []T) {
	n := len(g)
	m := float64(n / st.c)
	for c := 0; c < st.c; c++ {
		gc := gamma[c]
		if !training {
			k := gc * T(st.invstd[c])
			bnRuns(st, n, c, func(lo, hi int) {
				for i, v := range g[lo:hi] {
					dx[lo+i] = v * k
				}
			})
			continue
		}
		var s, sx float64
		bnRuns(st, n, c, func(lo, hi int) {
			for i, v := range g[lo:hi] {
				d := float64(v * gc)
				s += d
				sx += d * float64(xhat[lo+i])
			}
		})
		k := T(st.invstd[c] / m)
		sT, sxT, mT := T(s), T(sx), T(m)
		bnRuns(st, n, c, func(lo, hi int) {
			for i, v := range g[lo:hi] {
				dx[lo+i] = k * (mT*v*gc - sT - xhat[lo+i]*sxT)
			}
		})
	}
}

// bnGradParam is dgamma (sum of g*xhat) or dbeta (sum of g) per channel.
func bnGradParam[T floats](st *bnState, g, xhat []T, withXhat bool, d []T) {
	n := len(g)
	for c := 0; c < st.c; c++ {
		var s float64
		bnRuns(st, n, c, func(lo, hi int) {
			if withXhat {
				for i, v := range g[lo:hi] {
					s += float64(v * xhat[lo+i])
				}
				return
			}
			for _, v := range g[lo:hi] {
				s += float64(v)
			}
		})
		d[c] = T(s)
	}
}

func updateMoving(s any, c int, v, momentum float64) {
	switch s := s.(type) {
	case []float32:
		s[c] = float32(float64(s[c])*momentum + v*(1-momentum))
	case []float64:
		s[c] = s[c]*momentum + v*(1-momentum)
	}
}

func toF64(t *tensor.Dense) []float64 {
	if v := f64(t); v != nil {
		return v
	}
	v := f32(t)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func fromF64(v []float64, t *tensor.Dense) {
	if d := f64(t); d != nil {
		copy(d, v)
		return
	}
	d := f32(t)
	for i, x := range v {
		d[i] = float32(x)
	}
}

// batchStats says whether BatchNormalization layer l normalises with batch
// statistics in training, by the run's BN mode (see Config.BNMode).
func (lw *lowerer) batchStats(l *model.Layer) bool {
	switch lw.o.bnMode {
	case "inference":
		return false
	case "batch":
		return lw.m.EffectiveTrainable(l)
	default: // "auto", "": Keras's rule
		return lw.m.EffectiveTrainable(l) && !lw.m.InferenceOnly(l)
	}
}

// lowerBatchNorm lowers ONNX BatchNormalization (see lw.batchNorm).
func lowerBatchNorm(lw *lowerer, l *model.Layer, n *model.Node) (*G.Node, error) {
	ins, err := lw.ins(n)
	if err != nil {
		return nil, err
	}
	return lw.batchNorm(l, n, ins)
}
