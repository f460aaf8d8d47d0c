package layers

import (
	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// ELUSpec is a Keras ELU layer.
type ELUSpec struct {
	Common
	Alpha float32 // Keras default 1.0
}

// ELU returns the layer Elu(x, alpha).
func ELU(s ELUSpec) (*model.Layer, error) {
	b, err := s.builder("ELU", 1)
	if err != nil {
		return nil, err
	}
	return s.done(b, b.node("Elu", []string{s.Inputs[0]}, map[string]model.Attr{"alpha": model.Float(s.Alpha)}), s.config), nil
}

// config writes an ELU config.
func (s ELUSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("alpha", f32(s.Alpha))
}

func readElu(c *kctx) (*model.Layer, []int, error) {
	a, err := c.float("alpha", 1)
	if err != nil {
		return nil, nil, err
	}
	l, err := ELU(ELUSpec{Common: c.common(), Alpha: float32(a)})
	return l, sameShape(c), err
}
