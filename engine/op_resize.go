package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// resizeKernel is ONNX Resize and Upsample:
//
//   - Upsample 7 (scales attribute) and 9 (scales input), Resize 10 (X,
//     scales): modes nearest (floor of x/scale) and linear, asymmetric
//     coordinates;
//   - Resize 11 and 13 (X, roi, scales, sizes): modes nearest, linear
//     and cubic (cubic_coeff_a, exclude_outside), every
//     coordinate_transformation_mode (half_pixel, pytorch_half_pixel,
//     align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize
//     with roi and extrapolation_value) and nearest_mode.
//
// The interpolation is separable: each resized axis is one pass in which
// every output index reads up to four input indices with weights, as ONNX's
// reference implementation computes them (neighbours clamped to the edge;
// exclude_outside drops and renormalises those outside). Integer data is
// interpolated in float32 and converted back.
func resizeKernel(version int) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		mode := s.node.AttrString("mode", "nearest")
		coord := "asymmetric"
		nearest := "floor"
		if version >= 11 {
			coord = s.node.AttrString("coordinate_transformation_mode", "half_pixel")
			nearest = s.node.AttrString("nearest_mode", "round_prefer_floor")
		}
		var scales []float32
		var sizes []int64
		var roi []float32
		switch {
		case version == 7:
			scales = s.node.AttrFloats("scales", nil)
		case version < 11:
			t, err := s.need(1)
			if err != nil {
				return err
			}
			scales = t.F32
		default:
			if t := s.opt(1); t != nil && len(t.F32) > 0 {
				roi = t.F32
			}
			if t := s.opt(2); t != nil {
				scales = t.F32
			}
			if t := s.opt(3); t != nil && len(t.I64) > 0 {
				sizes = t.I64
			}
			if len(scales) > 0 && len(sizes) > 0 {
				return fmt.Errorf("both scales and sizes are given")
			}
		}
		out, scale, err := model.ResizeSizes(x.Shape, scales, sizes)
		if err != nil {
			return err
		}
		if roi != nil && len(roi) != 2*r {
			return fmt.Errorf("roi %v needs %d values for rank %d", roi, 2*r, r)
		}
		cubicA := float64(s.node.AttrFloat("cubic_coeff_a", -0.75))
		exclude := s.node.AttrInt("exclude_outside", 0) != 0
		extrap := s.node.AttrFloat("extrapolation_value", 0)
		taps := map[string]int{"nearest": 2, "linear": 2, "cubic": 4}[mode]
		if taps == 0 || mode == "cubic" && version < 11 {
			return fmt.Errorf("%w: Resize mode %q (supported: nearest, linear and, from opset 11, cubic)", model.ErrUnsupported, mode)
		}
		switch nearest {
		case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
		default:
			return fmt.Errorf("%w: nearest_mode %q", model.ErrUnsupported, nearest)
		}
		cur := x
		if isInt(x) {
			cur = model.Convert(x, model.Float32)
		}
		data, shape := cur.F32, x.Shape
		for ax := range r {
			if out[ax] == shape[ax] && scale[ax] == 1 && coord != "tf_crop_and_resize" {
				continue // the identity in every transform but tf_crop_and_resize
			}
			var lo, hi float64
			if roi != nil {
				lo, hi = float64(roi[ax]), float64(roi[ax+r])
			}
			w, err := resizeWeights(shape[ax], out[ax], scale[ax], coord, mode, nearest, taps, cubicA, exclude, lo, hi)
			if err != nil {
				return err
			}
			next := make([]int, r)
			copy(next, shape)
			next[ax] = out[ax]
			dst := make([]float32, allocNumel(next, 4))
			resizeAxis(dst, data, numel(shape[:ax]), shape[ax], out[ax], numel(shape[ax+1:]), w, taps, extrap)
			data, shape = dst, next
		}
		setLike(s.out[0], x, out)
		if isInt(x) {
			model.ConvertInto(s.out[0], &model.Tensor{DType: model.Float32, Shape: out, F32: data})
		} else {
			copy(s.out[0].F32, data)
		}
		return nil
	}
}

// tapWeights are, per output index, the input indices read (clamped to the
// axis) and their weights; outside marks an index whose source coordinate
// lies outside the roi (tf_crop_and_resize), which gets the extrapolation
// value.
type tapWeights struct {
	idx     []int
	w       []float32
	outside []bool
}

