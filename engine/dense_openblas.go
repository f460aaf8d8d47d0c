//go:build cgo && !xfer_purego

package engine

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lopenblas
// No fused multiply-adds, so the C kernels round as the Go ones (internal/mathf,
// op_unary.go) and return the same bits; no trapping math, so that GCC
// turns the selects into vector blends (FP exceptions are not observed).
#pragma GCC optimize ("fp-contract=off", "no-trapping-math")
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <cblas.h>
#include <stddef.h>
#include <immintrin.h>

// The engine's own matrix product for fused dense layers on CPUs with
// AVX-512: y[m,n] = alpha * x[m,k] @ W, with W packed once, when the
// Session is planned, into panels of 32 columns (panel j holds W[:,
// 32j:32j+32] as k rows of 32 floats, zero-padded past n). A tile of up to
// XFER_MR rows by one panel keeps 2*XFER_MR 16-float accumulators in
// registers; each step over k loads one 32-float row of the panel and
// broadcasts one element of each x row. Every output is the sum over k in
// order 0..k-1 of fused multiply-adds, whatever the tiling and the thread
// split, so results do not depend on the thread count.

#define XFER_MR 12
#define XFER_NR 32

__attribute__((target("avx512f"), always_inline)) static inline void xfer_tile(const int mr, int k,
		const float *a, int lda, const float *p, float *c, int ldc, int nc, float alpha) {
	__m512 acc0[XFER_MR], acc1[XFER_MR];
#pragma GCC unroll 12
	for (int r = 0; r < mr; r++) {
		acc0[r] = _mm512_setzero_ps();
		acc1[r] = _mm512_setzero_ps();
	}
	for (int kk = 0; kk < k; kk++) {
		__m512 b0 = _mm512_loadu_ps(p + (size_t)kk * XFER_NR);
		__m512 b1 = _mm512_loadu_ps(p + (size_t)kk * XFER_NR + 16);
#pragma GCC unroll 12
		for (int r = 0; r < mr; r++) {
			__m512 av = _mm512_set1_ps(a[(size_t)r * lda + kk]);
			acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
			acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
		}
	}
	__mmask16 m0 = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
	__mmask16 m1 = nc >= 32 ? (__mmask16)0xFFFF : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1) : 0;
	__m512 al = _mm512_set1_ps(alpha);
#pragma GCC unroll 12
	for (int r = 0; r < mr; r++) {
		__m512 v0 = acc0[r], v1 = acc1[r];
		if (alpha != 1.0f) {
			v0 = _mm512_mul_ps(v0, al);
			v1 = _mm512_mul_ps(v1, al);
		}
		_mm512_mask_storeu_ps(c + (size_t)r * ldc, m0, v0);
		_mm512_mask_storeu_ps(c + (size_t)r * ldc + 16, m1, v1);
	}
}

