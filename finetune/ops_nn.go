package finetune

import (
	"fmt"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
)

// biasAdd returns x + b with b broadcast along x's last axis (Keras Dense
// and ONNX Add of a [C] bias to [N, ..., C]).
func biasAdd(x, b *G.Node) (*G.Node, error) {
	dt, shape := x.Dtype(), x.Shape()
	op := newOp("BiasAdd", dt, shape, 2)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			kernels.AddRows(f64(in[0]), f64(in[1]), f64(out))
		} else {
			kernels.AddRows(f32(in[0]), f32(in[1]), f32(out))
		}
		return nil
	}
	op.wrt = []bool{true, true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		sop := newOp("BiasAddGrad", dt, b.Shape(), 1)
		sop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				kernels.SumRows(f64(in[0]), f64(out))
			} else {
				kernels.SumRows(f32(in[0]), f32(out))
			}
			return nil
		}
		db, err := sop.apply(grad)
		return G.Nodes{grad, db}, err
	}
	return op.apply(x, b)
}

// broadcastIndex maps each position of the trailing dims inner (a shape
// without the batch dim) to the flat index of a param of shape p broadcast
// against it, numpy style (right-aligned, size-1 dims repeat).
func broadcastIndex(inner, p []int) ([]int, error) {
	for len(p) > len(inner) && p[0] == 1 {
		p = p[1:]
	}
	if len(p) > len(inner) {
		return nil, fmt.Errorf("shape %v does not broadcast to %v", p, inner)
	}
	pad := append(make([]int, len(inner)-len(p)), p...)
	for i := range pad[:len(inner)-len(p)] {
		pad[i] = 1
	}
	for i := range inner {
		if pad[i] != 1 && pad[i] != inner[i] {
			return nil, fmt.Errorf("shape %v does not broadcast to %v", p, inner)
		}
	}
	n := 1
	for _, d := range inner {
		n *= d
	}
	idx := make([]int, n)
	coord := make([]int, len(inner))
	for k := range idx {
		j := 0
		for i := range inner {
			c := coord[i]
			if pad[i] == 1 {
				c = 0
			}
			j = j*pad[i] + c
		}
		idx[k] = j
		for i := len(inner) - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < inner[i] {
				break
			}
			coord[i] = 0
		}
	}
	return idx, nil
}

// prelu returns x where x >= 0, alpha*x elsewhere, alpha broadcast over the
// non-batch dims (ONNX PRelu, Keras PReLU); alpha is trainable.
func prelu(x, alpha *G.Node) (*G.Node, error) {
	dt, shape := x.Dtype(), x.Shape()
	idx, err := broadcastIndex(shape[1:], alpha.Shape())
	if err != nil {
		return nil, fmt.Errorf("finetune: PRelu slope: %w", err)
	}
	op := newOp("PRelu", dt, shape, 2)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			preluFwd(f64(in[0]), f64(in[1]), f64(out), idx)
		} else {
			preluFwd(f32(in[0]), f32(in[1]), f32(out), idx)
		}
		return nil
	}
	op.wrt = []bool{true, true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dxop := newOp("PReluGradX", dt, shape, 3)
		dxop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				preluDX(f64(in[0]), f64(in[1]), f64(in[2]), f64(out), idx)
			} else {
				preluDX(f32(in[0]), f32(in[1]), f32(in[2]), f32(out), idx)
			}
			return nil
		}
		daop := newOp("PReluGradAlpha", dt, alpha.Shape(), 2)
		daop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				preluDA(f64(in[0]), f64(in[1]), f64(out), idx)
			} else {
				preluDA(f32(in[0]), f32(in[1]), f32(out), idx)
			}
			return nil
		}
		dx, err := dxop.apply(in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		da, err := daop.apply(in[0], grad)
		return G.Nodes{dx, da}, err
	}
	return op.apply(x, alpha)
}

func preluFwd[T floats](x, a, y []T, idx []int) {
	n := len(idx)
	for i, v := range x {
		if v < 0 {
			v *= a[idx[i%n]]
		}
		y[i] = v
	}
}

func preluDX[T floats](x, a, g, dx []T, idx []int) {
	n := len(idx)
	for i, v := range x {
		if v < 0 {
			dx[i] = g[i] * a[idx[i%n]]
		} else {
			dx[i] = g[i]
		}
	}
}

func preluDA[T floats](x, g, da []T, idx []int) {
	clear(da)
	n := len(idx)
	for i, v := range x {
		if v < 0 {
			da[idx[i%n]] += g[i] * v
		}
	}
}

// noiseKind is a layer that is random in training and the identity (or a
// fixed function) in inference.
type noiseKind struct {
	name         string  // Dropout, AlphaDropout, GaussianNoise, GaussianDropout, RReLU
	rate         float64 // Dropout/AlphaDropout/GaussianDropout rate
	stddev       float64 // GaussianNoise
	lower, upper float64 // RReLU slope range
}

// noise applies a training-mode noise layer: y = x*mul + add with mul and
// add drawn from rng at each step, and dx = g*mul.
func noise(k noiseKind, x *G.Node, rng *rand.Rand) (*G.Node, error) {
	dt, shape := x.Dtype(), x.Shape()
	n := shape.TotalSize()
	mul := make([]float64, n)
	add := make([]float64, n)
	// Keras AlphaDropout constants (keras/layers/noise.py): SELU's alpha and
	// scale, and the affine correction keeping mean and variance.
	const seluAlpha, seluScale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
	alphaP := -seluAlpha * seluScale
	aa := math.Pow((1-k.rate)*(1+k.rate*alphaP*alphaP), -0.5)
	bb := -aa * alphaP * k.rate
	draw := func(x func(i int) float64) {
		for i := range mul {
			switch k.name {
			case "Dropout":
				mul[i], add[i] = 0, 0
				if rng.Float64() >= k.rate {
					mul[i] = 1 / (1 - k.rate)
				}
			case "AlphaDropout":
				if rng.Float64() >= k.rate {
					mul[i], add[i] = aa, bb
				} else {
					mul[i], add[i] = 0, aa*alphaP+bb
				}
			case "GaussianNoise":
				mul[i], add[i] = 1, rng.NormFloat64()*k.stddev
			case "GaussianDropout":
				mul[i], add[i] = 1+rng.NormFloat64()*math.Sqrt(k.rate/(1-k.rate)), 0
			case "RReLU":
				mul[i], add[i] = 1, 0
				if x(i) < 0 {
					mul[i] = k.lower + rng.Float64()*(k.upper-k.lower)
				}
			}
		}
	}
	op := newOp(k.name, dt, shape, 1)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			xs, ys := f64(in[0]), f64(out)
			draw(func(i int) float64 { return xs[i] })
			for i, v := range xs {
				ys[i] = v*mul[i] + add[i]
			}
		} else {
			xs, ys := f32(in[0]), f32(out)
			draw(func(i int) float64 { return float64(xs[i]) })
			for i, v := range xs {
				ys[i] = float32(float64(v)*mul[i] + add[i])
			}
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		gop := newOp(k.name+"Grad", dt, shape, 2)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				g, d := f64(in[1]), f64(out)
				for i := range d {
					d[i] = g[i] * mul[i]
				}
			} else {
				g, d := f32(in[1]), f32(out)
				for i := range d {
					d[i] = float32(float64(g[i]) * mul[i])
				}
			}
			return nil
		}
		dx, err := gop.apply(y, grad) // y orders the gradient after the draw
		return G.Nodes{dx}, err
	}
	return op.apply(x)
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
