package layers

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// UpSamplingSpec is a Keras UpSampling1D or UpSampling2D layer on
// channels-last data.
type UpSamplingSpec struct {
	Common
	Size []int // repeat factor per spatial dim
	// Interpolation is "nearest" (UpSampling1D always) or "bilinear".
	Interpolation string
}

// UpSampling returns one ONNX Resize (opset 13) by the integer factors:
// "nearest" repeats each element as Keras's ops.repeat does (asymmetric
// coordinates, floor), directly on the channels-last tensor; "bilinear" is
// Keras's ops.image.resize (half-pixel centres, no antialiasing when
// enlarging), run channels-first between Transposes.
func UpSampling(s UpSamplingSpec) (*model.Layer, error) {
	n := len(s.Size)
	b, err := s.builder(fmt.Sprintf("UpSampling%dD", n), 1)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 3 {
		return nil, fmt.Errorf("layers: layer %q: upsampling over %d dims is not supported", s.Name, n)
	}
	for _, f := range s.Size {
		if f <= 0 {
			return nil, fmt.Errorf("layers: layer %q: upsampling size %v must be positive", s.Name, s.Size)
		}
	}
	r := n + 2
	scales := make([]float32, r)
	for i := range scales {
		scales[i] = 1
	}
	switch s.Interpolation {
	case "nearest", "":
		for i, f := range s.Size {
			scales[1+i] = float32(f)
		}
		y := b.node("Resize", []string{s.Inputs[0], "", b.constFloats("scales", []int{r}, scales)}, map[string]model.Attr{
			"mode": model.String("nearest"), "coordinate_transformation_mode": model.String("asymmetric"), "nearest_mode": model.String("floor"),
		})
		return s.done(b, y), nil
	case "bilinear":
		for i, f := range s.Size {
			scales[2+i] = float32(f)
		}
		x := b.transposeChannelsFirst(s.Inputs[0], r)
		y := b.node("Resize", []string{x, "", b.constFloats("scales", []int{r}, scales)}, map[string]model.Attr{
			"mode": model.String("linear"), "coordinate_transformation_mode": model.String("half_pixel"),
		})
		return s.done(b, b.transposeChannelsLast(y, r)), nil
	}
	return nil, fmt.Errorf("layers: %w: layer %q: interpolation %q (supported: nearest, bilinear)", model.ErrUnsupported, s.Name, s.Interpolation)
}

// readUpSampling reads UpSampling1D (size, nearest) or UpSampling2D (size,
// interpolation nearest or bilinear).
func readUpSampling(nd int) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		s := UpSamplingSpec{Common: c.common(), Interpolation: "nearest"}
		if s.Size, err = c.ints("size", nd, []int{2, 2}[:nd]); err != nil {
			return nil, nil, err
		}
		if nd == 2 {
			if s.Interpolation, err = c.str("interpolation", "nearest"); err != nil {
				return nil, nil, err
			}
		}
		l, err := UpSampling(s)
		out := append([]int(nil), in...)
		for i, f := range s.Size {
			if out[1+i] >= 0 {
				out[1+i] *= f
			}
		}
		return l, out, err
	}
}
