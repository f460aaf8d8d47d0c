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
