package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// BatchNormSpec is a Keras BatchNormalization layer normalising the last
// (channels) axis.
type BatchNormSpec struct {
	Common
	Rank     int // rank of the input, batch included (2 after Dense, 4 after Conv2D)
	Channels int
	Epsilon  float32 // Keras default 1e-3
	Momentum float32 // Keras default 0.99; ONNX momentum has the same meaning
	// Center and Scale say whether beta and gamma exist (Keras center/scale).
	Center, Scale bool
	// Gamma, Beta, MovingMean, MovingVariance are [Channels]; nil gives
	// Keras's initial values (ones, zeros, zeros, ones).
	Gamma, Beta, MovingMean, MovingVariance []float32
	// Inits for gamma, beta, moving_mean, moving_variance (nil: Keras's).
	GammaInit, BetaInit, MeanInit, VarianceInit *model.Initializer
}

// BatchNormalization returns the layer as one ONNX BatchNormalization (which
// normalises axis 1): for rank > 2 the channels-last input is transposed to
// channels-first and back. Params gamma and beta are trainable; moving_mean
// and moving_variance are State. Without center (scale), beta (gamma) is a
// const of zeros (ones), as Keras computes.
func BatchNormalization(s BatchNormSpec) (*model.Layer, error) {
	b, err := s.builder("BatchNormalization", 1)
	if err != nil {
		return nil, err
	}
	if s.Rank < 2 || s.Channels <= 0 {
		return nil, fmt.Errorf("layers: layer %q: BatchNormalization needs rank >= 2 and channels > 0, got rank %d, channels %d", s.Name, s.Rank, s.Channels)
	}
	c := []int{s.Channels}
	ones := func() []float32 {
		v := make([]float32, s.Channels)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	var gamma, beta string
	if s.Scale {
		g := s.Gamma
		if g == nil {
			g = ones()
		}
		if gamma, err = b.param("gamma", c, g, orInit(s.GammaInit, "ones"), false); err != nil {
			return nil, err
		}
	} else {
		gamma = b.constFloats("gamma_const", c, ones())
	}
	if s.Center {
		if beta, err = b.param("beta", c, s.Beta, orInit(s.BetaInit, "zeros"), false); err != nil {
			return nil, err
		}
	} else {
		beta = b.constFloats("beta_const", c, make([]float32, s.Channels))
	}
	mean, err := b.param("moving_mean", c, s.MovingMean, orInit(s.MeanInit, "zeros"), true)
	if err != nil {
		return nil, err
	}
	v := s.MovingVariance
	if v == nil {
		v = ones()
	}
	variance, err := b.param("moving_variance", c, v, orInit(s.VarianceInit, "ones"), true)
	if err != nil {
		return nil, err
	}
	x := s.Inputs[0]
	if s.Rank > 2 {
		x = b.transposeChannelsFirst(x, s.Rank)
	}
	y := b.node("BatchNormalization", []string{x, gamma, beta, mean, variance},
		map[string]model.Attr{"epsilon": model.Float(s.Epsilon), "momentum": model.Float(s.Momentum)})
	if s.Rank > 2 {
		y = b.transposeChannelsLast(y, s.Rank)
	}
	return s.done(b, y, s.config), nil
}

// config writes a BatchNormalization config (tf.keras 2.13's, axis as a
// one-element list).
func (s BatchNormSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("axis", []any{s.Rank - 1}).Set("momentum", f32(s.Momentum)).
		Set("epsilon", f32(s.Epsilon)).Set("center", s.Center).Set("scale", s.Scale).
		Set("beta_initializer", initConfig(s.BetaInit, "zeros")).Set("gamma_initializer", initConfig(s.GammaInit, "ones")).
		Set("moving_mean_initializer", initConfig(s.MeanInit, "zeros")).Set("moving_variance_initializer", initConfig(s.VarianceInit, "ones")).
		Set("beta_regularizer", nil).Set("gamma_regularizer", nil).Set("beta_constraint", nil).Set("gamma_constraint", nil)
}

// BatchNormOptions is what a BatchNormalization layer's Keras config says
// of it, as written.
type BatchNormOptions struct {
	// Axes are the normalised axes as the config names them (negative from
	// the end): Keras's default [-1]; Keras 3 writes an int, tf.keras 2 a
	// list.
	Axes []int
	// Epsilon and Momentum are Python floats (Keras defaults 1e-3, 0.99):
	// Keras computes 1 - momentum from the float as written, while the
	// layer's ONNX node holds both as float32 attributes.
	Epsilon, Momentum float64
	// Center and Scale say whether beta and gamma exist (default true).
	Center, Scale bool
}

// BatchNormConfig returns what BatchNormalization layer l's Keras config
// says (every setting at Keras's default without a config). A bad value is
// a *ConfigError naming the layer.
func BatchNormConfig(l *model.Layer) (BatchNormOptions, error) {
	if l.Kind != "BatchNormalization" {
		return BatchNormOptions{}, fmt.Errorf("layers: layer %q: %q is not BatchNormalization", l.Name, l.Kind)
	}
	c, err := layerKctx(l)
	if err != nil {
		return BatchNormOptions{}, err
	}
	return c.bnOptions()
}

func (c *kctx) bnOptions() (BatchNormOptions, error) {
	var o BatchNormOptions
	var err error
	if o.Axes, err = c.intList("axis", []int{-1}); err != nil {
		return o, err
	}
	if o.Epsilon, err = c.float("epsilon", 1e-3); err != nil {
		return o, err
	}
	if o.Momentum, err = c.float("momentum", 0.99); err != nil {
		return o, err
	}
	if o.Center, err = c.bool("center", true); err != nil {
		return o, err
	}
	if o.Scale, err = c.bool("scale", true); err != nil {
		return o, err
	}
	return o, nil
}

func readBatchNorm(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	r := len(in)
	o, err := c.bnOptions()
	if err != nil {
		return nil, nil, err
	}
	if len(o.Axes) != 1 {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (BatchNormalization): axes %v of a rank-%d input (only the last, channels-last axis is supported)", model.ErrUnsupported, c.Name, o.Axes, r)
	}
	axis := o.Axes[0]
	if axis < 0 {
		axis += r
	}
	if axis != r-1 {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (BatchNormalization): axis %d of a rank-%d input (only the last, channels-last axis is supported)", model.ErrUnsupported, c.Name, axis, r)
	}
	s := BatchNormSpec{Common: c.common(), Rank: r, Channels: in[r-1], Epsilon: float32(o.Epsilon), Momentum: float32(o.Momentum), Center: o.Center, Scale: o.Scale}
	for _, p := range []struct {
		key string
		dst **model.Initializer
	}{{"gamma_initializer", &s.GammaInit}, {"beta_initializer", &s.BetaInit}, {"moving_mean_initializer", &s.MeanInit}, {"moving_variance_initializer", &s.VarianceInit}} {
		if *p.dst, err = c.init(p.key); err != nil {
			return nil, nil, err
		}
	}
	ch := []int{s.Channels}
	if s.Scale {
		if s.Gamma, ch, err = c.take("gamma", ch); err != nil {
			return nil, nil, err
		}
	}
	if s.Center {
		if s.Beta, ch, err = c.take("beta", ch); err != nil {
			return nil, nil, err
		}
	}
	if s.MovingMean, ch, err = c.take("moving_mean", ch); err != nil {
		return nil, nil, err
	}
	if s.MovingVariance, _, err = c.take("moving_variance", ch); err != nil {
		return nil, nil, err
	}
	s.Channels = ch[0]
	l, err := BatchNormalization(s)
	return l, sameShape(c), err
}