// xfer_gemm_packed is c = alpha * a @ W for a [m,k] (row stride lda), W
// packed as above for n columns, c [m,n] (row stride ldc). Row blocks of
// XFER_MR outside, panels inside: the block of a stays in L1 while the
// panels stream from L2.
__attribute__((target("avx512f"))) static void xfer_gemm_packed(int m, int n, int k, float alpha,
		const float *a, int lda, const float *p, float *c, int ldc) {
	int panels = (n + XFER_NR - 1) / XFER_NR;
	for (int i = 0; i < m; i += XFER_MR) {
		int mr = m - i < XFER_MR ? m - i : XFER_MR;
		const float *ai = a + (size_t)i * lda;
		float *ci = c + (size_t)i * ldc;
		for (int jp = 0; jp < panels; jp++) {
			const float *pj = p + (size_t)jp * k * XFER_NR;
			float *cij = ci + jp * XFER_NR;
			int nc = n - jp * XFER_NR < XFER_NR ? n - jp * XFER_NR : XFER_NR;
			switch (mr) {
			case 12: xfer_tile(12, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 11: xfer_tile(11, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 10: xfer_tile(10, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 9: xfer_tile(9, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 8: xfer_tile(8, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 7: xfer_tile(7, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 6: xfer_tile(6, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 5: xfer_tile(5, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 4: xfer_tile(4, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 3: xfer_tile(3, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			case 2: xfer_tile(2, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			default: xfer_tile(1, k, ai, lda, pj, cij, ldc, nc, alpha); break;
			}
		}
	}
}

static int xfer_has_avx512(void) {
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f");
}


// Activation codes (denseActs in Go).
enum { XFER_NONE, XFER_RELU, XFER_LEAKY, XFER_ELU, XFER_SELU, XFER_SIGMOID, XFER_TANH };

// xfer_exp is e**x in float32, the Cephes expf algorithm (range
// reduction, minimax polynomial; S. L. Moshier, Cephes Math Library,
// expf.c) step for step as mathf.Exp (internal/mathf), written with selects instead
// of branches so that the compiler vectorises the loops that call it.
// Built with -ffp-contract=off, it returns the same bits as mathf.Exp.
static inline __attribute__((always_inline)) float xfer_exp(float x) {
	const float hi = 88.72283905206835f, lo = -103.97207708f;
	float xc = x > hi ? hi : x;
	xc = xc < lo ? lo : xc;
	xc = x != x ? 0.0f : xc;
	float fx = floorf(xc * 1.44269504088896341f + 0.5f);
	xc = xc - fx * 0.693359375f - fx * -2.12194440e-4f;
	float z = xc * xc;
	float y = ((((1.9875691500e-4f * xc + 1.3981999507e-3f) * xc + 8.3334519073e-3f) * xc +
	            4.1665795894e-2f) * xc + 1.6666665459e-1f) * xc + 5.0000001201e-1f;
	y = y * z + xc + 1.0f;
	int32_t n = (int32_t)fx;
	// Denormal results scale in two steps (2**(n+126) * 2**-126), results
	// near overflow as 2**(n-1) * 2, as mathf.Exp does.
	int32_t k = n < -126 ? -126 : (n > 127 ? 1 : 0);
	int32_t b1 = (n - k + 127) << 23, b2 = (k + 127) << 23;
	float s1, s2;
	memcpy(&s1, &b1, sizeof s1);
	memcpy(&s2, &b2, sizeof s2);
	float r = y * s1 * s2;
	r = x > hi ? INFINITY : r;
	r = x < lo ? 0.0f : r;
	return x != x ? x : r;
}

// xfer_finish_body adds bias (may be NULL) to each of the m rows of c
// (n columns, stride ldc) and applies activation act with parameters p1,
// p2 (LeakyRelu/Elu alpha; Selu alpha and gamma). Each branch is a select
// the compiler turns into vector blends; NaN propagates as in the Go
// kernels (op_unary.go).
static inline __attribute__((always_inline)) void xfer_finish_body(int m, int n, float *c, int ldc,
		const float *bias, int act, float p1, float p2) {
	for (int i = 0; i < m; i++) {
		float *row = c + (size_t)i * ldc;
		if (bias) {
			for (int j = 0; j < n; j++) row[j] += bias[j];
		}
		switch (act) {
		case XFER_RELU:
			for (int j = 0; j < n; j++) { float v = row[j]; row[j] = v < 0.0f ? 0.0f : v; }
			break;
		case XFER_LEAKY:
			for (int j = 0; j < n; j++) { float v = row[j]; row[j] = v < 0.0f ? v * p1 : v; }
			break;
		case XFER_ELU:
			for (int j = 0; j < n; j++) {
				float v = row[j];
				float e = p1 * (xfer_exp(v) - 1.0f);
				row[j] = v < 0.0f ? e : v;
			}
			break;
		case XFER_SELU: {
			float ag = p1 * p2;
			for (int j = 0; j < n; j++) {
				float v = row[j];
				float e = ag * xfer_exp(v) - ag;
				row[j] = v <= 0.0f ? e : p2 * v;
			}
			break;
		}
		case XFER_SIGMOID:
			for (int j = 0; j < n; j++) {
				float v = row[j];
				float e = xfer_exp(v >= 0.0f ? -v : v);
				float pos = 1.0f / (1.0f + e), neg = e / (1.0f + e);
				row[j] = v >= 0.0f ? pos : neg;
			}
			break;
		case XFER_TANH:
			for (int j = 0; j < n; j++) {
				float v = row[j];
				float a = v < 0.0f ? -v : v;
				float t = xfer_exp(2.0f * (a > 9.0f ? 9.0f : a));
				float big = 1.0f - 2.0f / (t + 1.0f);
				big = a > 9.0f ? 1.0f : big; // tanh(9) rounds to 1 in float32
				big = v < 0.0f ? -big : big;
				float z = v * v;
				float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
				                1.33314422036e-1f) * z - 3.33332819422e-1f) * z * v + v;
				float r = a >= 0.625f ? big : small;
				row[j] = a != a ? v : r;
			}
			break;
		}
	}
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
static void xfer_finish_avx512(int m, int n, float *c, int ldc, const float *bias, int act, float p1, float p2) {
	xfer_finish_body(m, n, c, ldc, bias, act, p1, p2);
}

__attribute__((target("avx2,fma")))
static void xfer_finish_avx2(int m, int n, float *c, int ldc, const float *bias, int act, float p1, float p2) {
	xfer_finish_body(m, n, c, ldc, bias, act, p1, p2);
}

static void xfer_finish_base(int m, int n, float *c, int ldc, const float *bias, int act, float p1, float p2) {
	xfer_finish_body(m, n, c, ldc, bias, act, p1, p2);
}

static int xfer_isa = -1;

static void xfer_finish(int m, int n, float *c, int ldc, const float *bias, int act, float p1, float p2) {
	if (xfer_isa < 0) {
		__builtin_cpu_init();
		xfer_isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") ? 2 :
		           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
	}
	switch (xfer_isa) {
	case 2: xfer_finish_avx512(m, n, c, ldc, bias, act, p1, p2); break;
	case 1: xfer_finish_avx2(m, n, c, ldc, bias, act, p1, p2); break;
	default: xfer_finish_base(m, n, c, ldc, bias, act, p1, p2);
	}
}

// xfer_dense is c = act(a @ op(b) * alpha + bias) for a [m,k] row-major, b
// [k,n] ([n,k] when transB), c [m,n]: the product, then bias and activation
// while c is still in cache, in one call from Go. A one-row product goes
// through sgemv, which OpenBLAS runs faster.
static void xfer_dense(int transB, int m, int n, int k, float alpha, const float *a, int lda,
		const float *b, int ldb, float *c, int ldc, const float *bias, int act, float p1, float p2) {
	if (m == 1) {
		if (transB) {
			cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, 1, 0.0f, c, 1);
		} else {
			cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, 1, 0.0f, c, 1);
		}
	} else {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha,
			a, lda, b, ldb, 0.0f, c, ldc);
	}
	if (bias != NULL || act != XFER_NONE) xfer_finish(m, n, c, ldc, bias, act, p1, p2);
}
// xfer_dense_packed is xfer_dense with the product by packed weights.
static void xfer_dense_packed(int m, int n, int k, float alpha, const float *a, const float *p, float *c,
		const float *bias, int act, float p1, float p2) {
	xfer_gemm_packed(m, n, k, alpha, a, k, p, c, n);
	if (bias != NULL || act != 0) xfer_finish(m, n, c, n, bias, act, p1, p2);
}
*/
import "C"

import (
	"unsafe"

	"github.com/xferml/xfer/model"
)

// denseActs maps the activations the C kernel runs to its codes; others
// run in Go after the product (fusedDense.act).
var denseActs = map[string]C.int{
	"Relu": C.XFER_RELU, "LeakyRelu": C.XFER_LEAKY, "Elu": C.XFER_ELU, "Selu": C.XFER_SELU,
	"Sigmoid": C.XFER_SIGMOID, "Tanh": C.XFER_TANH,
}

// hasAVX512 enables the engine's own packed product (xfer_gemm_packed).
var hasAVX512 = C.xfer_has_avx512() != 0

// packMaxFloats bounds the weights packed per layer (64 MB of float32): the
// packed copy lives as long as the Session, beside the model's own weights.
const packMaxFloats = 16 << 20

// packParallelMin is the product size (multiply-adds) from which a packed
// product is split over threads. Measured on model A (2 vCPUs, AVX-512,
// bench/predict_vs_ort.sh): splitting its 7.7M multiply-add second layer at
// batch 256, or any of its layers at batch 32, made predictions slower
// (batch 32: 345k samples/s on one thread, 302k split over two); only the
// 60M first layer at batch 256 gains (436k to 494k samples/s).
const packParallelMin = 16_000_000

// packTileRows is XFER_MR, the rows of one tile of the packed product.
const packTileRows = 12

// packRowsMin is the number of rows from which denseBlock uses the packed
// product; below it, OpenBLAS's sgemv (one row) is as fast.
var packRowsMin = 2

// pack prepares f for the engine's own AVX-512 product: w ([k,n], or [n,k]
// when transB) is copied into panels of 32 columns (see xfer_gemm_packed),
// zero-padded. It does nothing without AVX-512 or for very large weights.
func (f *fusedDense) pack(w *model.Tensor) {
	if !hasAVX512 || f.k*f.n == 0 || f.k*f.n > packMaxFloats || len(w.Shape) != 2 {
		return
	}
	const nr = 32 // XFER_NR
	ldw := w.Shape[1]
	panels := (f.n + nr - 1) / nr
	p := make([]float32, panels*f.k*nr)
	for jp := range panels {
		dst := p[jp*f.k*nr : (jp+1)*f.k*nr]
		for c := range min(nr, f.n-jp*nr) {
			j := jp*nr + c
			for kk := range f.k {
				if f.transB {
					dst[kk*nr+c] = w.F32[j*ldw+kk]
				} else {
					dst[kk*nr+c] = w.F32[kk*ldw+j]
				}
			}
		}
	}
	f.packed = p
}

// nativeAct reports whether denseBlock runs activation op itself.
func nativeAct(op string) bool { _, ok := denseActs[op]; return ok }

// denseBlock computes rows [lo, hi) of a fused dense step: y = act(x @
// op(W) * alpha + bias), the product through OpenBLAS and the bias and
// activation in vectorised C (one cgo call for all three).
func (f *fusedDense) denseBlock(x, w []float32, ldw int, y []float32, lo, hi int) {
	if hi <= lo || f.n == 0 {
		return
	}
	yb := y[lo*f.n : hi*f.n]
	if f.k == 0 {
		clear(yb)
		f.finish(yb)
		return
	}
	var bias *C.float
	if f.bias != nil {
		bias = (*C.float)(unsafe.Pointer(&f.bias[0]))
	}
	act := C.int(C.XFER_NONE)
	if f.actOp != "" {
		act = denseActs[f.actOp]
	}
	if f.packed != nil && hi-lo >= packRowsMin {
		C.xfer_dense_packed(C.int(hi-lo), C.int(f.n), C.int(f.k), C.float(f.alpha),
			(*C.float)(unsafe.Pointer(&x[lo*f.k])), (*C.float)(unsafe.Pointer(&f.packed[0])),
			(*C.float)(unsafe.Pointer(&yb[0])), bias, act, C.float(f.actP1), C.float(f.actP2))
	} else {
		f.blasBlock(x, w, ldw, yb, lo, hi, bias, act)
	}
	if f.act != nil && f.actOp == "" {
		f.act(yb, yb)
	}
}

// blasBlock is denseBlock through OpenBLAS.
func (f *fusedDense) blasBlock(x, w []float32, ldw int, yb []float32, lo, hi int, bias *C.float, act C.int) {
	tb := C.int(0)
	if f.transB {
		tb = 1
	}
	C.xfer_dense(tb, C.int(hi-lo), C.int(f.n), C.int(f.k), C.float(f.alpha),
		(*C.float)(unsafe.Pointer(&x[lo*f.k])), C.int(f.k), (*C.float)(unsafe.Pointer(&w[0])), C.int(ldw),
		(*C.float)(unsafe.Pointer(&yb[0])), C.int(f.n), bias, act, C.float(f.actP1), C.float(f.actP2))
}
