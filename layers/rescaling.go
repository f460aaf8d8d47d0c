package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// RescalingSpec is a Keras Rescaling layer: y = x * scale + offset.
type RescalingSpec struct {
	Common
	// Scale and Offset hold one value, or one per channel (last axis), as
	// Keras accepts a float or a list.
	Scale, Offset []float32
}

// Rescaling returns Mul by the scale const then Add of the offset const
// (skipped when the offset is zero), broadcasting over the last axis.
func Rescaling(s RescalingSpec) (*model.Layer, error) {
	b, err := s.builder("Rescaling", 1)
	if err != nil {
		return nil, err
	}
	if len(s.Scale) == 0 {
		return nil, fmt.Errorf("layers: layer %q: Rescaling needs a scale", s.Name)
	}
	shape := func(v []float32) []int {
		if len(v) == 1 {
			return []int{}
		}
		return []int{len(v)}
	}
	y := b.node("Mul", []string{s.Inputs[0], b.constFloats("scale", shape(s.Scale), s.Scale)}, nil)
	zero := true
	for _, v := range s.Offset {
		zero = zero && v == 0
	}
	if !zero {
		y = b.node("Add", []string{y, b.constFloats("offset", shape(s.Offset), s.Offset)}, nil)
	}
	return s.done(b, y, s.config), nil
}

// config writes a Rescaling config: scale and offset as one float each, or
// as lists (one value per channel).
func (s RescalingSpec) config() *pyjson.Obj {
	v := func(x []float32) any {
		if len(x) == 0 {
			return f32(0)
		}
		if len(x) == 1 {
			return f32(x[0])
		}
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = f32(f)
		}
		return out
	}
	return baseConfig(s.Name, s.Trainable).Set("scale", v(s.Scale)).Set("offset", v(s.Offset))
}

func readRescaling(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	scale, err := c.floatsOrOne("scale", 1)
	if err != nil {
		return nil, nil, err
	}
	offset, err := c.floatsOrOne("offset", 0)
	if err != nil {
		return nil, nil, err
	}
	for key, v := range map[string][]float32{"scale": scale, "offset": offset} {
		if len(v) > 1 && len(v) != in[len(in)-1] {
			return nil, nil, c.errf(key, "%d values for %d channels", len(v), in[len(in)-1])
		}
	}
	l, err := Rescaling(RescalingSpec{Common: c.common(), Scale: scale, Offset: offset})
	return l, sameShape(c), err
}
