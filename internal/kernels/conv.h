// conv.h: the vectorised C twins of conv.go's DepthwiseGo, MaxPoolGo,
// Im2colGo, RowBiasActGo and AddActGo, included by kernels_cgo.go after act.h (whose pragmas,
// no FMA contraction, make them round as the Go loops do). On AVX-512 a
// 3x3 depthwise convolution of stride 1 or 2 runs as avx512.h's xk_dw3.
#ifndef XFER_KERNELS_CONV_H
#define XFER_KERNELS_CONV_H

#include <stdlib.h>
#include "act.h"
#include "avx512.h"

// xk_v8 is eight floats; xk_v8u the same at any float's alignment.
typedef float xk_v8 __attribute__((vector_size(32)));
typedef float xk_v8u __attribute__((vector_size(32), aligned(4)));

// xk_dw_taps sets out[i] = sum over taps t of wt[t]*xp[i+off[t]] for i in
// [0, n), n a multiple of 8, each sum from 0 in tap order, 32 outputs at a
// time in registers.
static inline __attribute__((always_inline)) void xk_dw_taps(int n, const float *xp, const int *off,
		const float *wt, int nt, float *out) {
	int i = 0; // n is a multiple of 8
	for (; i + 32 <= n; i += 32) {
		xk_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
		for (int t = 0; t < nt; t++) {
			const float *p = xp + i + off[t];
			const float wv = wt[t];
			a0 = a0 + wv * *(const xk_v8u *)(p);
			a1 = a1 + wv * *(const xk_v8u *)(p + 8);
			a2 = a2 + wv * *(const xk_v8u *)(p + 16);
			a3 = a3 + wv * *(const xk_v8u *)(p + 24);
		}
		*(xk_v8u *)(out + i) = a0;
		*(xk_v8u *)(out + i + 8) = a1;
		*(xk_v8u *)(out + i + 16) = a2;
		*(xk_v8u *)(out + i + 24) = a3;
	}
	for (; i < n; i += 8) {
		xk_v8 a = {0};
		for (int t = 0; t < nt; t++) a = a + wt[t] * *(const xk_v8u *)(xp + i + off[t]);
		*(xk_v8u *)(out + i) = a;
	}
}

// xk_planes splits the plane xc [H, W], padded with fill (PT rows above,
// PL columns left, as far as the planes reach), into SH*SW phase planes of
// Hq x Wq at buf: plane (ph, pw) holds the padded plane's rows ph, ph+SH,
// ... and columns pw, pw+SW, ...
static inline __attribute__((always_inline)) void xk_planes(const float *xc, int H, int W, int SH, int SW,
		int PT, int PL, int Hq, int Wq, float *buf, float fill) {
	const size_t psize = (size_t)Hq * Wq;
	for (int ph = 0; ph < SH; ph++) {
		for (int pw = 0; pw < SW; pw++) {
			float *pl = buf + (size_t)(ph * SW + pw) * psize;
			for (int r = 0; r < Hq; r++) {
				float *dst = pl + (size_t)r * Wq;
				const int ih = r * SH + ph - PT;
				if (ih < 0 || ih >= H) {
					for (int j = 0; j < Wq; j++) dst[j] = fill;
					continue;
				}
				const float *src = xc + (size_t)ih * W;
				if (SW == 1) { // fill, the row, fill
					int lo = PL < Wq ? PL : Wq, hi = PL + W < Wq ? PL + W : Wq;
					for (int j = 0; j < lo; j++) dst[j] = fill;
					if (hi > lo) memcpy(dst + lo, src + (lo - PL), (size_t)(hi - lo) * sizeof(float));
					for (int j = hi > lo ? hi : lo; j < Wq; j++) dst[j] = fill;
					continue;
				}
				// Columns j with iw = j*SW + pw - PL inside [0, W).
				int lo = (PL - pw + SW - 1) / SW, hi = (W + PL - pw + SW - 1) / SW;
				lo = lo < 0 ? 0 : lo > Wq ? Wq : lo;
				hi = hi < lo ? lo : hi > Wq ? Wq : hi;
				for (int j = 0; j < lo; j++) dst[j] = fill;
				const float *s0 = src + pw - PL;
				if (SW == 2) { // a constant stride vectorises
					for (int j = lo; j < hi; j++) dst[j] = s0[2 * j];
				} else {
					for (int j = lo; j < hi; j++) dst[j] = s0[j * SW];
				}
				for (int j = hi; j < Wq; j++) dst[j] = fill;
			}
		}
	}
}

