package engine

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/xferml/xfer/internal/blas32"
)

// The matrix product behind MatMul, Gemm and Conv is gemm, computing
// C = alpha*op(A)*op(B) + beta*C on row-major matrices. It splits large
// products into one block of rows (or columns) per thread and hands each
// block to sgemm, which calls internal/blas32: OpenBLAS through cgo (the
// default, run single-threaded so that the engine owns the parallelism) or
// gonum's pure-Go BLAS (with the build tag xfer_purego or CGO_ENABLED=0).
// The split depends only on the sizes and the thread count, so results are
// deterministic for a fixed thread count.

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

// parts returns how many blocks to split work (multiply-adds) over rows
// lines.
func parts(work, lines int) int {
	p := int(threads.Load())
	if p <= 1 || work < parallelMin || lines < 2 {
		return 1
	}
	return min(p, lines)
}

// parallel calls f on p contiguous blocks [lo, hi) of [0, n), concurrently.
func parallel(n, p int, f func(lo, hi int)) {
	parallelBlocks(n, p, func(_, lo, hi int) { f(lo, hi) })
}

// parallelBlocks is parallel passing each block's index in [0, p) too.
func parallelBlocks(n, p int, f func(blk, lo, hi int)) {
	if p <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range p {
		lo, hi := i*n/p, (i+1)*n/p
		if i == p-1 {
			f(i, lo, hi) // the last block runs on the calling goroutine
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	wg.Wait()
}

// gemm is C = alpha*op(A)*op(B) + beta*C, row-major, split over threads.
func gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if m >= n || m >= 64 {
		// Rows of C: rows of op(A) are rows of A, or columns when tA.
		parallel(m, parts(m*n*k, m), func(lo, hi int) {
			ao := lo * lda
			if tA {
				ao = lo
			}
			sgemm(tA, tB, hi-lo, n, k, alpha, a[ao:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		return
	}
	// Columns of C: columns of op(B) are columns of B, or rows when tB.
	parallel(n, parts(m*n*k, n), func(lo, hi int) {
		bo := lo
		if tB {
			bo = lo * ldb
		}
		sgemm(tA, tB, m, hi-lo, k, alpha, a, lda, b[bo:], ldb, beta, c[lo:], ldc)
	})
}

// sgemm is C = alpha*op(A)*op(B) + beta*C, row-major, on one block. A
// one-row product goes through OpenBLAS's sgemv, which runs it faster
// (gonum's BLAS keeps Sgemm).
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if blas32.OpenBLAS && m == 1 && !tA {
		// c[0,:] = alpha * op(B)^T a + beta c: with B [k,n] that is B^T a,
		// with B [n,k] (tB) it is B a.
		rows, cols := k, n
		if tB {
			rows, cols = n, k
		}
		blas32.Sgemv(!tB, rows, cols, alpha, b, ldb, a, beta, c)
		return
	}
	blas32.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
