package engine

import (
	"fmt"
	"math"
)

// rangeKernel is Range: start, start+delta, ... while before limit, from
// three scalars of one dtype (float or integer); the count is
// max(ceil((limit-start)/delta), 0), computed in float64 as ONNX's
// reference does.
func rangeKernel(s *step) error {
	start, limit, err := s.need2()
	if err != nil {
		return err
	}
	delta, err := s.need(2)
	if err != nil {
		return err
	}
	if start.DType != limit.DType || start.DType != delta.DType {
		return fmt.Errorf("start, limit and delta have dtypes %v, %v, %v", start.DType, limit.DType, delta.DType)
	}
	if len(start.F32)+len(start.I64) != 1 || len(limit.F32)+len(limit.I64) != 1 || len(delta.F32)+len(delta.I64) != 1 {
		return fmt.Errorf("start, limit and delta must be scalars, got %v %v %v", start.Shape, limit.Shape, delta.Shape)
	}
	if isInt(start) {
		a, b, d := start.I64[0], limit.I64[0], delta.I64[0]
		if d == 0 {
			return fmt.Errorf("delta is 0")
		}
		n := rangeCount(float64(a), float64(b), float64(d))
		setLike(s.out[0], start, []int{allocNumel([]int{n}, 8)})
		for i := range s.out[0].I64 {
			s.out[0].I64[i] = a + int64(i)*d
		}
		return nil
	}
	a, b, d := start.F32[0], limit.F32[0], delta.F32[0]
	if d == 0 || a != a || b != b || d != d {
		return fmt.Errorf("start %v, limit %v, delta %v do not make a range", a, b, d)
	}
	n := rangeCount(float64(a), float64(b), float64(d))
	setLike(s.out[0], start, []int{allocNumel([]int{n}, 4)})
	// numpy.arange: start + i*delta.
	for i := range s.out[0].F32 {
		s.out[0].F32[i] = a + float32(i)*d
	}
	return nil
}

func rangeCount(a, b, d float64) int {
	n := math.Ceil((b - a) / d)
	if !(n > 0) {
		return 0
	}
	if n > 1<<40 {
		return 1 << 40 // allocNumel refuses it against the memory ceiling
	}
	return int(n)
}
