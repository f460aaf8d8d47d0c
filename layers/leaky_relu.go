package layers

import (
	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// LeakyReLUSpec is a Keras LeakyReLU layer.
type LeakyReLUSpec struct {
	Common
	// NegativeSlope is Keras 2's alpha / Keras 3's negative_slope; both
	// default to 0.3 in the layer (not 0.2 as the activation function).
	NegativeSlope float32
}

// LeakyReLU returns the layer LeakyRelu(x, alpha=NegativeSlope).
func LeakyReLU(s LeakyReLUSpec) (*model.Layer, error) {
	b, err := s.builder("LeakyReLU", 1)
	if err != nil {
		return nil, err
	}
	return s.done(b, b.node("LeakyRelu", []string{s.Inputs[0]}, map[string]model.Attr{"alpha": model.Float(s.NegativeSlope)}), s.config), nil
}

// config writes a LeakyReLU config (tf.keras 2's "alpha"; Keras 3's writer
// renames it negative_slope).
func (s LeakyReLUSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("alpha", f32(s.NegativeSlope))
}

// readLeakyReLU reads Keras 3's negative_slope or Keras 2's alpha; the layer's
// default is 0.3 in both (keras/src/layers/activations/leaky_relu.py,
// tf-keras layers/activation/leaky_relu.py).
func readLeakyReLU(c *kctx) (*model.Layer, []int, error) {
	key := "alpha"
	if c.has("negative_slope") {
		key = "negative_slope"
	}
	v, err := c.float(key, 0.3)
	if err != nil {
		return nil, nil, err
	}
	l, err := LeakyReLU(LeakyReLUSpec{Common: c.common(), NegativeSlope: float32(v)})
	return l, sameShape(c), err
}
