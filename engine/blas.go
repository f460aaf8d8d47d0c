package engine

import (
	"runtime"
	"sync"
)

// The matrix product behind MatMul, Gemm and Conv is
//
//	sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
//
// computing C = alpha*op(A)*op(B) + beta*C on row-major matrices, with one of
// two implementations chosen at build time: OpenBLAS through cgo
// (blas_openblas.go, the default) or gonum's pure-Go BLAS (blas_gonum.go,
// with the build tag xfer_purego or CGO_ENABLED=0).

var threadsOnce sync.Once

// SetThreads sets the number of threads the BLAS may use (n < 1 means
// runtime.GOMAXPROCS(0)). Results are deterministic for a fixed count. The
// first New calls it with GOMAXPROCS unless it was called before.
func SetThreads(n int) {
	threadsOnce.Do(func() {})
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	setBLASThreads(n)
}

// BLAS names the BLAS implementation the engine was built with.
func BLAS() string { return blasName }

func initThreads() {
	threadsOnce.Do(func() { setBLASThreads(runtime.GOMAXPROCS(0)) })
}
