package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// modKernel is Mod with broadcasting: fmod=0 (integers only) takes the
// divisor's sign, as Python's %; fmod=1 the dividend's, as C's fmod.
// Division by zero is an error for integers and NaN for floats.
func modKernel(s *step) error {
	a, b, err := s.need2()
	if err != nil {
		return err
	}
	if a.DType != b.DType {
		return fmt.Errorf("inputs have dtypes %v and %v", a.DType, b.DType)
	}
	fmod := s.node.AttrInt("fmod", 0) != 0
	if !fmod && !isInt(a) {
		return fmt.Errorf("fmod=0 on %v: the spec defines it for integers (set fmod=1)", a.DType)
	}
	shape, err := broadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return err
	}
	setLike(s.out[0], a, shape)
	o := s.out[0]
	p := newLoopPlan(shape, strides(shape), bstrides(a.Shape, shape), bstrides(b.Shape, shape))
	var zero bool
	unsigned := a.DType == model.Uint64
	p.each(func(offs []int, n int, inner []int) {
		for i := range n {
			ia, ib := offs[1]+i*inner[1], offs[2]+i*inner[2]
			if !isInt(a) {
				o.F32[offs[0]+i] = float32(math.Mod(float64(a.F32[ia]), float64(b.F32[ib])))
				continue
			}
			x, y := a.I64[ia], b.I64[ib]
			if y == 0 {
				zero = true
				continue
			}
			var m int64
			switch {
			case unsigned:
				m = int64(uint64(x) % uint64(y))
			case y == -1:
				m = 0 // avoids MinInt64 % -1
			default:
				m = x % y
				if !fmod && m != 0 && (m < 0) != (y < 0) {
					m += y
				}
			}
			o.I64[offs[0]+i] = m
		}
	})
	if zero {
		return fmt.Errorf("integer modulo by zero")
	}
	return nil
}
