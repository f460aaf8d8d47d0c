//go:build cgo && !xfer_purego

package engine

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
*/
import "C"

import "unsafe"

const blasName = "openblas"

func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// sgemm is C = alpha*op(A)*op(B) + beta*C, row-major, through OpenBLAS. A
// one-row product goes through sgemv, which OpenBLAS runs faster.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(m, n, beta, c, ldc)
		return
	}
	if m == 1 && !tA {
		// c[0,:] = alpha * op(B)^T-ish * a[0,:]: with B [k,n] that is B^T a.
		trans := uint32(C.CblasTrans)
		rows, cols := k, n
		if tB { // B is [n,k]: c = B a
			trans = uint32(C.CblasNoTrans)
			rows, cols = n, k
		}
		C.cblas_sgemv(C.CblasRowMajor, trans, C.blasint(rows), C.blasint(cols), C.float(alpha),
			(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), (*C.float)(unsafe.Pointer(&a[0])), 1,
			C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), 1)
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
