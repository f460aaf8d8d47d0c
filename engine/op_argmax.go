package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// argKernel is ArgMax (max true) or ArgMin along attribute axis (default
// 0), keepdims (default 1) and select_last_index (opset 12: the last of
// equal extremes instead of the first); int64 indices. NaN wins, as in
// numpy's argmax.
func argKernel(max bool) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		if r == 0 {
			return fmt.Errorf("input is a scalar")
		}
		axis, err := model.NormAxis(s.node.AttrInt("axis", 0), r)
		if err != nil {
			return err
		}
		dim := x.Shape[axis]
		if dim == 0 {
			return fmt.Errorf("axis %d is empty", axis)
		}
		last := s.node.AttrInt("select_last_index", 0) != 0
		outer, inner := numel(x.Shape[:axis]), numel(x.Shape[axis+1:])
		shape := append([]int{}, x.Shape[:axis]...)
		if s.node.AttrInt("keepdims", 1) != 0 {
			shape = append(shape, 1)
		}
		shape = append(shape, x.Shape[axis+1:]...)
		d := setI64(s.out[0], shape)
		better := func(v, b float64, vNaN, bNaN bool) bool {
			switch {
			case bNaN:
				return false
			case vNaN:
				return true
			case max:
				return v > b || last && v == b
			}
			return v < b || last && v == b
		}
		get := func(i int) float64 {
			if isInt(x) {
				return float64(x.I64[i])
			}
			return float64(x.F32[i])
		}
		for o := range outer {
			for in := range inner {
				base := o*dim*inner + in
				best, bi := get(base), 0
				for k := 1; k < dim; k++ {
					v := get(base + k*inner)
					if better(v, best, v != v, best != best) {
						best, bi = v, k
					}
				}
				d[o*inner+in] = int64(bi)
			}
		}
		return nil
	}
}
