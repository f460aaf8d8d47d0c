package layers

import (
	"encoding/json"
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

func readReshape(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	var target []int
	if err := json.Unmarshal(c.cfg["target_shape"], &target); err != nil || len(target) == 0 || len(target) > 8 {
		return nil, nil, c.errf("target_shape", "want a list of 1 to 8 dims, got %s", clip(c.cfg["target_shape"]))
	}
	l, err := Reshape(ReshapeSpec{Common: c.common(), TargetShape: target})
	if err != nil {
		return nil, nil, err
	}
	out := append([]int{-1}, target...)
	if n := model.NumElements(in[1:]); n > 0 {
		known, unknown := 1, -1
		for i, d := range target {
			if d == -1 {
				unknown = i
			} else {
				known *= d
			}
		}
		switch {
		case unknown >= 0 && n%known == 0:
			out[unknown+1] = n / known
		case unknown < 0 && known != n:
			return nil, nil, c.errf("target_shape", "%v holds %d values, the input %v holds %d", target, known, in, n)
		}
	}
	return l, out, nil
}
