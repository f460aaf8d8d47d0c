package layers

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// LayerNormSpec is a Keras LayerNormalization layer.
type LayerNormSpec struct {
	Common
	Rank int // input rank, batch included
	// Axis lists the normalized axes, non-negative and sorted; Shape their
	// sizes (the shape of gamma and beta).
	Axis, Shape   []int
	Epsilon       float32 // Keras default 1e-3
	Center, Scale bool
	// Gamma and Beta have Shape; nil gives ones and zeros.
	Gamma, Beta         []float32
	GammaInit, BetaInit *model.Initializer
}

// LayerNormalization returns the layer: over the normalized axes, mean and
// variance E[(x-mean)^2] (ReduceMean, keepdims), then
// (x - mean) * gamma / sqrt(variance + epsilon) + beta, which is Keras's
// computation (keras/src/ops/nn.py _layer_normalization; tf.keras 2's
// tf.nn.batch_normalization) up to float rounding. Built from opset-13
// ops; gamma and beta are reshaped to broadcast unless the only axis is the
// last.
func LayerNormalization(s LayerNormSpec) (*model.Layer, error) {
	b, err := s.builder("LayerNormalization", 1)
	if err != nil {
		return nil, err
	}
	if len(s.Axis) == 0 || len(s.Axis) != len(s.Shape) {
		return nil, fmt.Errorf("layers: layer %q: LayerNormalization axes %v do not match shape %v", s.Name, s.Axis, s.Shape)
	}
	bshape := make([]int64, s.Rank)
	for i := range bshape {
		bshape[i] = 1
	}
	axes := make([]int64, len(s.Axis))
	for i, a := range s.Axis {
		if a <= 0 || a >= s.Rank || (i > 0 && a <= s.Axis[i-1]) || s.Shape[i] <= 0 {
			return nil, fmt.Errorf("layers: layer %q: LayerNormalization axis %v must be sorted, distinct, in [1, %d) with known sizes %v", s.Name, s.Axis, s.Rank, s.Shape)
		}
		axes[i], bshape[a] = int64(a), int64(s.Shape[i])
	}
	n := model.NumElements(s.Shape)
	reduce := map[string]model.Attr{"axes": model.Ints(axes...), "keepdims": model.Int(1)}
	x := s.Inputs[0]
	mean := b.node("ReduceMean", []string{x}, reduce)
	d := b.node("Sub", []string{x, mean}, nil)
	variance := b.node("ReduceMean", []string{b.node("Mul", []string{d, d}, nil)}, reduce)
	inv := b.node("Reciprocal", []string{b.node("Sqrt", []string{b.node("Add", []string{variance, b.constScalar("epsilon", s.Epsilon)}, nil)}, nil)}, nil)
	last := len(s.Axis) == 1 && s.Axis[0] == s.Rank-1
	broadcast := func(v string) string {
		if last {
			return v
		}
		return b.node("Reshape", []string{v, b.constInts("broadcast_shape", bshape...)}, nil)
	}
	if s.Scale {
		g := s.Gamma
		if g == nil {
			g = make([]float32, n)
			for i := range g {
				g[i] = 1
			}
		}
		gamma, err := b.param("gamma", s.Shape, g, orInit(s.GammaInit, "ones"), false)
		if err != nil {
			return nil, err
		}
		inv = b.node("Mul", []string{inv, broadcast(gamma)}, nil)
	}
	y := b.node("Mul", []string{d, inv}, nil)
	if s.Center {
		beta, err := b.param("beta", s.Shape, s.Beta, orInit(s.BetaInit, "zeros"), false)
		if err != nil {
			return nil, err
		}
		y = b.node("Add", []string{y, broadcast(beta)}, nil)
	}
	return s.done(b, y, s.config), nil
}

// config writes a LayerNormalization config (tf.keras 2.13's keys, axis as
// a list; Keras 3 adds rms_scaling, default False, which tf.keras 2
// refuses).
func (s LayerNormSpec) config() *pyjson.Obj {
	axes := make([]any, len(s.Axis))
	for i, a := range s.Axis {
		axes[i] = a
	}
	return baseConfig(s.Name, s.Trainable).Set("axis", axes).Set("epsilon", f32(s.Epsilon)).
		Set("center", s.Center).Set("scale", s.Scale).
		Set("beta_initializer", initConfig(s.BetaInit, "zeros")).Set("gamma_initializer", initConfig(s.GammaInit, "ones")).
		Set("beta_regularizer", nil).Set("gamma_regularizer", nil).Set("beta_constraint", nil).Set("gamma_constraint", nil)
}

// readLayerNorm reads LayerNormalization: axis an int or a list; weights gamma
// then beta, each of the normalized axes' shape, as center and scale say.
func readLayerNorm(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	r := len(in)
	s := LayerNormSpec{Common: c.common(), Rank: r}
	var axes []int
	raw := c.cfg["axis"]
	var one int
	switch {
	case !c.has("axis"):
		axes = []int{-1}
	case json.Unmarshal(raw, &one) == nil:
		axes = []int{one}
	case json.Unmarshal(raw, &axes) == nil && len(axes) > 0:
	default:
		return nil, nil, c.errf("axis", "want an integer or a list of integers, got %s", clip(raw))
	}
	for _, a := range axes {
		if a < -r || a >= r {
			return nil, nil, c.errf("axis", "%d out of range for an input of rank %d", a, r)
		}
		if a < 0 {
			a += r
		}
		if a == 0 || in[a] <= 0 {
			return nil, nil, c.errf("axis", "axis %d of input %v is the batch or unknown", a, in)
		}
		if !slices.Contains(s.Axis, a) {
			s.Axis = append(s.Axis, a)
		}
	}
	slices.Sort(s.Axis)
	for _, a := range s.Axis {
		s.Shape = append(s.Shape, in[a])
	}
	eps, err := c.float("epsilon", 1e-3)
	if err != nil {
		return nil, nil, err
	}
	s.Epsilon = float32(eps)
	if s.Center, err = c.bool("center", true); err != nil {
		return nil, nil, err
	}
	if s.Scale, err = c.bool("scale", true); err != nil {
		return nil, nil, err
	}
	if rms, err := c.bool("rms_scaling", false); err != nil || rms {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (LayerNormalization): rms_scaling=True (deprecated in Keras 3: it scales by the variance) is not supported", model.ErrUnsupported, c.Name)
	}
	if s.GammaInit, err = c.init("gamma_initializer"); err != nil {
		return nil, nil, err
	}
	if s.BetaInit, err = c.init("beta_initializer"); err != nil {
		return nil, nil, err
	}
	if s.Scale {
		if s.Gamma, _, err = c.take("gamma", s.Shape); err != nil {
			return nil, nil, err
		}
	}
	if s.Center {
		if s.Beta, _, err = c.take("beta", s.Shape); err != nil {
			return nil, nil, err
		}
	}
	l, err := LayerNormalization(s)
	return l, sameShape(c), err
}
