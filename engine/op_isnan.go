package engine

import (
	"math"

	"github.com/xferml/xfer/model"
)

// isNaNKernel is IsNaN; isInfKernel is IsInf with detect_positive and
// detect_negative (both 1 by default). Results are bool.
func isNaNKernel(s *step) error {
	return boolMap(s, func(v float32) bool { return v != v })
}

func isInfKernel(s *step) error {
	pos := s.node.AttrInt("detect_positive", 1) != 0
	neg := s.node.AttrInt("detect_negative", 1) != 0
	return boolMap(s, func(v float32) bool {
		return pos && math.IsInf(float64(v), 1) || neg && math.IsInf(float64(v), -1)
	})
}

func boolMap(s *step, f func(float32) bool) error {
	x, err := s.needF32(0)
	if err != nil {
		return err
	}
	setDType(s.out[0], model.Bool, x.Shape)
	for i, v := range x.F32 {
		if f(v) {
			s.out[0].I64[i] = 1
		} else {
			s.out[0].I64[i] = 0
		}
	}
	return nil
}