// resizeWeights computes the taps of one axis from in to out elements, as
// ONNX's reference (onnx/reference/ops/op_resize.py) does for one output
// coordinate x: the source coordinate x_ori by the transform, then, with
// base = ceil(x_ori)-1 and ratio = x_ori-base in (0, 1], the neighbours
// base, base+1 (nearest, linear) or base-1..base+2 (cubic).
func resizeWeights(in, out int, scale float64, coord, mode, nearest string, taps int, cubicA float64, exclude bool, roiLo, roiHi float64) (tapWeights, error) {
	tw := tapWeights{idx: make([]int, out*taps), w: make([]float32, out*taps), outside: make([]bool, out)}
	// The reference uses the float output length scale*in for
	// align_corners and tf_crop_and_resize.
	outF := scale * float64(in)
	for x := range out {
		xf := float64(x)
		var xo float64
		switch coord {
		case "half_pixel":
			xo = (xf+0.5)/scale - 0.5
		case "pytorch_half_pixel":
			xo = -0.5
			if outF > 1 {
				xo = (xf+0.5)/scale - 0.5
			}
		case "align_corners":
			if outF != 1 {
				xo = xf * float64(in-1) / (outF - 1)
			}
		case "asymmetric":
			xo = xf / scale
		case "tf_half_pixel_for_nn":
			xo = (xf + 0.5) / scale
		case "tf_crop_and_resize":
			if outF == 1 {
				xo = (roiHi - roiLo) * float64(in-1) / 2
			} else {
				xo = xf * (roiHi - roiLo) * float64(in-1) / (outF - 1)
			}
			xo += roiLo * float64(in-1)
			if xo < 0 || xo > float64(in-1) {
				tw.outside[x] = true
				continue
			}
		default:
			return tw, fmt.Errorf("%w: coordinate_transformation_mode %q", model.ErrUnsupported, coord)
		}
		base := math.Ceil(xo) - 1
		ratio := xo - base
		var c [4]float64
		switch mode {
		case "nearest":
			up := false
			if ratio == 1 {
				up = true
			} else {
				switch nearest {
				case "round_prefer_floor":
					up = ratio > 0.5
				case "round_prefer_ceil":
					up = ratio >= 0.5
				case "floor":
				case "ceil":
					up = true
				}
			}
			if up {
				c[1] = 1
			} else {
				c[0] = 1
			}
		case "linear":
			c[0], c[1] = 1-ratio, ratio
		case "cubic":
			a := cubicA
			r1, r2 := ratio+1, 2-ratio
			c[0] = ((a*r1-5*a)*r1+8*a)*r1 - 4*a
			c[1] = ((a+2)*ratio-(a+3))*ratio*ratio + 1
			c[2] = ((a+2)*(1-ratio)-(a+3))*(1-ratio)*(1-ratio) + 1
			c[3] = ((a*r2-5*a)*r2+8*a)*r2 - 4*a
			base--
		}
		first := int(base)
		if exclude {
			sum := 0.0
			for t := range taps {
				if i := first + t; i < 0 || i >= in {
					c[t] = 0
				}
				sum += c[t]
			}
			if sum != 0 {
				for t := range taps {
					c[t] /= sum
				}
			}
		}
		for t := range taps {
			tw.idx[x*taps+t] = min(max(first+t, 0), in-1)
			tw.w[x*taps+t] = float32(c[t])
		}
	}
	return tw, nil
}

// resizeAxis resizes the middle axis of src [outer, in, inner] into dst
// [outer, out, inner] with the taps of tw.
func resizeAxis(dst, src []float32, outer, in, out, inner int, tw tapWeights, taps int, extrap float32) {
	for o := range outer {
		s := src[o*in*inner : (o+1)*in*inner]
		for x := range out {
			d := dst[(o*out+x)*inner : (o*out+x+1)*inner]
			if tw.outside[x] {
				for i := range d {
					d[i] = extrap
				}
				continue
			}
			clear(d)
			for t := range taps {
				w := tw.w[x*taps+t]
				if w == 0 {
					continue
				}
				row := s[tw.idx[x*taps+t]*inner:]
				for i := range d {
					d[i] += w * row[i]
				}
			}
		}
	}
}
