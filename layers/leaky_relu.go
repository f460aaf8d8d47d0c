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
