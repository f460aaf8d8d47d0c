//go:build !cgo || xfer_purego

package blas32

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Name names the BLAS this package was built with.
const Name = "gonum"

// OpenBLAS reports whether Name is "openblas" (a constant, so that callers'
// OpenBLAS-only paths compile away in the pure-Go build).
const OpenBLAS = false

// Version names the BLAS library.
func Version() string { return "gonum (pure Go)" }

// Core names the BLAS kernel family in use.
func Core() string { return "gonum (pure Go)" }

// SetThreads does nothing: gonum's BLAS sizes its own worker pool from
// GOMAXPROCS.
func SetThreads(int) {}

// Threads returns 1: gonum's BLAS has no thread count to set.
func Threads() int { return 1 }

// Sgemm is C = alpha*op(A)*op(B) + beta*C on row-major matrices, op(A)
// [m,k], op(B) [k,n], C [m,n], where op transposes when tA or tB. With
// k = 0 it is C = beta*C (beta 0 clears C, as in BLAS).
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	gonum.Implementation{}.Sgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemv is y = alpha*op(A)*x + beta*y with A a row-major [m,n] matrix
// (op(A) is A^T [n,m] when tA) and unit-stride x and y. With an empty
// product (n = 0, or m = 0 when tA) it is y = beta*y.
func Sgemv(tA bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	rows, cols := m, n // of op(A)
	if tA {
		rows, cols = n, m
	}
	if rows == 0 {
		return
	}
	if cols == 0 {
		scale(1, rows, beta, y, rows)
		return
	}
	gonum.Implementation{}.Sgemv(trans(tA), m, n, alpha, a, lda, x, 1, beta, y, 1)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}
