package kernels

import (
	"sync"

	"github.com/xferml/xfer/internal/blas32"
)

// Split says how a caller shares work between threads: into at most
// Threads blocks, and only when there are at least Min multiply-adds (below
// that, starting goroutines costs more than it saves). Callers own their
// thread count and pass it in; nothing here is global.
type Split struct {
	Threads int
	Min     int
	// Columns splits products by columns of C only (training's rule, which
	// its reproducible results were recorded with); otherwise by rows, or
	// by columns for short wide products.
	Columns bool
}

// Parts returns how many blocks to split work (multiply-adds) over lines
// rows or columns.
func (s Split) Parts(work, lines int) int {
	if s.Threads <= 1 || work < s.Min || lines < 2 {
		return 1
	}
	return min(s.Threads, lines)
}

// Gemm is C = alpha*op(A)*op(B) + beta*C on row-major matrices, split into
// one block of rows of C per thread (or of columns, for short wide
// products), each block calling a single-threaded BLAS. The split depends
// only on the sizes and s, so results are deterministic for a fixed s.
func (s Split) Gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if !s.Columns && (m >= n || m >= 64) {
		// Rows of C: rows of op(A) are rows of A, or columns when tA.
		Parallel(m, s.Parts(m*n*k, m), func(lo, hi int) {
			ao := lo * lda
			if tA {
				ao = lo
			}
			Sgemm(tA, tB, hi-lo, n, k, alpha, a[ao:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		return
	}
	// Columns of C: columns of op(B) are columns of B, or rows when tB.
	Parallel(n, s.Parts(m*n*k, n), func(lo, hi int) {
		bo := lo
		if tB {
			bo = lo * ldb
		}
		Sgemm(tA, tB, m, hi-lo, k, alpha, a, lda, b[bo:], ldb, beta, c[lo:], ldc)
	})
}

// Sgemm is C = alpha*op(A)*op(B) + beta*C, row-major, on one thread. A
// one-row product goes through OpenBLAS's sgemv, which runs it faster
// (gonum's BLAS keeps Sgemm).
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
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

// Parallel calls f on p contiguous blocks [lo, hi) of [0, n),
// concurrently; the last block runs on the calling goroutine.
func Parallel(n, p int, f func(lo, hi int)) {
	ParallelBlocks(n, p, func(_, lo, hi int) { f(lo, hi) })
}

// ParallelBlocks is Parallel passing each block's index in [0, p) too.
func ParallelBlocks(n, p int, f func(blk, lo, hi int)) {
	if p <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range p {
		lo, hi := i*n/p, (i+1)*n/p
		if i == p-1 {
			f(i, lo, hi)
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
