//go:build !cgo || xfer_purego

package engine

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

const blasName = "gonum"

// gonum's BLAS sizes its own worker pool from GOMAXPROCS.
func setBLASThreads(int) {}

func blasSingle() {}

// BLASCore names the BLAS kernel family in use.
func BLASCore() string { return "gonum (pure Go)" }

// sgemm is C = alpha*op(A)*op(B) + beta*C, row-major, through gonum.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(m, n, beta, c, ldc)
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
