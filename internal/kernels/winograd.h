// winograd.h: the vectorised C twins of winograd.go's WinogradInputGo and
// WinogradOutputGo (the same additions in the same order, so the same
// bits), included by kernels_cgo.go after act.h.
#ifndef XFER_KERNELS_WINOGRAD_H
#define XFER_KERNELS_WINOGRAD_H

#include <stdlib.h>
#include <string.h>
#include "act.h"

// xk_wgi_body is WinogradInputGo: each tile row's four padded input rows,
// then B^T over them (whole rows), then B across each tile's columns.
static inline __attribute__((always_inline)) int xk_wgi_body(const float *x, int h, int w, int pt, int pl,
		int th, int tw, float *v, int c, int c0, int c1, size_t ld, size_t t0) {
	const int wp = 2 * tw + 2; // padded row width
	float *buf = malloc((size_t)8 * wp * sizeof(float));
	if (!buf) return 0;
	float *p[4] = {buf, buf + wp, buf + 2 * wp, buf + 3 * wp};
	float *s[4] = {buf + 4 * wp, buf + 5 * wp, buf + 6 * wp, buf + 7 * wp};
	// Columns j of a padded row with j - pl inside [0, w).
	int lo = pl < wp ? pl : wp, hi = pl + w < wp ? pl + w : wp;
	if (hi < lo) hi = lo;
	for (int ch = c0; ch < c1; ch++) {
		const float *xc = x + (size_t)ch * h * w;
		for (int tr = 0; tr < th; tr++) {
			for (int k = 0; k < 4; k++) {
				const int r = 2 * tr - pt + k;
				float *d = p[k];
				if (r < 0 || r >= h) {
					for (int j = 0; j < wp; j++) d[j] = 0.0f;
					continue;
				}
				for (int j = 0; j < lo; j++) d[j] = 0.0f;
				if (hi > lo) memcpy(d + lo, xc + (size_t)r * w + (lo - pl), (size_t)(hi - lo) * sizeof(float));
				for (int j = hi; j < wp; j++) d[j] = 0.0f;
			}
			for (int j = 0; j < wp; j++) {
				s[0][j] = p[0][j] - p[2][j];
				s[1][j] = p[1][j] + p[2][j];
				s[2][j] = p[2][j] - p[1][j];
				s[3][j] = p[1][j] - p[3][j];
			}
			const size_t base = t0 + (size_t)tr * tw;
			for (int r = 0; r < 4; r++) {
				const float *sr = s[r];
				float *v0 = v + ((size_t)(r * 4 + 0) * c + ch) * ld + base;
				float *v1 = v + ((size_t)(r * 4 + 1) * c + ch) * ld + base;
				float *v2 = v + ((size_t)(r * 4 + 2) * c + ch) * ld + base;
				float *v3 = v + ((size_t)(r * 4 + 3) * c + ch) * ld + base;
				for (int tc = 0; tc < tw; tc++) {
					const float a = sr[2 * tc], b = sr[2 * tc + 1], cc = sr[2 * tc + 2], d = sr[2 * tc + 3];
					v0[tc] = a - cc;
					v1[tc] = b + cc;
					v2[tc] = cc - b;
					v3[tc] = b - d;
				}
			}
		}
	}
	free(buf);
	return 1;
}

// xk_wgo_body is WinogradOutputGo: A^T down each tile's 4 rows and A
// across, tile row by tile row, into two output rows, then the part
// inside the output copied out.
static inline __attribute__((always_inline)) int xk_wgo_body(const float *pp, int mm, int m0, int m1, size_t ld,
		size_t t0, const float *bias, float *y, int oh, int ow) {
	const int th = (oh + 1) / 2, tw = (ow + 1) / 2;
	float *buf = malloc((size_t)4 * tw * sizeof(float));
	if (!buf) return 0;
	float *o0 = buf, *o1 = buf + 2 * tw;
	for (int o = m0; o < m1; o++) {
		const float b = bias ? bias[o] : 0.0f;
		const float *q[16];
		for (int tr = 0; tr < th; tr++) {
			for (int k = 0; k < 16; k++) q[k] = pp + ((size_t)k * mm + o) * ld + t0 + (size_t)tr * tw;
			for (int tc = 0; tc < tw; tc++) {
				float s0[4], s1[4];
				for (int j = 0; j < 4; j++) {
					s0[j] = q[j][tc] + q[4 + j][tc] + q[8 + j][tc];
					s1[j] = q[4 + j][tc] - q[8 + j][tc] - q[12 + j][tc];
				}
				o0[2 * tc] = s0[0] + s0[1] + s0[2] + b;
				o0[2 * tc + 1] = s0[1] - s0[2] - s0[3] + b;
				o1[2 * tc] = s1[0] + s1[1] + s1[2] + b;
				o1[2 * tc + 1] = s1[1] - s1[2] - s1[3] + b;
			}
			float *yo = y + ((size_t)o * oh + 2 * tr) * ow;
			memcpy(yo, o0, (size_t)ow * sizeof(float));
			if (2 * tr + 1 < oh) memcpy(yo + ow, o1, (size_t)ow * sizeof(float));
		}
	}
	free(buf);
	return 1;
}

#define XK_WG_VARIANT(suffix, attr) \
	attr static int xk_wgi_##suffix(const float *x, int h, int w, int pt, int pl, int th, int tw, float *v, \
			int c, int c0, int c1, size_t ld, size_t t0) { \
		return xk_wgi_body(x, h, w, pt, pl, th, tw, v, c, c0, c1, ld, t0); \
	} \
	attr static int xk_wgo_##suffix(const float *pp, int mm, int m0, int m1, size_t ld, size_t t0, \
			const float *bias, float *y, int oh, int ow) { \
		return xk_wgo_body(pp, mm, m0, m1, ld, t0, bias, y, oh, ow); \
	}

XK_WG_VARIANT(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))))
XK_WG_VARIANT(avx2, __attribute__((target("avx2,fma"))))
XK_WG_VARIANT(base, )

static int xk_wgi(const float *x, int h, int w, int pt, int pl, int th, int tw, float *v, int c, int c0, int c1,
		size_t ld, size_t t0) {
	switch (xk_level()) {
	case 2: return xk_wgi_avx512(x, h, w, pt, pl, th, tw, v, c, c0, c1, ld, t0);
	case 1: return xk_wgi_avx2(x, h, w, pt, pl, th, tw, v, c, c0, c1, ld, t0);
	default: return xk_wgi_base(x, h, w, pt, pl, th, tw, v, c, c0, c1, ld, t0);
	}
}

static int xk_wgo(const float *pp, int mm, int m0, int m1, size_t ld, size_t t0, const float *bias, float *y,
		int oh, int ow) {
	switch (xk_level()) {
	case 2: return xk_wgo_avx512(pp, mm, m0, m1, ld, t0, bias, y, oh, ow);
	case 1: return xk_wgo_avx2(pp, mm, m0, m1, ld, t0, bias, y, oh, ow);
	default: return xk_wgo_base(pp, mm, m0, m1, ld, t0, bias, y, oh, ow);
	}
}

#endif
