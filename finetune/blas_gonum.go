//go:build !cgo || xfer_purego

package finetune

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLASName names the BLAS behind float32 matrix products.
const BLASName = "gonum"

// gonum's BLAS sizes its own pool from GOMAXPROCS.
func setBLASThreads(int) {}

func blasThreads() int { return 1 }

func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	gonum.Implementation{}.Sgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
