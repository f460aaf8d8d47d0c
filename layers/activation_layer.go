package layers

import (
	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// ActivationSpec is a Keras Activation layer.
type ActivationSpec struct {
	Common
	// Activation is a name of Activations() (see KerasActivation).
	Activation string
}

// Activation returns the layer y = act(x).
func Activation(s ActivationSpec) (*model.Layer, error) {
	b, err := s.builder("Activation", 1)
	if err != nil {
		return nil, err
	}
	y, err := b.activation(s.Activation, s.Inputs[0])
	if err != nil {
		return nil, err
	}
	return s.done(b, y, s.config), nil
}

// config writes an Activation config.
func (s ActivationSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("activation", activationName(s.Activation))
}

func readActivation(c *kctx) (*model.Layer, []int, error) {
	act, err := c.activation("activation")
	if err != nil {
		return nil, nil, err
	}
	l, err := Activation(ActivationSpec{Common: c.common(), Activation: act})
	return l, sameShape(c), err
}
