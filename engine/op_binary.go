package engine

import (
	"fmt"
	"math"
	"slices"

	"github.com/xferml/xfer/model"
)

// binOp is an element-wise binary operation with numpy broadcasting.
type binOp int

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opPow
	opMax
	opMin
	opPRelu // x < 0 ? slope*x : x, slope broadcast to x (unidirectional)
)

func (op binOp) String() string {
	return [...]string{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"}[op]
}

// binaryKernel runs a two-input broadcasting op (Add, Sub, Mul, Div, Pow,
// PRelu) on float32 or int64 tensors. Pow accepts an exponent of the other
// dtype (ONNX Pow >= 12); the result has the base's dtype.
func binaryKernel(op binOp) kernel {
	return func(s *step) error {
		a, b, err := s.need2()
		if err != nil {
			return err
		}
		if a.DType != b.DType {
			if op != opPow {
				return fmt.Errorf("inputs have dtypes %v and %v", a.DType, b.DType)
			}
			b = convert(b, a.DType)
		}
		if b, err = legacyB(s, a, b); err != nil {
			return err
		}
		shape, err := broadcastShapes(a.Shape, b.Shape)
		if err != nil {
			return err
		}
		if op == opPRelu && !slices.Equal(shape, a.Shape) {
			return fmt.Errorf("slope %v does not broadcast to input %v", b.Shape, a.Shape)
		}
		setLike(s.out[0], a, shape)
		return binary(op, s.out[0], a, b)
	}
}

// binary computes out = op(a, b); out already has the broadcast shape and
// the operands' dtype. out may be a (in place).
func binary(op binOp, out, a, b *model.Tensor) error {
	if isInt(a) {
		if op == opDiv && slices.Contains(b.I64, 0) {
			return fmt.Errorf("integer division by zero")
		}
		applyBinary(op, out.I64, a.I64, b.I64, a.Shape, b.Shape, out.Shape)
		return nil
	}
	applyBinary(op, out.F32, a.F32, b.F32, a.Shape, b.Shape, out.Shape)
	return nil
}

func applyBinary[T float32 | int64](op binOp, dst, a, b []T, as, bs, os []int) {
	if slices.Equal(as, os) && slices.Equal(bs, os) {
		rowBinary(op, dst, a, b, 1, 1)
		return
	}
	p := newLoopPlan(os, strides(os), bstrides(as, os), bstrides(bs, os))
	p.each(func(offs []int, n int, inner []int) {
		rowBinary(op, dst[offs[0]:offs[0]+n], a[offs[1]:], b[offs[2]:], inner[1], inner[2])
	})
}

// rowBinary computes d[i] = op(x[i*sx], y[i*sy]) for one inner row.
func rowBinary[T float32 | int64](op binOp, d, x, y []T, sx, sy int) {
	switch op {
	case opAdd:
		if sx == 1 && sy == 1 {
			x, y = x[:len(d)], y[:len(d)]
			for i := range d {
				d[i] = x[i] + y[i]
			}
			return
		}
		for i := range d {
			d[i] = x[i*sx] + y[i*sy]
		}
	case opSub:
		for i := range d {
			d[i] = x[i*sx] - y[i*sy]
		}
	case opMul:
		if sx == 1 && sy == 1 {
			x, y = x[:len(d)], y[:len(d)]
			for i := range d {
				d[i] = x[i] * y[i]
			}
			return
		}
		for i := range d {
			d[i] = x[i*sx] * y[i*sy]
		}
	case opDiv:
		for i := range d {
			d[i] = x[i*sx] / y[i*sy]
		}
	case opPow:
		for i := range d {
			d[i] = T(math.Pow(float64(x[i*sx]), float64(y[i*sy])))
		}
	case opMax:
		for i := range d {
			u, v := x[i*sx], y[i*sy]
			if u > v || u != u { // NaN propagates, as numpy's maximum
				d[i] = u
			} else {
				d[i] = v
			}
		}
	case opMin:
		for i := range d {
			u, v := x[i*sx], y[i*sy]
			if u < v || u != u {
				d[i] = u
			} else {
				d[i] = v
			}
		}
	case opPRelu:
		for i := range d {
			if u := x[i*sx]; u < 0 {
				d[i] = u * y[i*sy]
			} else {
				d[i] = u
			}
		}
	}
}

// variadicKernel runs Sum, Max or Min over one or more broadcasting inputs.
func variadicKernel(op binOp) kernel {
	return func(s *step) error { return variadic(s, op) }
}

func variadic(s *step, op binOp) error {
	var ins []*model.Tensor
	var shapes [][]int
	for _, t := range s.in {
		if t == nil {
			continue
		}
		if len(ins) > 0 && t.DType != ins[0].DType {
			return fmt.Errorf("inputs have dtypes %v and %v", ins[0].DType, t.DType)
		}
		ins = append(ins, t)
		shapes = append(shapes, t.Shape)
	}
	if len(ins) == 0 {
		return fmt.Errorf("needs at least one input")
	}
	shape, err := broadcastShapes(shapes...)
	if err != nil {
		return err
	}
	out := s.out[0]
	setLike(out, ins[0], shape)
	if len(ins) == 1 {
		copy(out.F32, ins[0].F32)
		copy(out.I64, ins[0].I64)
		return nil
	}
	if err := binary(op, out, ins[0], ins[1]); err != nil {
		return err
	}
	for _, t := range ins[2:] {
		if err := binary(op, out, out, t); err != nil {
			return err
		}
	}
	return nil
}

// meanKernel is ONNX Mean: the broadcast sum divided by the input count.
func meanKernel(s *step) error {
	if err := variadic(s, opAdd); err != nil {
		return err
	}
	out := s.out[0]
	if !out.DType.IsFloat() {
		return fmt.Errorf("dtype %v, want a float type", out.DType)
	}
	n := 0
	for _, t := range s.in {
		if t != nil {
			n++
		}
	}
	d := float32(n)
	for i := range out.F32 {
		out.F32[i] /= d
	}
	return nil
}

// convert returns t converted to dtype (a new tensor; t when it already has
// that dtype), as model.Convert does.
func convert(t *model.Tensor, dt model.DType) *model.Tensor {
	if t.DType == dt {
		return t
	}
	return model.Convert(t, dt)
}

// legacyB returns B as a view of the shape it takes in an opset-1-to-6
// model (model.LegacyBroadcast: broadcast=1 with axis, PRelu's per-channel
// slope), or b itself.
func legacyB(s *step, a, b *model.Tensor) (*model.Tensor, error) {
	if s.opset >= 7 {
		return b, nil
	}
	shape, err := model.LegacyBroadcast(s.node, s.opset, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	v := *b
	v.Shape = shape
	return &v, nil
}
