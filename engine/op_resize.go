package engine

import (
	"fmt"

	"github.com/xferml/xfer/internal/kernels"
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
			w, err := kernels.ResizeWeights(shape[ax], out[ax], scale[ax], coord, mode, nearest, taps, cubicA, exclude, lo, hi)
			if err != nil {
				return err
			}
			next := make([]int, r)
			copy(next, shape)
			next[ax] = out[ax]
			dst := make([]float32, allocNumel(next, 4))
			kernels.ResizeAxis(dst, data, numel(shape[:ax]), shape[ax], out[ax], numel(shape[ax+1:]), w, taps, extrap)
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
