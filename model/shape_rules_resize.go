package model

import (
	"fmt"
	"math"
)

// ResizeSizes resolves the output dims of Resize (or Upsample) on an input
// of shape in: sizes when given, else floor(in*scale) per axis (as ONNX's
// reference computes it), and returns the scale each axis uses in its
// coordinate transform (sizes/in when sizes are given). Unknown input dims
// give unknown output dims.
func ResizeSizes(in []int, scales []float32, sizes []int64) (out []int, scale []float64, err error) {
	r := len(in)
	out, scale = make([]int, r), make([]float64, r)
	switch {
	case len(sizes) > 0:
		if len(sizes) != r {
			return nil, nil, fmt.Errorf("sizes %v do not fit rank %d", sizes, r)
		}
		for i, s := range sizes {
			if s < 0 || s > 1<<31 {
				return nil, nil, fmt.Errorf("sizes %v: %d is not a size", sizes, s)
			}
			out[i] = int(s)
			scale[i] = -1
			if in[i] > 0 {
				scale[i] = float64(s) / float64(in[i])
			}
		}
	case len(scales) > 0:
		if len(scales) != r {
			return nil, nil, fmt.Errorf("scales %v do not fit rank %d", scales, r)
		}
		for i, s := range scales {
			if !(s > 0) || math.IsInf(float64(s), 0) {
				return nil, nil, fmt.Errorf("scales %v: %v is not a positive scale", scales, s)
			}
			scale[i] = float64(s)
			out[i] = -1
			if in[i] >= 0 {
				o := math.Floor(float64(in[i]) * float64(s))
				if o > 1<<31 {
					return nil, nil, fmt.Errorf("scales %v make dim %d of %v too large", scales, i, in)
				}
				out[i] = int(o)
			}
		}
	default:
		return nil, nil, fmt.Errorf("neither scales nor sizes is given")
	}
	return out, scale, nil
}

// resizeShape is Resize (opset 10: X, scales; 11+: X, roi, scales, sizes)
// and Upsample (opset 7: scales attribute; 9: scales input).
func resizeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	unknown := func() ([]*Value, error) { return unknownDims(x.DType, r) }
	var scales []float32
	var sizes []int64
	scaleIn, sizeIn := 1, -1
	switch {
	case c.node.Op == "Upsample" && c.opsetOf() < 9:
		scales = c.node.AttrFloats("scales", nil)
		scaleIn = -1
	case c.node.Op == "Resize" && c.opsetOf() >= 11:
		scaleIn, sizeIn = 2, 3
	}
	if scaleIn >= 0 {
		if v := c.in(scaleIn); v != nil && !(len(v.Shape) == 1 && v.Shape[0] == 0) {
			t, ok := c.constTensor(scaleIn)
			if !ok {
				return unknown()
			}
			if !t.DType.IsFloat() {
				return nil, fmt.Errorf("scales must be float, got %v", t.DType)
			}
			scales = t.F32
		}
	}
	if sizeIn >= 0 && c.in(sizeIn) != nil {
		v := c.in(sizeIn)
		if len(v.Shape) == 1 && v.Shape[0] == 0 {
			// an empty sizes input: scales decide
		} else if s, ok := c.constInts(sizeIn); ok {
			sizes = s
		} else {
			return unknown()
		}
	}
	if len(scales) > 0 && len(sizes) > 0 {
		return nil, fmt.Errorf("both scales and sizes are given")
	}
	out, _, err := ResizeSizes(x.Shape, scales, sizes)
	if err != nil {
		return nil, err
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}