// xk_dw_chunk is how many outputs (with the Wq-OW dropped ones past each
// row) xk_dw_body computes at a time: 16 KB, so that they are still in L1
// for the bias, the activation and the copy to y.
#define XK_DW_CHUNK 4096

// xk_dw_body is DepthwiseGo for channels [c0, c1); g holds H, W, OH, OW,
// KH, KW, SH, SW, DH, DW, PT, PL. Each channel's zero-padded input is
// first split into SH*SW phase planes of Hq x Wq (plane (ph, pw) holds the
// padded input's rows ph, ph+SH, ... and columns pw, pw+SW, ...), so that
// every tap reads one plane at a fixed offset from the output's position:
// output (oh, ow) is at i = oh*Wq + ow and tap (kh, kw) reads plane
// (kh*DH % SH, kw*DW % SW) at i + (kh*DH/SH)*Wq + kw*DW/SW. The taps then
// run over blocks of whole rows at once (xk_dw_taps; the Wq-OW columns
// past each row are computed and dropped), the same sums in the same order
// as the Go loop, and each block gets its bias and activation and goes to
// y while it is in L1. Returns 0 when out of memory.
static inline __attribute__((always_inline)) int xk_dw_body(const int *g, const float *x, const float *w,
		const float *bias, float *y, int c0, int c1, int act, float p1, float p2) {
	const int H = g[0], W = g[1], OH = g[2], OW = g[3], KH = g[4], KW = g[5];
	const int SH = g[6], SW = g[7], DH = g[8], DW = g[9], PT = g[10], PL = g[11];
	const size_t in = (size_t)H * W, out = (size_t)OH * OW, ks = (size_t)KH * KW;
	const int Hq = OH + (KH - 1) * DH / SH, Wq = OW + (KW - 1) * DW / SW;
	// Rows per block; a block's outputs rounded up to whole vectors (the
	// extra ones are dropped like the columns past each row; their taps
	// may read the 8 floats of slack after the last plane).
	const int rows = Wq >= XK_DW_CHUNK ? 1 : XK_DW_CHUNK / Wq < OH ? XK_DW_CHUNK / Wq : OH;
	const size_t psize = (size_t)Hq * Wq, nmax = ((size_t)(rows - 1) * Wq + OW + 7) & ~(size_t)7;
	const size_t planes = (size_t)SH * SW * psize;
	float *buf = malloc((planes + 8 + nmax) * sizeof(float));
	int *off = malloc(ks * sizeof(int));
	if (!buf || !off) {
		free(buf);
		free(off);
		return 0;
	}
	float *flat = buf + planes + 8;
	for (int j = 0; j < 8; j++) buf[planes + j] = 0.0f;
	for (int kh = 0; kh < KH; kh++) {
		for (int kw = 0; kw < KW; kw++) {
			const int plane = (kh * DH % SH) * SW + kw * DW % SW;
			off[kh * KW + kw] = (int)(plane * psize) + (kh * DH / SH) * Wq + kw * DW / SW;
		}
	}
	for (int c = c0; c < c1; c++) {
		xk_planes(x + c * in, H, W, SH, SW, PT, PL, Hq, Wq, buf, 0.0f);
		for (int r0 = 0; r0 < OH; r0 += rows) {
			const int nr = OH - r0 < rows ? OH - r0 : rows;
			const size_t n = ((size_t)(nr - 1) * Wq + OW + 7) & ~(size_t)7;
			xk_dw_taps((int)n, buf + (size_t)r0 * Wq, off, w + c * ks, (int)ks, flat);
			if (bias) {
				const float b = bias[c];
				for (size_t j = 0; j < n; j++) flat[j] = flat[j] + b;
			}
			if (act != XK_NONE) xk_fwd_body(1, (int)n, flat, (int)n, NULL, flat, (int)n, act, p1, p2);
			float *yc = y + c * out + (size_t)r0 * OW;
			for (int oh = 0; oh < nr; oh++) memcpy(yc + (size_t)oh * OW, flat + (size_t)oh * Wq, (size_t)OW * sizeof(float));
		}
	}
	free(buf);
	free(off);
	return 1;
}

