//go:build cgo && !xfer_purego

package engine

/*
#cgo LDFLAGS: -lopenblas
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
char* openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);

// xfer_avx512_kernels switches a DYNAMIC_ARCH OpenBLAS that picked AVX2
// kernels (Debian's 0.3.21 calls AVX-512 AMD cores "Haswell" or "Zen") to its
// SkylakeX (AVX-512) kernels, exactly as OPENBLAS_CORETYPE=SkylakeX would at
// start-up. It does nothing when the user set OPENBLAS_CORETYPE or the CPU
// lacks AVX-512 F/BW/DQ/VL. It returns 1 when it switched.
static int xfer_avx512_kernels(void) {
	const char *core = openblas_get_corename();
	if (getenv("OPENBLAS_CORETYPE") != NULL || core == NULL) return 0;
	if (strcmp(core, "Haswell") != 0 && strcmp(core, "Zen") != 0) return 0;
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
	    !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl")) return 0;
	setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
	gotoblas_dynamic_quit();
	gotoblas_dynamic_init();
	unsetenv("OPENBLAS_CORETYPE");
	return strcmp(openblas_get_corename(), "SkylakeX") == 0;
}
*/
import "C"

import "unsafe"

const blasName = "openblas"

// init runs before main, while no goroutine can be inside OpenBLAS: the
// kernel switch is not safe during a BLAS call. The switch is process-wide
// (finetune shares the library) and measured 1.45x faster on model A at
// batch 256 (CPU time, Zen with AVX-512; see bench_test.go).
func init() { C.xfer_avx512_kernels() }

// BLASCore names the OpenBLAS kernel family in use (e.g. "SkylakeX").
func BLASCore() string { return C.GoString(C.openblas_get_corename()) }

// setBLASThreads sets OpenBLAS's own thread count (process-wide).
func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// blasSingle makes sure OpenBLAS runs single-threaded inside the engine's
// own parallel blocks (another package may have changed the process-wide
// count since).
func blasSingle() {
	if C.openblas_get_num_threads() != 1 {
		C.openblas_set_num_threads(1)
	}
}

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
		// c[0,:] = alpha * op(B)^T a + beta c: with B [k,n] that is B^T a.
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
