// dense.h: the fused dense layer, c = act(a @ op(b) * alpha + bias), for
// the engine: through OpenBLAS, or on CPUs with AVX-512 through xfer's own
// product on weights packed once into panels (Pack). Included by
// kernels_cgo.go after act.h, whose xk_fwd adds the bias and applies the
// activation while c is still in cache.
#ifndef XFER_KERNELS_DENSE_H
#define XFER_KERNELS_DENSE_H

#include <cblas.h>
#include <immintrin.h>
#include "act.h"

// xfer's own matrix product for fused dense layers on CPUs with AVX-512:
// y[m,n] = alpha * x[m,k] @ W, with W packed once (Pack) into panels of 32
// columns (panel j holds W[:, 32j:32j+32] as k rows of 32 floats,
// zero-padded past n). A tile of up to
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
	if (bias != NULL || act != XK_NONE) xk_fwd(m, n, c, ldc, bias, c, ldc, act, p1, p2);
}

// xfer_dense_packed is xfer_dense with the product by packed weights.
static void xfer_dense_packed(int m, int n, int k, float alpha, const float *a, const float *p, float *c,
		const float *bias, int act, float p1, float p2) {
	xfer_gemm_packed(m, n, k, alpha, a, k, p, c, n);
	if (bias != NULL || act != XK_NONE) xk_fwd(m, n, c, n, bias, c, n, act, p1, p2);
}

#endif