// xk_maxpool_body is MaxPoolGo for planes [c0, c1), on the phase planes
// of xk_dw_body padded with -Inf (a tap there never wins): acc starts at
// -Inf, then per tap acc = v if v > acc or v is NaN, over the whole plane.
static inline __attribute__((always_inline)) int xk_maxpool_body(const int *g, const float *x, float *y, int c0,
		int c1) {
	const int H = g[0], W = g[1], OH = g[2], OW = g[3], KH = g[4], KW = g[5];
	const int SH = g[6], SW = g[7], DH = g[8], DW = g[9], PT = g[10], PL = g[11];
	const size_t in = (size_t)H * W, out = (size_t)OH * OW;
	const int Hq = OH + (KH - 1) * DH / SH, Wq = OW + (KW - 1) * DW / SW;
	const size_t psize = (size_t)Hq * Wq, n = (size_t)(OH - 1) * Wq + OW;
	const size_t planes = (size_t)SH * SW * psize;
	float *buf = malloc((planes + n) * sizeof(float));
	if (!buf) return 0;
	float *acc = buf + planes;
	const float ninf = -INFINITY;
	for (int c = c0; c < c1; c++) {
		xk_planes(x + c * in, H, W, SH, SW, PT, PL, Hq, Wq, buf, ninf);
		for (size_t i = 0; i < n; i++) acc[i] = ninf;
		for (int kh = 0; kh < KH; kh++) {
			for (int kw = 0; kw < KW; kw++) {
				const int plane = (kh * DH % SH) * SW + kw * DW % SW;
				const float *src = buf + plane * psize + (size_t)(kh * DH / SH) * Wq + kw * DW / SW;
				for (size_t i = 0; i < n; i++) {
					const float v = src[i];
					acc[i] = xk_sel(v > acc[i] || v != v, v, acc[i]);
				}
			}
		}
		for (int oh = 0; oh < OH; oh++) memcpy(y + c * out + (size_t)oh * OW, acc + (size_t)oh * Wq, (size_t)OW * sizeof(float));
	}
	free(buf);
	return 1;
}

// xk_im2col_body is Im2colGo; g as for xk_dw_body.
static inline __attribute__((always_inline)) void xk_im2col_body(const int *g, const float *x, int channels,
		float *col, size_t ld) {
	const int H = g[0], W = g[1], OH = g[2], OW = g[3], KH = g[4], KW = g[5];
	const int SH = g[6], SW = g[7], DH = g[8], DW = g[9], PT = g[10], PL = g[11];
	const size_t in = (size_t)H * W;
	size_t row = 0;
	for (int ch = 0; ch < channels; ch++) {
		const float *xc = x + ch * in;
		for (int kh = 0; kh < KH; kh++) {
			for (int kw = 0; kw < KW; kw++, row++) {
				float *dst = col + row * ld;
				// Output columns [lo, hi) whose tap is inside the row.
				const int off = kw * DW - PL;
				int lo = off < 0 ? (-off + SW - 1) / SW : 0, hi = (W - off + SW - 1) / SW;
				lo = lo > OW ? OW : lo;
				hi = hi > OW ? OW : hi < lo ? lo : hi;
				for (int oh = 0; oh < OH; oh++) {
					float *d = dst + (size_t)oh * OW;
					const int ih = oh * SH - PT + kh * DH;
					if (ih < 0 || ih >= H) {
						memset(d, 0, (size_t)OW * sizeof(float));
						continue;
					}
					for (int j = 0; j < lo; j++) d[j] = 0.0f;
					const float *s = xc + (size_t)ih * W + off;
					if (SW == 1) {
						if (hi > lo) memcpy(d + lo, s + lo, (size_t)(hi - lo) * sizeof(float));
					} else if (SW == 2) {
						for (int j = lo; j < hi; j++) d[j] = s[2 * j];
					} else {
						for (int j = lo; j < hi; j++) d[j] = s[j * SW];
					}
					for (int j = hi; j < OW; j++) d[j] = 0.0f;
				}
			}
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

// xk_addact_body is AddActGo: y = y + z, then act, in blocks of 2048 so
// that the activation reads them from L1.
static inline __attribute__((always_inline)) void xk_addact_body(size_t n, float *y, const float *z, int act,
		float p1, float p2) {
	for (size_t i0 = 0; i0 < n; i0 += 2048) {
		const int b = n - i0 < 2048 ? (int)(n - i0) : 2048;
		float *yb = y + i0;
		const float *zb = z + i0;
		for (int i = 0; i < b; i++) yb[i] = yb[i] + zb[i];
		if (act != XK_NONE) xk_fwd_body(1, b, yb, b, NULL, yb, b, act, p1, p2);
	}
}

#define XK_CONV_VARIANT(suffix, attr) \
	attr static int xk_dw_##suffix(const int *g, const float *x, const float *w, const float *bias, float *y, \
			int c0, int c1, int act, float p1, float p2) { \
		return xk_dw_body(g, x, w, bias, y, c0, c1, act, p1, p2); \
	} \
	attr static int xk_maxpool_##suffix(const int *g, const float *x, float *y, int c0, int c1) { \
		return xk_maxpool_body(g, x, y, c0, c1); \
	} \
	attr static void xk_im2col_##suffix(const int *g, const float *x, int channels, float *col, size_t ld) { \
		xk_im2col_body(g, x, channels, col, ld); \
	} \
	attr static void xk_rowbias_##suffix(int m, int n, float *y, int ldy, const float *bias, int act, float p1, float p2) { \
		xk_rowbias_body(m, n, y, ldy, bias, act, p1, p2); \
	} \
	attr static void xk_addact_##suffix(size_t n, float *y, const float *z, int act, float p1, float p2) { \
		xk_addact_body(n, y, z, act, p1, p2); \
	}

