package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// ReshapeSpec is a Keras Reshape layer.
type ReshapeSpec struct {
	Common
	TargetShape []int // without the batch dim; at most one -1
}

// Reshape returns ONNX Reshape with shape [0, target...]: 0 copies the batch
// dim (allowzero=0), -1 is inferred as in Keras.
func Reshape(s ReshapeSpec) (*model.Layer, error) {
	b, err := s.builder("Reshape", 1)
	if err != nil {
		return nil, err
	}
	shape := []int64{0}
	unknown := 0
	for _, d := range s.TargetShape {
		if d == -1 {
			unknown++
		} else if d <= 0 {
			return nil, fmt.Errorf("layers: layer %q: Reshape target_shape %v has a bad dim %d", s.Name, s.TargetShape, d)
		}
		shape = append(shape, int64(d))
	}
	if unknown > 1 {
		return nil, fmt.Errorf("layers: layer %q: Reshape target_shape %v has more than one -1", s.Name, s.TargetShape)
	}
	sh := b.constInts("shape", shape...)
	return s.done(b, b.node("Reshape", []string{s.Inputs[0], sh}, nil), s.config), nil
}

// config writes a Reshape config.
func (s ReshapeSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("target_shape", intList(s.TargetShape))
}
