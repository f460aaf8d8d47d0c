package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// ConcatenateSpec is a Keras Concatenate layer.
type ConcatenateSpec struct {
	Common
	Axis int // Keras default -1; negative counts from the end, 0 is the batch
}

// Concatenate returns ONNX Concat along Axis.
func Concatenate(s ConcatenateSpec) (*model.Layer, error) {
	b, err := s.builder("Concatenate", -1)
	if err != nil {
		return nil, err
	}
	if s.Axis == 0 {
		return nil, fmt.Errorf("layers: layer %q: Concatenate along the batch axis is not supported", s.Name)
	}
	return s.done(b, b.node("Concat", s.Inputs, map[string]model.Attr{"axis": model.Int(int64(s.Axis))}), s.config), nil
}

// config writes a Concatenate config.
func (s ConcatenateSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("axis", s.Axis)
}

func readConcatenate(c *kctx) (*model.Layer, []int, error) {
	axis, err := c.int("axis", -1)
	if err != nil {
		return nil, nil, err
	}
	out := append([]int(nil), c.InShapes[0]...)
	r := len(out)
	a := axis
	if a < 0 {
		a += r
	}
	if a <= 0 || a >= r {
		return nil, nil, c.errf("axis", "%d out of range for rank %d", axis, r)
	}
	for _, s := range c.InShapes[1:] {
		if len(s) != r {
			return nil, nil, fmt.Errorf("%w: layer %q (Concatenate): inputs have ranks %d and %d", ErrKerasFormat, c.Name, r, len(s))
		}
		if out[a] < 0 || s[a] < 0 {
			out[a] = -1
		} else {
			out[a] += s[a]
		}
	}
	l, err := Concatenate(ConcatenateSpec{Common: c.common(), Axis: a})
	return l, out, err
}
