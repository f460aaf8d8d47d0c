// Package blas32 is xfer's one binding to a float32 BLAS: OpenBLAS through
// cgo by default, gonum's pure-Go BLAS with the build tag xfer_purego or
// without cgo. Packages engine and finetune both multiply matrices through
// it, so the process-wide state of OpenBLAS (its thread count, its kernel
// family) has one owner.
//
// # Use
//
//	blas32.SetThreads(1) // OpenBLAS's own pool: callers split work themselves
//	blas32.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) // c = a @ b
//
// # Invariants
//
//   - Matrices are row-major with a leading dimension (the stride between
//     rows, at least the row length), as in CBLAS with CblasRowMajor.
//   - Results are deterministic: the same call gives the same bits. A
//     product split differently (other block sizes) can round differently
//     in OpenBLAS, which is why the callers' splits depend only on sizes and
//     their own thread counts.
//   - Inputs other than C (and y for Sgemv) are never modified.
//   - SetThreads and Threads read and set one process-wide count: OpenBLAS
//     keeps a single thread pool per process.
//   - On a CPU with AVX-512 F/BW/DQ/VL where a DYNAMIC_ARCH OpenBLAS chose
//     kernels without AVX-512 ("Haswell" or "Zen": Debian's 0.3.21 does so
//     on AVX-512 AMD cores; "Prescott", SSE3, on Intel models newer than it
//     knows, such as Emerald Rapids) and OPENBLAS_CORETYPE is unset, the package
//     switches OpenBLAS to its SkylakeX kernels at start-up, before main and
//     before any goroutine can be inside OpenBLAS (the switch is not safe
//     during a BLAS call). It measured 1.45x faster on model A at batch 256
//     (CPU time, Zen with AVX-512; engine/bench_test.go). Core names the
//     kernel family in use.
//
// The float32 element-wise kernels and the product splitter over this
// package are in package internal/kernels.
package blas32
