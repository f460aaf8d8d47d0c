package finetune

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/blas32"
	"github.com/xferml/xfer/internal/kernels"
)

// BLASName names the BLAS behind float32 matrix products ("openblas", or
// "gonum" with the build tag xfer_purego or without cgo): internal/blas32,
// shared with the engine.
const BLASName = blas32.Name

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
		sgemmPar(tA, tB, m, n, k, a, lda(tA, m, k), any(b).([]float32), lda(tB, k, n), float32(beta), any(c).([]float32), n)
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

// axpy is y += a*x (gonum's assembly kernel).
func axpy(a float32, x, y []float32) {
	if len(x) > 0 {
		gonum.Implementation{}.Saxpy(len(x), a, x, 1, y, 1)
	}
}

// parallelFlops is the product size (m*n*k) from which training splits a
// product over threads. Measured on this project's 2-vCPU machine: two
// concurrent single-threaded OpenBLAS products of model A's first layer at
// batch 32 (7.5M multiply-adds each) run only 1.36x faster than one after
// the other (the vCPUs appear to share a core), and splitting batch-32
// products did not speed up training reliably; at batch 256 (60M) it does.
const parallelFlops = 1 << 25

// threads is the thread count training uses: the engine's (engine.SetThreads
// sets it for both, 0 meaning GOMAXPROCS). Results are bit-for-bit
// reproducible for a fixed count. The BLAS itself is kept single-threaded:
// its own thread pool busy-waits between the small products of batch-32
// training and costs more than it gains.
func threads() int { return engine.Threads() }

// sgemmPar is the float32 product split over threads by output columns
// (kernels.Split).
func sgemmPar(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	w := threads()
	if n < 2*w {
		w = 1 // fewer than two columns per thread: one block
	}
	kernels.Split{Threads: w, Min: parallelFlops, Columns: true}.Gemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}
