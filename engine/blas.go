package engine

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/xferml/xfer/internal/blas32"
	"github.com/xferml/xfer/internal/kernels"
)

// The matrix product behind MatMul, Gemm and Conv is gemm, computing
// C = alpha*op(A)*op(B) + beta*C on row-major matrices through
// internal/kernels' one splitter: large products go in one block of rows
// (or columns) per thread, each block to internal/blas32: OpenBLAS through
// cgo (the default, run single-threaded so that the engine owns the
// parallelism) or gonum's pure-Go BLAS (with the build tag xfer_purego or
// CGO_ENABLED=0). The split depends only on the sizes and the thread count,
// so results are deterministic for a fixed thread count.

var (
	threadsOnce sync.Once
	threads     atomic.Int32
)

// parallelMin is the product size m*n*k (multiply-adds) from which gemm
// splits the work: below it, starting goroutines costs more than it saves
// (about 2 µs against ~10 µs for 200k multiply-adds on one core).
const parallelMin = 200_000

// SetThreads sets the number of threads the engine uses for matrix products
// and fused dense layers (n < 1 means runtime.GOMAXPROCS(0)). The first New
// calls it with GOMAXPROCS unless it was called before.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threadsOnce.Do(func() {})
	threads.Store(int32(n))
	blas32.SetThreads(1)
}

// Threads returns the thread count set by SetThreads.
func Threads() int {
	initThreads()
	return int(threads.Load())
}

// BLAS names the BLAS implementation the engine was built with
// ("openblas" or "gonum").
func BLAS() string { return blas32.Name }

// BLASCore names the BLAS kernel family in use (e.g. OpenBLAS's
// "SkylakeX").
func BLASCore() string { return blas32.Core() }

func initThreads() {
	threadsOnce.Do(func() {
		threads.Store(int32(runtime.GOMAXPROCS(0)))
		blas32.SetThreads(1)
	})
}

// blasSingle makes sure OpenBLAS runs single-threaded inside the engine's
// own parallel blocks (another package may have changed the process-wide
// count since).
func blasSingle() {
	if blas32.Threads() != 1 {
		blas32.SetThreads(1)
	}
}

// split is how the engine shares a product between its threads.
func split() kernels.Split { return kernels.Split{Threads: int(threads.Load()), Min: parallelMin} }

// parts returns how many blocks to split work (multiply-adds) over rows
// lines.
func parts(work, lines int) int { return split().Parts(work, lines) }

// parallel calls f on p contiguous blocks [lo, hi) of [0, n), concurrently.
func parallel(n, p int, f func(lo, hi int)) { kernels.Parallel(n, p, f) }

// parallelBlocks is parallel passing each block's index in [0, p) too.
func parallelBlocks(n, p int, f func(blk, lo, hi int)) { kernels.ParallelBlocks(n, p, f) }

// gemm is C = alpha*op(A)*op(B) + beta*C, row-major, split over threads
// (kernels.Split.Gemm).
func gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	split().Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is gemm on one thread (kernels.Sgemm: sgemv for one row).
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
