//go:build cgo && !xfer_purego

package blas32

/*
#cgo LDFLAGS: -lopenblas
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cblas.h>
char* openblas_get_corename(void);
char* openblas_get_config(void);
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);

// xfer_avx512_kernels switches a DYNAMIC_ARCH OpenBLAS that picked kernels
// without AVX-512 on a CPU that has it (Debian's 0.3.21 calls AVX-512 AMD
// cores "Haswell" or "Zen", and Intel models newer than it knows, such as
// Emerald Rapids, "Prescott": SSE3) to its SkylakeX (AVX-512) kernels,
// exactly as OPENBLAS_CORETYPE=SkylakeX would at start-up. It does nothing
// when the user set OPENBLAS_CORETYPE, OpenBLAS chose AVX-512 kernels
// itself, or the CPU lacks AVX-512 F/BW/DQ/VL. It returns 1 when it
// switched.
static int xfer_avx512_kernels(void) {
	const char *core = openblas_get_corename();
	if (getenv("OPENBLAS_CORETYPE") != NULL || core == NULL) return 0;
	if (strcmp(core, "SkylakeX") == 0 || strcasecmp(core, "Cooperlake") == 0 || strcasecmp(core, "SapphireRapids") == 0) return 0;
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

import (
	"strings"
	"unsafe"
)

// Name names the BLAS this package was built with.
const Name = "openblas"

// OpenBLAS reports whether Name is "openblas" (a constant, so that callers'
// OpenBLAS-only paths compile away in the pure-Go build).
const OpenBLAS = true

// init runs before main, while no goroutine can be inside OpenBLAS: the
// kernel switch is not safe during a BLAS call (see the package doc).
func init() { C.xfer_avx512_kernels() }

// Version names the BLAS library and its build, as OpenBLAS reports it
// ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64").
func Version() string { return strings.Join(strings.Fields(C.GoString(C.openblas_get_config())), " ") }

// Core names the OpenBLAS kernel family in use (e.g. "SkylakeX").
func Core() string { return C.GoString(C.openblas_get_corename()) }

// SetThreads sets OpenBLAS's own thread count, process-wide (n < 1 means
// 1).
func SetThreads(n int) { C.openblas_set_num_threads(C.int(max(n, 1))) }

// Threads returns OpenBLAS's thread count.
func Threads() int { return int(C.openblas_get_num_threads()) }

// Sgemm is C = alpha*op(A)*op(B) + beta*C on row-major matrices, op(A)
// [m,k], op(B) [k,n], C [m,n], where op transposes when tA or tB. With
// k = 0 it is C = beta*C (beta 0 clears C, as in BLAS).
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, trans(tA), trans(tB), C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda), (*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// Sgemv is y = alpha*op(A)*x + beta*y with A a row-major [m,n] matrix
// (op(A) is A^T [n,m] when tA) and unit-stride x and y. With an empty
// product (n = 0, or m = 0 when tA) it is y = beta*y.
func Sgemv(tA bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	rows, cols := m, n // of op(A)
	if tA {
		rows, cols = n, m
	}
	if rows == 0 {
		return
	}
	if cols == 0 {
		scale(1, rows, beta, y, rows)
		return
	}
	C.cblas_sgemv(C.CblasRowMajor, trans(tA), C.blasint(m), C.blasint(n), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda), (*C.float)(unsafe.Pointer(&x[0])), 1,
		C.float(beta), (*C.float)(unsafe.Pointer(&y[0])), 1)
}

func trans(t bool) uint32 {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}
