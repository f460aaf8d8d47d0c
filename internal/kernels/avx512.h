// avx512.h: AVX-512 kernels for the commonest convolution shapes, each
// with the bits of its Go loop: xk_dw3, the 3x3 depthwise convolution of
// stride 1 or 2 (DepthwiseGo), read straight from the input rows with
// masked loads instead of through zero-padded phase planes; and
// xk_act16, the in-register activations (None, Relu, Clip) that it and
// pointwise.h apply before a vector is stored. Included by kernels_cgo.go
// after act.h and conv.h.
#ifndef XFER_KERNELS_AVX512_H
#define XFER_KERNELS_AVX512_H

#include <immintrin.h>
#include "act.h"

#define XK_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))

// xk_gomax16 is xk_gomax on 16 lanes, the same sequence: flip both signs,
// MINPS twice (the second operand unless the first is less, as MINSS),
// OR the two results, flip back.
static inline __attribute__((always_inline)) XK_AVX512 __m512 xk_gomax16(__m512 x, __m512 y) {
	const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32((int)0x80000000u));
	__m512 xs = _mm512_xor_ps(x, sign), ys = _mm512_xor_ps(y, sign);
	__m512 r1 = _mm512_min_ps(xs, ys);
	__m512 r2 = _mm512_min_ps(r1, xs);
	return _mm512_xor_ps(_mm512_or_ps(r1, r2), sign);
}

// xk_gomin16 is xk_gomin on 16 lanes.
static inline __attribute__((always_inline)) XK_AVX512 __m512 xk_gomin16(__m512 x, __m512 y) {
	__m512 r1 = _mm512_min_ps(x, y);
	__m512 r2 = _mm512_min_ps(r1, x);
	return _mm512_or_ps(r1, r2);
}

// xk_inreg reports whether xk_act16 applies act (the others run after the
// store, through xk_fwd_body).
static inline __attribute__((always_inline)) int xk_inreg(int act) {
	return act == XK_NONE || act == XK_RELU || act == XK_CLIP;
}

// xk_act16 is xk_fwd_body's Relu (max(v, 0)) and Clip (min(max(v, lo),
// hi)) on 16 lanes; v unchanged for any other act.
static inline __attribute__((always_inline)) XK_AVX512 __m512 xk_act16(__m512 v, int act, float p1, float p2) {
	if (act == XK_RELU) return xk_gomax16(v, _mm512_setzero_ps());
	if (act == XK_CLIP) return xk_gomin16(xk_gomax16(v, _mm512_set1_ps(p1)), _mm512_set1_ps(p2));
	return v;
}

// xk_lanes is the mask of lanes l in [0, 16) with lo <= s + l < hi.
static inline __attribute__((always_inline)) __mmask16 xk_lanes(int s, int lo, int hi) {
	int a = lo - s, b = hi - s; // lanes [a, b)
	a = a < 0 ? 0 : a;
	b = b > 16 ? 16 : b;
	if (b <= a) return 0;
	return (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1));
}

