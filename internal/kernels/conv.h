// conv.h: the vectorised C twins of conv.go's DepthwiseGo and
// RowBiasActGo, included by kernels_cgo.go after act.h (whose pragmas,
// no FMA contraction, make them round as the Go loops do).
#ifndef XFER_KERNELS_CONV_H
#define XFER_KERNELS_CONV_H

#include "act.h"

// xk_dw_body is DepthwiseGo for channels [c0, c1): g holds H, W, OH, OW,
// KH, KW, SH, SW, DH, DW, PT, PL.
static inline __attribute__((always_inline)) void xk_dw_body(const int *g, const float *x, const float *w,
		const float *bias, float *y, int c0, int c1, int act, float p1, float p2) {
	const int H = g[0], W = g[1], OH = g[2], OW = g[3], KH = g[4], KW = g[5];
	const int SH = g[6], SW = g[7], DH = g[8], DW = g[9], PT = g[10], PL = g[11];
	const size_t in = (size_t)H * W, out = (size_t)OH * OW, ks = (size_t)KH * KW;
	for (int c = c0; c < c1; c++) {
		const float *xc = x + c * in, *wc = w + c * ks;
		for (int oh = 0; oh < OH; oh++) {
			float *row = y + c * out + (size_t)oh * OW;
			for (int j = 0; j < OW; j++) row[j] = 0.0f;
			for (int kh = 0; kh < KH; kh++) {
				int ih = oh * SH - PT + kh * DH;
				if (ih < 0 || ih >= H) continue;
				const float *xr = xc + (size_t)ih * W;
				for (int kw = 0; kw < KW; kw++) {
					int off = kw * DW - PL, lo = 0, hi = OW;
					if (off < 0) {
						lo = (-off + SW - 1) / SW;
						if (lo > OW) lo = OW;
					}
					if (off + (OW - 1) * SW >= W) {
						hi = (W - off + SW - 1) / SW;
						if (hi > OW) hi = OW;
						if (hi < lo) hi = lo;
					}
					if (hi < lo) hi = lo;
					const float wv = wc[kh * KW + kw];
					if (SW == 1) {
						const float *xs = xr + off;
						for (int j = lo; j < hi; j++) row[j] = row[j] + wv * xs[j];
					} else {
						for (int j = lo; j < hi; j++) row[j] = row[j] + wv * xr[j * SW + off];
					}
				}
			}
			if (bias) {
				const float b = bias[c];
				for (int j = 0; j < OW; j++) row[j] = row[j] + b;
			}
			if (act != XK_NONE) xk_fwd_body(1, OW, row, OW, NULL, row, OW, act, p1, p2);
		}
	}
}

// xk_rowbias_body is RowBiasActGo: y[r][j] += bias[r], then act.
static inline __attribute__((always_inline)) void xk_rowbias_body(int m, int n, float *y, int ldy,
		const float *bias, int act, float p1, float p2) {
	for (int r = 0; r < m; r++) {
		float *row = y + (size_t)r * ldy;
		if (bias) {
			const float b = bias[r];
			for (int j = 0; j < n; j++) row[j] = row[j] + b;
		}
		if (act != XK_NONE) xk_fwd_body(1, n, row, n, NULL, row, n, act, p1, p2);
	}
}

#define XK_CONV_VARIANT(suffix, attr) \
	attr static void xk_dw_##suffix(const int *g, const float *x, const float *w, const float *bias, float *y, \
			int c0, int c1, int act, float p1, float p2) { \
		xk_dw_body(g, x, w, bias, y, c0, c1, act, p1, p2); \
	} \
	attr static void xk_rowbias_##suffix(int m, int n, float *y, int ldy, const float *bias, int act, float p1, float p2) { \
		xk_rowbias_body(m, n, y, ldy, bias, act, p1, p2); \
	}

XK_CONV_VARIANT(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))))
XK_CONV_VARIANT(avx2, __attribute__((target("avx2,fma"))))
XK_CONV_VARIANT(base, )

static void xk_dw(const int *g, const float *x, const float *w, const float *bias, float *y, int c0, int c1,
		int act, float p1, float p2) {
	switch (xk_level()) {
	case 2: xk_dw_avx512(g, x, w, bias, y, c0, c1, act, p1, p2); break;
	case 1: xk_dw_avx2(g, x, w, bias, y, c0, c1, act, p1, p2); break;
	default: xk_dw_base(g, x, w, bias, y, c0, c1, act, p1, p2);
	}
}

static void xk_rowbias(int m, int n, float *y, int ldy, const float *bias, int act, float p1, float p2) {
	switch (xk_level()) {
	case 2: xk_rowbias_avx512(m, n, y, ldy, bias, act, p1, p2); break;
	case 1: xk_rowbias_avx2(m, n, y, ldy, bias, act, p1, p2); break;
	default: xk_rowbias_base(m, n, y, ldy, bias, act, p1, p2);
	}
}

#endif
