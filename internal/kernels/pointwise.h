// pointwise.h: the C twin of pointwise.go's PointwiseGo, a convolution's
// product y[M, N] = act(W[M, K] @ X[K, N] + bias) in NCHW (a 1x1
// convolution reads X as it is; others read their im2col matrix), on CPUs
// with AVX-512. Included by kernels_cgo.go after act.h and conv.h.
#ifndef XFER_KERNELS_POINTWISE_H
#define XFER_KERNELS_POINTWISE_H

#include <immintrin.h>
#include "act.h"
#include "conv.h"
#include "avx512.h"

// W is packed once (PackPointwise) into blocks of XK_PW_MR rows: block b
// holds rows XK_PW_MR*b.. as K groups of XK_PW_MR floats (the column kk of
// those rows, zero past M), so that a tile's broadcasts read consecutive
// floats. A tile of up to XK_PW_MR rows by 32 columns of y keeps 24
// 16-float accumulators in registers; each step over K loads 32 floats of
// one row of X and broadcasts XK_PW_MR weights. Every output is the sum
// over k in order 0..K-1 of fused multiply-adds from 0, then + bias[r],
// then the activation (in registers for None, Relu and Clip: avx512.h):
// the same for any tiling and thread split.
#define XK_PW_MR 12
#define XK_PW_NR 32

// xk_pw_tile runs k steps of one tile: from 0 when first, else from the
// partial sums stored in y by the previous block of K (exact: they are the
// float32 accumulators themselves, so the chain of fused multiply-adds is
// the same as in one pass); when last, the bias and activation, else the
// partial sums are stored as they are.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"), always_inline)) static inline void
xk_pw_tile(const int mr, int k, const float *p, const float *x, size_t ldx, float *y, size_t ldy, int nc,
		int first, int last, const float *bias, int act, float p1, float p2) {
	__m512 acc0[XK_PW_MR], acc1[XK_PW_MR];
	const __mmask16 m0 = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
	const __mmask16 m1 = nc >= 32 ? (__mmask16)0xFFFF : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1) : 0;
#pragma GCC unroll 12
	for (int r = 0; r < mr; r++) {
		if (first) {
			acc0[r] = _mm512_setzero_ps();
			acc1[r] = _mm512_setzero_ps();
		} else {
			acc0[r] = _mm512_maskz_loadu_ps(m0, y + (size_t)r * ldy);
			acc1[r] = _mm512_maskz_loadu_ps(m1, y + (size_t)r * ldy + 16);
		}
	}
	for (int kk = 0; kk < k; kk++) {
		const float *xr = x + (size_t)kk * ldx;
		__m512 b0 = _mm512_maskz_loadu_ps(m0, xr);
		__m512 b1 = _mm512_maskz_loadu_ps(m1, xr + 16);
		const float *pk = p + (size_t)kk * XK_PW_MR;
#pragma GCC unroll 12
		for (int r = 0; r < mr; r++) {
			__m512 av = _mm512_set1_ps(pk[r]);
			acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
			acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
		}
	}
	if (!last) {
#pragma GCC unroll 12
		for (int r = 0; r < mr; r++) {
			_mm512_mask_storeu_ps(y + (size_t)r * ldy, m0, acc0[r]);
			_mm512_mask_storeu_ps(y + (size_t)r * ldy + 16, m1, acc1[r]);
		}
		return;
	}
	const int inreg = xk_inreg(act);
#pragma GCC unroll 12
	for (int r = 0; r < mr; r++) {
		__m512 v0 = acc0[r], v1 = acc1[r];
		if (bias) {
			__m512 b = _mm512_set1_ps(bias[r]);
			v0 = _mm512_add_ps(v0, b);
			v1 = _mm512_add_ps(v1, b);
		}
		if (inreg) {
			v0 = xk_act16(v0, act, p1, p2);
			v1 = xk_act16(v1, act, p1, p2);
		}
		_mm512_mask_storeu_ps(y + (size_t)r * ldy, m0, v0);
		_mm512_mask_storeu_ps(y + (size_t)r * ldy + 16, m1, v1);
	}
	// Other activations while the tile is in L1 (RowBiasActGo's bits).
	if (!inreg) xk_rowbias_body(mr, nc, y, (int)ldy, NULL, act, p1, p2);
}

// XK_PW_KC is the block of K a pass runs over: its panel of X (K x 32
// floats, 32 KB) stays in L1 while the row blocks go by.
#define XK_PW_KC 256

// xk_pw is PointwiseGo with W packed: K in blocks of XK_PW_KC outside,
// then columns in panels of 32, then row blocks.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))) static void xk_pw(int m, int n, int k,
		const float *p, const float *x, size_t ldx, const float *bias, float *y, size_t ldy, int act, float p1,
		float p2) {
	for (int k0 = 0; k0 < k; k0 += XK_PW_KC) {
		const int kc = k - k0 < XK_PW_KC ? k - k0 : XK_PW_KC;
		const int first = k0 == 0, last = k0 + kc == k;
		for (int j = 0; j < n; j += XK_PW_NR) {
			const int nc = n - j < XK_PW_NR ? n - j : XK_PW_NR;
			const float *xj = x + (size_t)k0 * ldx + j;
			for (int i = 0; i < m; i += XK_PW_MR) {
				const int mr = m - i < XK_PW_MR ? m - i : XK_PW_MR;
				const float *pi = p + (size_t)i * k + (size_t)k0 * XK_PW_MR;
				const float *bi = bias ? bias + i : NULL;
				float *yij = y + (size_t)i * ldy + j;
#define XK_PW_CASE(R) \
	case R: xk_pw_tile(R, kc, pi, xj, ldx, yij, ldy, nc, first, last, bi, act, p1, p2); break;
				switch (mr) {
				XK_PW_CASE(12) XK_PW_CASE(11) XK_PW_CASE(10) XK_PW_CASE(9) XK_PW_CASE(8) XK_PW_CASE(7)
				XK_PW_CASE(6) XK_PW_CASE(5) XK_PW_CASE(4) XK_PW_CASE(3) XK_PW_CASE(2)
				default: xk_pw_tile(1, kc, pi, xj, ldx, yij, ldy, nc, first, last, bi, act, p1, p2); break;
				}
#undef XK_PW_CASE
			}
		}
	}
}

#endif
