package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// whereKernel is Where: condition ? X : Y element-wise, the three inputs
// broadcast together (numpy.where); X and Y share a dtype.
func whereKernel(s *step) error {
	c, x, err := s.need2()
	if err != nil {
		return err
	}
	y, err := s.need(2)
	if err != nil {
		return err
	}
	if c.DType != model.Bool {
		return fmt.Errorf("condition has dtype %v, want bool", c.DType)
	}
	if x.DType != y.DType {
		return fmt.Errorf("X and Y have dtypes %v and %v", x.DType, y.DType)
	}
	shape, err := broadcastShapes(c.Shape, x.Shape, y.Shape)
	if err != nil {
		return err
	}
	setLike(s.out[0], x, shape)
	p := newLoopPlan(shape, strides(shape), bstrides(c.Shape, shape), bstrides(x.Shape, shape), bstrides(y.Shape, shape))
	if isInt(x) {
		whereRows(p, s.out[0].I64, c.I64, x.I64, y.I64)
	} else {
		whereRows(p, s.out[0].F32, c.I64, x.F32, y.F32)
	}
	return nil
}

func whereRows[T float32 | int64](p loopPlan, out []T, c []int64, x, y []T) {
	p.each(func(offs []int, n int, inner []int) {
		d := out[offs[0] : offs[0]+n]
		for i := range d {
			if c[offs[1]+i*inner[1]] != 0 {
				d[i] = x[offs[2]+i*inner[2]]
			} else {
				d[i] = y[offs[3]+i*inner[3]]
			}
		}
	})
}