XK_CONV_VARIANT(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))))
XK_CONV_VARIANT(avx2, __attribute__((target("avx2,fma"))))
XK_CONV_VARIANT(base, )

static int xk_dw(const int *g, const float *x, const float *w, const float *bias, float *y, int c0, int c1,
		int act, float p1, float p2) {
	if (xk_dw3_fits(g)) {
		xk_dw3(g, x, w, bias, y, c0, c1, act, p1, p2);
		return 1;
	}
	switch (xk_level()) {
	case 2: return xk_dw_avx512(g, x, w, bias, y, c0, c1, act, p1, p2);
	case 1: return xk_dw_avx2(g, x, w, bias, y, c0, c1, act, p1, p2);
	default: return xk_dw_base(g, x, w, bias, y, c0, c1, act, p1, p2);
	}
}

static int xk_maxpool(const int *g, const float *x, float *y, int c0, int c1) {
	switch (xk_level()) {
	case 2: return xk_maxpool_avx512(g, x, y, c0, c1);
	case 1: return xk_maxpool_avx2(g, x, y, c0, c1);
	default: return xk_maxpool_base(g, x, y, c0, c1);
	}
}

static void xk_im2col(const int *g, const float *x, int channels, float *col, size_t ld) {
	switch (xk_level()) {
	case 2: xk_im2col_avx512(g, x, channels, col, ld); break;
	case 1: xk_im2col_avx2(g, x, channels, col, ld); break;
	default: xk_im2col_base(g, x, channels, col, ld);
	}
}

static void xk_rowbias(int m, int n, float *y, int ldy, const float *bias, int act, float p1, float p2) {
	switch (xk_level()) {
	case 2: xk_rowbias_avx512(m, n, y, ldy, bias, act, p1, p2); break;
	case 1: xk_rowbias_avx2(m, n, y, ldy, bias, act, p1, p2); break;
	default: xk_rowbias_base(m, n, y, ldy, bias, act, p1, p2);
	}
}

static void xk_addact(size_t n, float *y, const float *z, int act, float p1, float p2) {
	switch (xk_level()) {
	case 2: xk_addact_avx512(n, y, z, act, p1, p2); break;
	case 1: xk_addact_avx2(n, y, z, act, p1, p2); break;
	default: xk_addact_base(n, y, z, act, p1, p2);
	}
}

#endif
