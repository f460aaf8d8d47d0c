package finetune

import (
	"fmt"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// noiseLayers are the Keras layer kinds that are random in training only.
var noiseLayers = map[string]bool{"Dropout": true, "AlphaDropout": true, "GaussianNoise": true, "GaussianDropout": true, "RReLU": true}

// noiseKind is a layer that is random in training and the identity (or a
// fixed function) in inference.
type noiseKind struct {
	name         string  // Dropout, AlphaDropout, GaussianNoise, GaussianDropout, RReLU
	rate         float64 // Dropout/AlphaDropout/GaussianDropout rate
	stddev       float64 // GaussianNoise
	lower, upper float64 // RReLU slope range
}

// noiseConfig reads a noise layer's numbers from its Keras config through
// layers (NoiseRate, RReLUConfig).
func noiseConfig(l *model.Layer) (noiseKind, error) {
	k := noiseKind{name: l.Kind}
	var err error
	switch l.Kind {
	case "Dropout", "AlphaDropout", "GaussianDropout":
		k.rate, err = layers.NoiseRate(l)
	case "GaussianNoise":
		k.stddev, err = layers.NoiseRate(l)
	case "RReLU":
		var s layers.RReLUSpec
		s, err = layers.RReLUConfig(l)
		k.lower, k.upper = s.Lower, s.Upper
	}
	if err != nil {
		return noiseKind{}, fmt.Errorf("finetune: %w", err)
	}
	return k, nil
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

// lowerDropout lowers ONNX Dropout: the identity in inference, in training
// (outside a Keras noise layer, which the layer lowering handles) the
// inverted dropout of its ratio attribute (opset < 12) or const input.
func lowerDropout(lw *lowerer, l *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	if !lw.o.training || noiseLayers[l.Kind] || lw.inferenceOnly(l) {
		return x, nil
	}
	rate := float64(n.AttrFloat("ratio", 0.5))
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		r, ok := lw.constFloat(n.Inputs[1])
		if !ok {
			return nil, fmt.Errorf("ratio %q is not a float const", n.Inputs[1])
		}
		rate = r
	}
	return noise(noiseKind{name: "Dropout", rate: rate}, x, lw.o.rng)
}
