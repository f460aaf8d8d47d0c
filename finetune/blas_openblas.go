//go:build cgo && !xfer_purego

package finetune

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

import "unsafe"

// BLASName names the BLAS behind float32 matrix products.
const BLASName = "openblas"

// setBLASThreads sets OpenBLAS's thread count (shared with the engine: one
// library per process).
func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(max(n, 1))) }

// blasThreads returns OpenBLAS's thread count.
func blasThreads() int { return int(C.openblas_get_num_threads()) }

// sgemm is C = alpha*op(A)*op(B) + beta*C on row-major float32 matrices.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if tA {
		ta = C.CblasTrans
	}
	if tB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda), (*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}
