package finetune

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// dgemm is the float64 product (gradient checks only), through gonum.
func dgemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	gonum.Implementation{}.Dgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemm dispatches on the element type.
func gemm[T floats](tA, tB bool, m, n, k int, a, b, c []T, beta T) {
	switch a := any(a).(type) {
	case []float32:
		sgemm(tA, tB, m, n, k, 1, a, lda(tA, m, k), any(b).([]float32), lda(tB, k, n), float32(beta), any(c).([]float32), n)
	case []float64:
		dgemm(tA, tB, m, n, k, 1, a, lda(tA, m, k), any(b).([]float64), lda(tB, k, n), float64(beta), any(c).([]float64), n)
	}
}

// lda is the leading dimension of a row-major [r, c] matrix stored as is
// (c) or transposed (r).
func lda(t bool, r, c int) int {
	if t {
		return r
	}
	return c
}
