package finetune

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/xferml/xfer/internal/blas32"
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

// gemmWorkers is how many goroutines share a large matrix product, each
// calling a single-threaded BLAS on a block of output columns. Results are
// bit-for-bit reproducible for a fixed count; another count can change the
// last bit (OpenBLAS rounds differently sized blocks differently). Set by
// SetThreads; 0 means GOMAXPROCS.
var gemmWorkers = 0

// parallelFlops is the product size (m*n*k) from which splitting pays.
// Measured on this project's 2-vCPU machine: two concurrent single-threaded
// OpenBLAS products of model A's first layer at batch 32 (7.5M multiply-adds
// each) run only 1.36x faster than one after the other (the vCPUs appear to
// share a core), and splitting batch-32 products did not speed up training
// reliably; at batch 256 (60M) it does.
const parallelFlops = 1 << 25

// SetThreads sets how many threads xfer's training uses for matrix
// products (n < 1: GOMAXPROCS); results are reproducible for a fixed n.
// The BLAS itself is kept single-threaded:
// its own thread pool busy-waits between the small products of batch-32
// training and costs more than it gains.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	blas32.SetThreads(1)
	gemmWorkers = n
}

// threads returns the thread count SetThreads chose (0: GOMAXPROCS).
func threads() int {
	if gemmWorkers > 0 {
		return gemmWorkers
	}
	return runtime.GOMAXPROCS(0)
}

// sgemmPar is blas32.Sgemm split over gemmWorkers blocks of output
// columns.
func sgemmPar(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	w := threads()
	if w <= 1 || m*n*k < parallelFlops || n < 2*w {
		blas32.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	var wg sync.WaitGroup
	for j := 0; j < w; j++ {
		n0, n1 := n*j/w, n*(j+1)/w
		bb := b[n0:] // op(B) columns n0.. of a row-major [k, n] B
		if tB {
			bb = b[n0*ldb:] // rows n0.. of a row-major [n, k] B
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			blas32.Sgemm(tA, tB, m, n1-n0, k, 1, a, lda, bb, ldb, beta, c[n0:], ldc)
		}()
	}
	wg.Wait()
}
