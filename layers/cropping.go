package layers

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// CroppingSpec is a Keras Cropping1D or Cropping2D layer on channels-last
// data.
type CroppingSpec struct {
	Common
	// Cropping holds (before, after) per spatial dim: [[l, r]] for 1D,
	// [[top, bottom], [left, right]] for 2D.
	Cropping [][2]int
}

// Cropping returns one ONNX Slice over the spatial axes 1..n: starts are
// the before-crops, ends minus the after-crops (counted from the end, so
// the layer works on any input size; no after-crop slices to the end).
func Cropping(s CroppingSpec) (*model.Layer, error) {
	n := len(s.Cropping)
	b, err := s.builder(fmt.Sprintf("Cropping%dD", n), 1)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 3 {
		return nil, fmt.Errorf("layers: layer %q: cropping over %d dims is not supported", s.Name, n)
	}
	var starts, ends, axes []int64
	for i, c := range s.Cropping {
		if c[0] < 0 || c[1] < 0 {
			return nil, fmt.Errorf("layers: layer %q: negative cropping %v", s.Name, s.Cropping)
		}
		end := int64(-c[1])
		if c[1] == 0 {
			end = math.MaxInt64
		}
		starts, ends, axes = append(starts, int64(c[0])), append(ends, end), append(axes, int64(i+1))
	}
	y := b.node("Slice", []string{s.Inputs[0], b.constInts("starts", starts...), b.constInts("ends", ends...), b.constInts("axes", axes...)}, nil)
	return s.done(b, y), nil
}
