package finetune

import (
	"encoding/json"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

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
		var c struct {
			Momentum *float64 `json:"momentum"`
		}
		if json.Unmarshal(l.Config, &c) == nil && c.Momentum != nil {
			st.momentum = *c.Momentum
		}
	}
	training := lw.o.training && lw.batchStats(l)
	if training {
		mp, vp := lw.params[n.Inputs[3]], lw.params[n.Inputs[4]]
		if mp == nil || vp == nil {
			return nil, fmt.Errorf("moving statistics %q and %q must be params", n.Inputs[3], n.Inputs[4])
		}
		st.movingMean, st.movingVar = lw.st.vals[mp.Name], lw.st.vals[vp.Name]
	}
	return batchNorm(ins[0], ins[1], ins[2], ins[3], ins[4], st, training)
}

// bnState is what a training-mode batch normalisation shares with its
// gradient ops and with the moving averages it updates.
type bnState struct {
	c, inner      int // channels (axis 1) and positions per channel per example
	eps, momentum float64
	xhat          []float64
	invstd        []float64
	// movingMean and movingVar are the layer's State params, updated in place
	// at each training step: moving = moving*momentum + batch*(1-momentum).
	movingMean, movingVar any // []float32 or []float64
}

// batchNorm returns ONNX BatchNormalization of x (channels on axis 1). In
// training it normalises with the batch statistics (biased variance, as
// Keras) and updates st's moving averages; otherwise it
// uses the moving statistics mean and variance.
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
	st.xhat = make([]float64, n)
	st.invstd = make([]float64, st.c)
	batchMean := make([]float64, st.c)
	op := newOp("BatchNormalization", dt, shape, 5)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		xs, g, b, mm, mv := toF64(in[0]), toF64(in[1]), toF64(in[2]), toF64(in[3]), toF64(in[4])
		ys := make([]float64, n)
		m := float64(n / st.c)
		for c := 0; c < st.c; c++ {
			mu, va := mm[c], mv[c]
			if training {
				mu, va = 0, 0
				eachChannel(n, st.c, st.inner, c, func(i int) { mu += xs[i] })
				mu /= m
				eachChannel(n, st.c, st.inner, c, func(i int) { d := xs[i] - mu; va += d * d })
				va /= m
				batchMean[c] = mu
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
			eachChannel(n, st.c, st.inner, c, func(i int) {
				st.xhat[i] = (xs[i] - mu) * inv
				ys[i] = g[c]*st.xhat[i] + b[c]
			})
		}
		fromF64(ys, out)
		return nil
	}
	op.wrt = []bool{true, true, true, false, false}
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		dxop := newOp("BatchNormalizationGradX", dt, shape, 3)
		dxop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			g, gm := toF64(in[1]), toF64(in[2])
			dx := make([]float64, n)
			m := float64(n / st.c)
			for c := 0; c < st.c; c++ {
				if !training {
					eachChannel(n, st.c, st.inner, c, func(i int) { dx[i] = g[i] * gm[c] * st.invstd[c] })
					continue
				}
				var s, sx float64
				eachChannel(n, st.c, st.inner, c, func(i int) {
					d := g[i] * gm[c]
					s += d
					sx += d * st.xhat[i]
				})
				eachChannel(n, st.c, st.inner, c, func(i int) {
					dx[i] = st.invstd[c] / m * (m*g[i]*gm[c] - s - st.xhat[i]*sx)
				})
			}
			fromF64(dx, out)
			return nil
		}
		dgop := newOp("BatchNormalizationGradGamma", dt, gamma.Shape(), 2)
		dgop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			g := toF64(in[1])
			d := make([]float64, st.c)
			for c := range d {
				eachChannel(n, st.c, st.inner, c, func(i int) { d[c] += g[i] * st.xhat[i] })
			}
			fromF64(d, out)
			return nil
		}
		dbop := newOp("BatchNormalizationGradBeta", dt, beta.Shape(), 2)
		dbop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			g := toF64(in[1])
			d := make([]float64, st.c)
			for c := range d {
				eachChannel(n, st.c, st.inner, c, func(i int) { d[c] += g[i] })
			}
			fromF64(d, out)
			return nil
		}
		dx, err := dxop.apply(y, grad, in[1])
		if err != nil {
			return nil, err
		}
		dg, err := dgop.apply(y, grad)
		if err != nil {
			return nil, err
		}
		db, err := dbop.apply(y, grad)
		return G.Nodes{dx, dg, db, nil, nil}, err
	}
	return op.apply(x, gamma, beta, mean, variance)
}

func eachChannel(n, c, inner, ch int, f func(i int)) {
	for base := ch * inner; base < n; base += c * inner {
		for i := base; i < base+inner; i++ {
			f(i)
		}
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
