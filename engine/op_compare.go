package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// cmpOp is a broadcasting comparison or logical op with a bool result.
type cmpOp int

const (
	cmpEqual cmpOp = iota
	cmpLess
	cmpGreater
	cmpLessOrEqual
	cmpGreaterOrEqual
	cmpAnd
	cmpOr
	cmpXor
)

// compareKernel runs Equal, Less, Greater, LessOrEqual, GreaterOrEqual
// (numbers of one dtype; uint64 compared unsigned) and And, Or, Xor (bool)
// with numpy broadcasting; the result is bool.
func compareKernel(op cmpOp) kernel {
	return func(s *step) error {
		a, b, err := s.need2()
		if err != nil {
			return err
		}
		if a.DType != b.DType {
			return fmt.Errorf("inputs have dtypes %v and %v", a.DType, b.DType)
		}
		if op >= cmpAnd && a.DType != model.Bool {
			return fmt.Errorf("inputs have dtype %v, want bool", a.DType)
		}
		if b, err = legacyB(s, a, b); err != nil {
			return err
		}
		shape, err := broadcastShapes(a.Shape, b.Shape)
		if err != nil {
			return err
		}
		setDType(s.out[0], model.Bool, shape)
		out := s.out[0].I64
		p := newLoopPlan(shape, strides(shape), bstrides(a.Shape, shape), bstrides(b.Shape, shape))
		switch {
		case a.DType.IsFloat():
			p.each(func(offs []int, n int, inner []int) {
				compareRow(op, out[offs[0]:offs[0]+n], a.F32[offs[1]:], b.F32[offs[2]:], inner[1], inner[2])
			})
		case a.DType == model.Uint64:
			ua, ub := asUint64(a.I64), asUint64(b.I64)
			p.each(func(offs []int, n int, inner []int) {
				compareRow(op, out[offs[0]:offs[0]+n], ua[offs[1]:], ub[offs[2]:], inner[1], inner[2])
			})
		default:
			p.each(func(offs []int, n int, inner []int) {
				compareRow(op, out[offs[0]:offs[0]+n], a.I64[offs[1]:], b.I64[offs[2]:], inner[1], inner[2])
			})
		}
		return nil
	}
}

// asUint64 reinterprets uint64 values held as int64 bit patterns.
func asUint64(v []int64) []uint64 {
	u := make([]uint64, len(v))
	for i, x := range v {
		u[i] = uint64(x)
	}
	return u
}

func compareRow[T float32 | int64 | uint64](op cmpOp, d []int64, x, y []T, sx, sy int) {
	b := func(c bool) int64 {
		if c {
			return 1
		}
		return 0
	}
	for i := range d {
		u, v := x[i*sx], y[i*sy]
		switch op {
		case cmpEqual:
			d[i] = b(u == v)
		case cmpLess:
			d[i] = b(u < v)
		case cmpGreater:
			d[i] = b(u > v)
		case cmpLessOrEqual:
			d[i] = b(u <= v)
		case cmpGreaterOrEqual:
			d[i] = b(u >= v)
		case cmpAnd:
			d[i] = b(u != 0 && v != 0)
		case cmpOr:
			d[i] = b(u != 0 || v != 0)
		case cmpXor:
			d[i] = b((u != 0) != (v != 0))
		}
	}
}

// notKernel is Not: logical negation of a bool tensor.
func notKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	if x.DType != model.Bool {
		return fmt.Errorf("input has dtype %v, want bool", x.DType)
	}
	setDType(s.out[0], model.Bool, x.Shape)
	for i, v := range x.I64 {
		s.out[0].I64[i] = 1 - v
	}
	return nil
}
