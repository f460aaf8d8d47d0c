package engine

import (
	"fmt"
	"math"
	"slices"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// setF32 makes t a float32 tensor of the given shape and returns its data,
// reusing t's storage when it is large enough. The contents are not cleared.
func setF32(t *model.Tensor, shape []int) []float32 {
	t.DType, t.Shape, t.I64 = model.Float32, append(t.Shape[:0], shape...), nil
	t.F32 = sized(t.F32, allocNumel(shape, 4))
	return t.F32
}

// setI64 is setF32 for int64 tensors.
func setI64(t *model.Tensor, shape []int) []int64 {
	t.DType, t.Shape, t.F32 = model.Int64, append(t.Shape[:0], shape...), nil
	t.I64 = sized(t.I64, allocNumel(shape, 8))
	return t.I64
}

// sized returns buf with length n, reusing its storage when it is large
// enough (the contents are not cleared).
func sized[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// setLike gives t x's dtype and the given shape (data not cleared).
func setLike(t, x *model.Tensor, shape []int) {
	setDType(t, x.DType, shape)
}

// setDType makes t a tensor of dtype dt and the given shape in dt's
// storage (data not cleared).
func setDType(t *model.Tensor, dt model.DType, shape []int) {
	if dt.IsFloat() {
		setF32(t, shape)
	} else {
		setI64(t, shape)
	}
	t.DType = dt
}

// isInt reports whether t's values live in I64 (integers and bool).
func isInt(t *model.Tensor) bool { return !t.DType.IsFloat() }

// alias points t at x's data with a new shape (no copy). The shape slice is
// t's own.
func alias(t, x *model.Tensor, shape []int) {
	t.DType = x.DType
	t.Shape = append(t.Shape[:0], shape...)
	t.F32, t.I64 = x.F32, x.I64
}

// tooLarge is the panic value of allocNumel: runStep turns it back into
// the error it holds. Kernels allocate through setF32 and setI64 without an
// error path; an output shape a hostile model makes large (a broadcasting
// Add of [n,1] and [1,n], a Pad with huge pads) must still end in an error,
// not in the runtime's unrecoverable out-of-memory crash.
type tooLarge struct{ err error }

// allocNumel returns the element count of shape, panicking with tooLarge
// when it overflows or the tensor would exceed the memory ceiling
// (internal/limits).
func allocNumel(shape []int, elemSize int64) int {
	n := 1
	for _, d := range shape {
		if d < 0 || (d != 0 && n > math.MaxInt/d) {
			panic(tooLarge{fmt.Errorf("output shape %v is negative or overflows", shape)})
		}
		n *= d
	}
	if n > 1<<20 { // small tensors cannot reach any ceiling
		if err := limits.Check(fmt.Sprintf("output of shape %v", shape), int64(n), elemSize); err != nil {
			panic(tooLarge{err})
		}
	}
	return n
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// strides returns row-major strides of shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// need returns input i or an error when it is absent.
func (s *step) need(i int) (*model.Tensor, error) {
	if i >= len(s.in) || s.in[i] == nil {
		return nil, fmt.Errorf("missing input %d", i)
	}
	return s.in[i], nil
}

// opt returns input i, or nil when it is absent.
func (s *step) opt(i int) *model.Tensor {
	if i >= len(s.in) {
		return nil
	}
	return s.in[i]
}

// needF32 returns input i, which must be of a float type (its values in
// F32; see model.DType).
func (s *step) needF32(i int) (*model.Tensor, error) {
	t, err := s.need(i)
	if err != nil {
		return nil, err
	}
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("input %d has dtype %v, want a float type", i, t.DType)
	}
	return t, nil
}

// ints reads an integer tensor's values (a 1-D shape or axes input: int64,
// or int32 where ONNX allows it).
func ints(t *model.Tensor) ([]int64, error) {
	if t.DType.IsFloat() || t.DType == model.Bool {
		return nil, fmt.Errorf("dtype %v, want int64", t.DType)
	}
	return t.I64, nil
}

// scalarF32 reads a one-element float tensor.
func scalarF32(t *model.Tensor) (float32, error) {
	if !t.DType.IsFloat() || len(t.F32) != 1 {
		return 0, fmt.Errorf("want a float scalar, got %v %v", t.DType, t.Shape)
	}
	return t.F32[0], nil
}

// broadcastShapes applies numpy broadcasting to shapes.
func broadcastShapes(shapes ...[]int) ([]int, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := r - len(s)
		for i, d := range s {
			switch o := out[off+i]; {
			case o == d || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}

// bstrides returns the strides of a tensor of shape s read as a tensor of
// the (broadcast) shape out: 0 along broadcast dims.
func bstrides(s, out []int) []int {
	st := make([]int, len(out))
	off := len(out) - len(s)
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 1 {
			st[off+i] = acc
		}
		acc *= s[i]
	}
	return st
}

// loopPlan is an odometer over an output shape with per-operand strides,
// with contiguous dims merged so the innermost loop is as long as possible.
type loopPlan struct {
	shape []int   // merged output dims; the last is the inner loop
	st    [][]int // per operand, merged strides
}

func newLoopPlan(out []int, st ...[]int) loopPlan {
	shape := slices.Clone(out)
	sts := make([][]int, len(st))
	for i := range st {
		sts[i] = slices.Clone(st[i])
	}
	if len(shape) == 0 {
		shape = []int{1}
		for i := range sts {
			sts[i] = []int{0}
		}
	}
	// Merge dim d into d+1 when every operand's stride[d] == stride[d+1]*shape[d+1].
	for d := len(shape) - 2; d >= 0; d-- {
		ok := true
		for _, s := range sts {
			if s[d] != s[d+1]*shape[d+1] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		shape[d+1] *= shape[d]
		shape = slices.Delete(shape, d, d+1)
		for i, s := range sts {
			sts[i] = slices.Delete(s, d, d+1)
		}
	}
	return loopPlan{shape: shape, st: sts}
}

// each calls f for every inner row with the row's starting offset in each
// operand (offs[0] is the output when the caller passes its strides first)
// and the inner length and strides.
func (p loopPlan) each(f func(offs []int, n int, inner []int)) {
	r := len(p.shape)
	nOps := len(p.st)
	inner := make([]int, nOps)
	for i := range nOps {
		inner[i] = p.st[i][r-1]
	}
	offs := make([]int, nOps)
	idx := make([]int, r-1)
	n := p.shape[r-1]
	if n == 0 {
		return
	}
	for _, d := range p.shape[:r-1] {
		if d == 0 {
			return
		}
	}
	for {
		f(offs, n, inner)
		d := r - 2
		for ; d >= 0; d-- {
			idx[d]++
			for i := range nOps {
				offs[i] += p.st[i][d]
			}
			if idx[d] < p.shape[d] {
				break
			}
			for i := range nOps {
				offs[i] -= p.st[i][d] * idx[d]
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// need2 returns inputs 0 and 1, or an error when either is absent.
func (s *step) need2() (a, b *model.Tensor, err error) {
	if a, err = s.need(0); err != nil {
		return nil, nil, err
	}
	if b, err = s.need(1); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// need2F32 returns inputs 0 and 1, which must be of float types (needF32).
func (s *step) need2F32() (a, b *model.Tensor, err error) {
	if a, err = s.needF32(0); err != nil {
		return nil, nil, err
	}
	if b, err = s.needF32(1); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// needInts1 returns inputs 0 and 1 and input 1's values read as integers
// (ints); what names input 1 in the error ("shape", "indices"), "" for none.
func (s *step) needInts1(what string) (x, it *model.Tensor, v []int64, err error) {
	if x, it, err = s.need2(); err != nil {
		return nil, nil, nil, err
	}
	if v, err = ints(it); err != nil {
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		return nil, nil, nil, err
	}
	return x, it, v, nil
}
