package layers

import (
	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// SoftmaxSpec is a Keras Softmax layer.
type SoftmaxSpec struct {
	Common
	Axis int // Keras default -1
}

// Softmax returns the layer Softmax(x, axis). Opset 13+ Softmax normalises
// along the one axis, as Keras does.
func Softmax(s SoftmaxSpec) (*model.Layer, error) {
	b, err := s.builder("Softmax", 1)
	if err != nil {
		return nil, err
	}
	return s.done(b, b.node("Softmax", []string{s.Inputs[0]}, map[string]model.Attr{"axis": model.Int(int64(s.Axis))}), s.config), nil
}

// config writes a Softmax config.
func (s SoftmaxSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("axis", s.Axis)
}

func readSoftmax(c *kctx) (*model.Layer, []int, error) {
	axis, err := c.int("axis", -1)
	if err != nil {
		return nil, nil, err
	}
	l, err := Softmax(SoftmaxSpec{Common: c.common(), Axis: axis})
	return l, sameShape(c), err
}
