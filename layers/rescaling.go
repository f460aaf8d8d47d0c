package layers

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// RescalingSpec is a Keras Rescaling layer: y = x * scale + offset.
type RescalingSpec struct {
	Common
	// Scale and Offset hold one value, or one per channel (last axis), as
	// Keras accepts a float or a list.
	Scale, Offset []float32
	// OffsetShape, when set, is the shape of Offset as a nested list that
	// broadcasts against the input's trailing axes (a ViT's position
	// embedding [tokens, features]); Keras adds it as an array.
	OffsetShape []int
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
	oshape := shape(s.Offset)
	if s.OffsetShape != nil {
		if model.NumElements(s.OffsetShape) != len(s.Offset) {
			return nil, fmt.Errorf("layers: layer %q: Rescaling offset of shape %v needs %d values, got %d", s.Name, s.OffsetShape, model.NumElements(s.OffsetShape), len(s.Offset))
		}
		oshape = s.OffsetShape
	}
	if !zero {
		y = b.node("Add", []string{y, b.constFloats("offset", oshape, s.Offset)}, nil)
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
	offset := v(s.Offset)
	if len(s.OffsetShape) > 1 {
		offset = nested(s.Offset, s.OffsetShape)
	}
	return baseConfig(s.Name, s.Trainable).Set("scale", v(s.Scale)).Set("offset", offset)
}

// nested renders data of shape as nested lists.
func nested(data []float32, shape []int) any {
	if len(shape) == 0 {
		return f32(data[0])
	}
	n := len(data) / max(shape[0], 1)
	out := make([]any, shape[0])
	for i := range out {
		out[i] = nested(data[i*n:(i+1)*n], shape[1:])
	}
	return out
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
	var offset []float32
	var oshape []int
	if raw := c.cfg["offset"]; c.has("offset") && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[[")) {
		// An array offset (nested lists) broadcast against the input's
		// trailing axes.
		if err := FlattenNumbers(raw, 0, &offset, &oshape); err != nil || len(offset) == 0 {
			return nil, nil, c.errf("offset", "want a number or a rectangular nested list of numbers, got %s", clip(raw))
		}
		if len(oshape) >= len(in) || slices.ContainsFunc(oshape, func(d int) bool { return d <= 0 }) {
			return nil, nil, c.errf("offset", "array of shape %v does not broadcast against input %v", oshape, in)
		}
		for i, d := range oshape {
			if a := in[len(in)-len(oshape)+i]; d != 1 && d != a {
				return nil, nil, c.errf("offset", "array of shape %v does not broadcast against input %v", oshape, in)
			}
		}
	} else if offset, err = c.floatsOrOne("offset", 0); err != nil {
		return nil, nil, err
	}
	for key, v := range map[string][]float32{"scale": scale, "offset": offset} {
		if (oshape == nil || key == "scale") && len(v) > 1 && len(v) != in[len(in)-1] {
			return nil, nil, c.errf(key, "%d values for %d channels", len(v), in[len(in)-1])
		}
	}
	l, err := Rescaling(RescalingSpec{Common: c.common(), Scale: scale, Offset: offset, OffsetShape: oshape})
	return l, sameShape(c), err
}
