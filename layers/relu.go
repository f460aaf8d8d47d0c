package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// ReLUSpec is a Keras ReLU layer.
type ReLUSpec struct {
	Common
	MaxValue      *float32 // nil: no upper bound
	NegativeSlope float32
	Threshold     float32
}

// ReLU returns the Keras ReLU layer. Keras (2.x backend.relu and 3.x
// activations.relu) computes
//
//	x * (x > threshold), clipped to [0, max_value], minus
//	negative_slope * relu(threshold - x)
//
// which lowers to ThresholdedRelu (strict >, as Keras) or Relu, Clip, and a
// Relu/Mul/Sub for the negative part; the common cases become a single Relu
// or LeakyRelu.
func ReLU(s ReLUSpec) (*model.Layer, error) {
	b, err := s.builder("ReLU", 1)
	if err != nil {
		return nil, err
	}
	if s.MaxValue != nil && *s.MaxValue < 0 {
		return nil, fmt.Errorf("layers: layer %q: ReLU max_value %v must not be negative", s.Name, *s.MaxValue)
	}
	x := s.Inputs[0]
	if s.NegativeSlope != 0 && s.MaxValue == nil && s.Threshold == 0 {
		return s.done(b, b.node("LeakyRelu", []string{x}, map[string]model.Attr{"alpha": model.Float(s.NegativeSlope)}), s.config), nil
	}
	var y string
	if s.Threshold != 0 {
		y = b.node("ThresholdedRelu", []string{x}, map[string]model.Attr{"alpha": model.Float(s.Threshold)})
	} else {
		y = b.node("Relu", []string{x}, nil)
	}
	if s.MaxValue != nil {
		y = b.clip(y, 0, *s.MaxValue)
	}
	if s.NegativeSlope != 0 {
		t := b.constScalar("threshold", s.Threshold)
		neg := b.node("Relu", []string{b.node("Sub", []string{t, x}, nil)}, nil)
		slope := b.constScalar("negative_slope", s.NegativeSlope)
		y = b.node("Sub", []string{y, b.node("Mul", []string{neg, slope}, nil)}, nil)
	}
	return s.done(b, y, s.config), nil
}

// config writes a ReLU config (max_value null when unbounded).
func (s ReLUSpec) config() *pyjson.Obj {
	var mv any
	if s.MaxValue != nil {
		mv = f32(*s.MaxValue)
	}
	return baseConfig(s.Name, s.Trainable).Set("max_value", mv).Set("negative_slope", f32(s.NegativeSlope)).Set("threshold", f32(s.Threshold))
}

func readRelu(c *kctx) (*model.Layer, []int, error) {
	s := ReLUSpec{Common: c.common()}
	if c.has("max_value") {
		v, err := c.float("max_value", 0)
		if err != nil {
			return nil, nil, err
		}
		f := float32(v)
		s.MaxValue = &f
	}
	slope, err := c.float("negative_slope", 0)
	if err != nil {
		return nil, nil, err
	}
	th, err := c.float("threshold", 0)
	if err != nil {
		return nil, nil, err
	}
	s.NegativeSlope, s.Threshold = float32(slope), float32(th)
	l, err := ReLU(s)
	return l, sameShape(c), err
}
