package engine

import (
	"fmt"
	"slices"

	"github.com/xferml/xfer/model"
)

// gemmKernel is ONNX Gemm: Y = alpha*op(A)*op(B) + beta*C, with C
// unidirectionally broadcast to [M, N] (the pre-7 broadcast attribute is
// implied by C's shape).
func gemmKernel(s *step) error {
	a, b, err := s.need2F32()
	if err != nil {
		return err
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return fmt.Errorf("A %v and B %v must be 2-D", a.Shape, b.Shape)
	}
	tA, tB := s.node.AttrInt("transA", 0) != 0, s.node.AttrInt("transB", 0) != 0
	alpha, beta := s.node.AttrFloat("alpha", 1), s.node.AttrFloat("beta", 1)
	m, k := a.Shape[0], a.Shape[1]
	if tA {
		m, k = k, m
	}
	k2, n := b.Shape[0], b.Shape[1]
	if tB {
		k2, n = n, k2
	}
	if k != k2 {
		return fmt.Errorf("inner dims differ: A %v, B %v (transA=%v transB=%v)", a.Shape, b.Shape, tA, tB)
	}
	y := setF32(s.out[0], []int{m, n})
	cb := float32(0)
	if c := s.opt(2); c != nil && beta != 0 {
		if !c.DType.IsFloat() {
			return fmt.Errorf("C has dtype %v, want a float type", c.DType)
		}
		if err := broadcastInto(y, []int{m, n}, c, beta); err != nil {
			return fmt.Errorf("bias C: %w", err)
		}
		cb = 1
	}
	gemm(tA, tB, m, n, k, alpha, a.F32, a.Shape[1], b.F32, b.Shape[1], cb, y, n)
	return nil
}

// broadcastInto fills dst (of shape) with scale*c broadcast to shape.
func broadcastInto(dst []float32, shape []int, c *model.Tensor, scale float32) error {
	if len(c.Shape) > len(shape) {
		return fmt.Errorf("shape %v does not broadcast to %v", c.Shape, shape)
	}
	off := len(shape) - len(c.Shape)
	for i, d := range c.Shape {
		if d != 1 && d != shape[off+i] {
			return fmt.Errorf("shape %v does not broadcast to %v", c.Shape, shape)
		}
	}
	p := newLoopPlan(shape, strides(shape), bstrides(c.Shape, shape))
	p.each(func(offs []int, n int, inner []int) {
		d := dst[offs[0] : offs[0]+n]
		if inner[1] == 0 {
			v := scale * c.F32[offs[1]]
			for i := range d {
				d[i] = v
			}
			return
		}
		src := c.F32[offs[1] : offs[1]+n]
		for i := range d {
			d[i] = scale * src[i]
		}
	})
	return nil
}

// matMulKernel is ONNX MatMul: numpy matmul semantics (1-D operands
// promoted and the added dim removed, batch dims broadcast).
func matMulKernel(s *step) error {
	a, b, err := s.need2F32()
	if err != nil {
		return err
	}
	return matMul(s.out[0], a, b)
}

func matMul(out, a, b *model.Tensor) error {
	as, bs := a.Shape, b.Shape
	if len(as) == 0 || len(bs) == 0 {
		return fmt.Errorf("scalar operand: %v x %v", as, bs)
	}
	aVec, bVec := len(as) == 1, len(bs) == 1
	if aVec {
		as = []int{1, as[0]}
	}
	if bVec {
		bs = []int{bs[0], 1}
	}
	m, k := as[len(as)-2], as[len(as)-1]
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		return fmt.Errorf("inner dims differ: %v x %v", a.Shape, b.Shape)
	}
	batch, err := broadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return err
	}
	shape := append(slices.Clone(batch), m, n)
	if aVec {
		shape = slices.Delete(shape, len(shape)-2, len(shape)-1)
	}
	if bVec {
		shape = shape[:len(shape)-1]
	}
	y := setF32(out, shape)
	if len(bs) == 2 && !aVec {
		// [..., M, K] x [K, N]: one product with all leading dims as rows.
		gemm(false, false, numel(as[:len(as)-1]), n, k, 1, a.F32, k, b.F32, n, 0, y, n)
		return nil
	}
	// Walk the broadcast batch dims; offsets are in matrices.
	p := newLoopPlan(batch, strides(batch), bstrides(as[:len(as)-2], batch), bstrides(bs[:len(bs)-2], batch))
	p.each(func(offs []int, cnt int, inner []int) {
		for i := range cnt {
			o, ao, bo := offs[0]+i*inner[0], offs[1]+i*inner[1], offs[2]+i*inner[2]
			gemm(false, false, m, n, k, 1, a.F32[ao*m*k:], k, b.F32[bo*k*n:], n, 0, y[o*m*n:], n)
		}
	})
	return nil
}
