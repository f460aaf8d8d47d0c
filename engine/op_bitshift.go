package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// bitShiftKernel is BitShift on unsigned integers with broadcasting:
// direction LEFT or RIGHT; shifts of the type's width or more give 0.
func bitShiftKernel(s *step) error {
	a, b, err := s.need2()
	if err != nil {
		return err
	}
	switch a.DType {
	case model.Uint8, model.Uint16, model.Uint32, model.Uint64:
	default:
		return fmt.Errorf("input has dtype %v, want an unsigned integer", a.DType)
	}
	if b.DType != a.DType {
		return fmt.Errorf("inputs have dtypes %v and %v", a.DType, b.DType)
	}
	left := s.node.AttrString("direction", "") == "LEFT"
	if !left && s.node.AttrString("direction", "") != "RIGHT" {
		return fmt.Errorf("direction %q (want LEFT or RIGHT)", s.node.AttrString("direction", ""))
	}
	shape, err := broadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return err
	}
	setLike(s.out[0], a, shape)
	o := s.out[0].I64
	p := newLoopPlan(shape, strides(shape), bstrides(a.Shape, shape), bstrides(b.Shape, shape))
	p.each(func(offs []int, n int, inner []int) {
		for i := range n {
			x, k := uint64(a.I64[offs[1]+i*inner[1]]), uint64(b.I64[offs[2]+i*inner[2]])
			var v uint64
			if k < 64 {
				if left {
					v = x << k
				} else {
					v = x >> k
				}
			}
			o[offs[0]+i] = int64(v) // wrapped to the width by the planned dtype
		}
	})
	return nil
}