// xk_dw3_rows computes R output rows from oh0 (R <= XK_DW3_R) of one
// channel, 16 outputs of each at a time: every input row under them is
// loaded once per tap column (three vectors: lanes outside the input
// masked to 0; for stride 2 two loads compacted to their even lanes) and
// added to each output row it serves, so that each output still sums its
// taps in order (row by row, left to right) and the R sums are
// independent chains.
static inline __attribute__((always_inline)) XK_AVX512 void xk_dw3_rows(const int R, const float *xc, int H, int W,
		int OW, int S, int PT, int PL, int oh0, const __m512 *wv, const float *b, float *yc, int act, float p1,
		float p2) {
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
	const int inreg = xk_inreg(act);
	for (int j0 = 0; j0 < OW; j0 += 16) {
		const int nl = OW - j0 < 16 ? OW - j0 : 16;
		__mmask16 ma[3], mb[3];
		for (int kw = 0; kw < 3; kw++) {
			const int s = j0 * S - PL + kw; // the input column of lane 0
			ma[kw] = xk_lanes(s, 0, W);
			mb[kw] = xk_lanes(s + 16, 0, W);
		}
		__m512 acc[4];
#pragma GCC unroll 4
		for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
		const int rows = (R - 1) * S + 3; // input rows under the R output rows
		for (int q = 0; q < rows; q++) {
			const int ih = oh0 * S - PT + q;
			__m512 v[3];
			if (ih >= 0 && ih < H) {
				const float *row = xc + (size_t)ih * W + j0 * S - PL;
				for (int kw = 0; kw < 3; kw++) {
					if (S == 1) {
						v[kw] = _mm512_maskz_loadu_ps(ma[kw], row + kw);
					} else {
						__m512 a = _mm512_maskz_loadu_ps(ma[kw], row + kw);
						__m512 c = _mm512_maskz_loadu_ps(mb[kw], row + kw + 16);
						v[kw] = _mm512_permutex2var_ps(a, even, c);
					}
				}
			} else {
				v[0] = v[1] = v[2] = _mm512_setzero_ps();
			}
#pragma GCC unroll 4
			for (int r = 0; r < R; r++) {
				const int kh = q - r * S;
				if (kh < 0 || kh > 2) continue;
				acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(wv[kh * 3], v[0]));
				acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(wv[kh * 3 + 1], v[1]));
				acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(wv[kh * 3 + 2], v[2]));
			}
		}
#pragma GCC unroll 4
		for (int r = 0; r < R; r++) {
			__m512 o = acc[r];
			if (b) o = _mm512_add_ps(o, _mm512_set1_ps(*b));
			if (inreg) o = xk_act16(o, act, p1, p2);
			_mm512_mask_storeu_ps(yc + (size_t)(oh0 + r) * OW + j0, (__mmask16)((1u << nl) - 1), o);
		}
	}
	if (!inreg) {
		for (int r = 0; r < R; r++) {
			float *yr = yc + (size_t)(oh0 + r) * OW;
			xk_fwd_body(1, OW, yr, OW, NULL, yr, OW, act, p1, p2);
		}
	}
}

// XK_DW3_R is how many output rows xk_dw3 computes together.
#define XK_DW3_R 4

// xk_dw3 is DepthwiseGo for a 3x3 kernel, dilation 1, stride S (1 or 2)
// in both directions, any pads; g as for xk_dw_body: read straight from
// the input (xk_dw3_rows), XK_DW3_R output rows at a time. The padding's
// taps add w*0 as in the Go loop (an infinite weight gives NaN there
// too); then the bias and the activation (in registers for None, Relu and
// Clip; the others on the stored rows).
static XK_AVX512 void xk_dw3(const int *g, const float *x, const float *w, const float *bias, float *y, int c0,
		int c1, int act, float p1, float p2) {
	const int H = g[0], W = g[1], OH = g[2], OW = g[3], S = g[6], PT = g[10], PL = g[11];
	const size_t in = (size_t)H * W, out = (size_t)OH * OW;
	for (int c = c0; c < c1; c++) {
		const float *xc = x + c * in;
		float *yc = y + c * out;
		__m512 wv[9];
		for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[(size_t)c * 9 + t]);
		const float *b = bias ? bias + c : NULL;
		int oh = 0;
		for (; oh + XK_DW3_R <= OH; oh += XK_DW3_R) {
			xk_dw3_rows(XK_DW3_R, xc, H, W, OW, S, PT, PL, oh, wv, b, yc, act, p1, p2);
		}
		switch (OH - oh) {
		case 3: xk_dw3_rows(3, xc, H, W, OW, S, PT, PL, oh, wv, b, yc, act, p1, p2); break;
		case 2: xk_dw3_rows(2, xc, H, W, OW, S, PT, PL, oh, wv, b, yc, act, p1, p2); break;
		case 1: xk_dw3_rows(1, xc, H, W, OW, S, PT, PL, oh, wv, b, yc, act, p1, p2); break;
		}
	}
}

// xk_dw3_fits reports whether xk_dw3 runs geometry g.
static int xk_dw3_fits(const int *g) {
	return xk_level() == 2 && g[4] == 3 && g[5] == 3 && g[6] == g[7] && (g[6] == 1 || g[6] == 2) && g[8] == 1 &&
	       g[9] == 1;
}

#endif
