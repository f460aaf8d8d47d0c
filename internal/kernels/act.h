// act.h: the vectorised C twins of act.go's activation loops and of the
// training update loops (SumRowsGo, MomentumGo, ClipValueGo, ScaleGo),
// included by kernels_cgo.go. Each returns the bits of its Go twin
// (act_test.go checks them on special and random values).
//
// No fused multiply-adds, so the C kernels round as the Go ones and return
// the same bits; no trapping math, so that GCC turns
// the selects into vector blends (FP exceptions are not observed). Set
// here rather than in CFLAGS, which cgo only accepts from a short list.
#ifndef XFER_KERNELS_ACT_H
#define XFER_KERNELS_ACT_H

#pragma GCC optimize ("fp-contract=off", "no-trapping-math")
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <stddef.h>

// Activation codes (cActs in kernels_cgo.go).
enum { XK_NONE, XK_RELU, XK_LEAKY, XK_ELU, XK_SIGMOID, XK_TANH, XK_CLIP };

// xk_sel is c ? a : b as a bitwise blend: GCC if-converts a float select
// feeding more arithmetic only with control flow, which stops the loop
// from vectorising; integer masks vectorise. Bits are passed through as
// they are, so NaN payloads stay.
static inline __attribute__((always_inline)) float xk_sel(int c, float a, float b) {
	uint32_t m = -(uint32_t)(c != 0), ab, bb, rb;
	memcpy(&ab, &a, sizeof ab);
	memcpy(&bb, &b, sizeof bb);
	rb = (m & ab) | (~m & bb);
	float r;
	memcpy(&r, &rb, sizeof r);
	return r;
}

// xk_exp is Exp (exp.go, Cephes expf) step for step with selects instead
// of branches: the same bits as Exp.
static inline __attribute__((always_inline)) float xk_exp(float x) {
	const float hi = 88.72283905206835f, lo = -103.97207708f;
	float xc = xk_sel(x > hi, hi, x);
	xc = xk_sel(xc < lo, lo, xc);
	xc = xk_sel(x != x, 0.0f, xc);
	float fx = floorf(xc * 1.44269504088896341f + 0.5f);
	xc = xc - fx * 0.693359375f - fx * -2.12194440e-4f;
	float z = xc * xc;
	float y = ((((1.9875691500e-4f * xc + 1.3981999507e-3f) * xc + 8.3334519073e-3f) * xc +
	            4.1665795894e-2f) * xc + 1.6666665459e-1f) * xc + 5.0000001201e-1f;
	y = y * z + xc + 1.0f;
	int32_t n = (int32_t)fx;
	int32_t k = n < -126 ? -126 : (n > 127 ? 1 : 0); // integer selects vectorise
	int32_t b1 = (n - k + 127) << 23, b2 = (k + 127) << 23;
	float s1, s2;
	memcpy(&s1, &b1, sizeof s1);
	memcpy(&s2, &b2, sizeof s2);
	float r = y * s1 * s2;
	r = xk_sel(x > hi, INFINITY, r);
	r = xk_sel(x < lo, 0.0f, r);
	return xk_sel(x != x, x, r);
}

// xk_gomax is Go's max(x, y) for float32 on amd64 bit for bit, NaN
// payloads included: the compiler flips both signs, takes MINSS twice and
// ORs the two results (so that max(-0, +0) is +0), then flips back.
static inline __attribute__((always_inline)) float xk_gomax(float x, float y) {
	uint32_t xb, yb;
	memcpy(&xb, &x, sizeof xb);
	memcpy(&yb, &y, sizeof yb);
	xb ^= 0x80000000u;
	yb ^= 0x80000000u;
	float xs, ys;
	memcpy(&xs, &xb, sizeof xs);
	memcpy(&ys, &yb, sizeof ys);
	float r1 = xk_sel(xs < ys, xs, ys); // MINSS: the second operand unless dst < src
	float r2 = xk_sel(r1 < xs, r1, xs);
	uint32_t b1, b2;
	memcpy(&b1, &r1, sizeof b1);
	memcpy(&b2, &r2, sizeof b2);
	uint32_t rb = (b1 | b2) ^ 0x80000000u;
	float r;
	memcpy(&r, &rb, sizeof r);
	return r;
}

// xk_gomin is Go's min(x, y) for float32 on amd64 bit for bit: MINSS
// twice and the OR of the two results (so that min(-0, +0) is -0), the
// sequence xk_gomax runs on negated operands.
static inline __attribute__((always_inline)) float xk_gomin(float x, float y) {
	float r1 = xk_sel(x < y, x, y);
	float r2 = xk_sel(r1 < x, r1, x);
	uint32_t b1, b2;
	memcpy(&b1, &r1, sizeof b1);
	memcpy(&b2, &r2, sizeof b2);
	uint32_t rb = b1 | b2;
	float r;
	memcpy(&r, &rb, sizeof r);
	return r;
}

// xk_elu is eluFamily32 (act.go) for one element: gamma*v for v > 0,
// gamma*alpha*(ExpNeg(max(v, -87)) - 1) otherwise, the same operations in
// the same order. The exponential's integer part is taken from a copy of t
// with NaN replaced by 0 (the result is NaN anyway, from vc).
static inline __attribute__((always_inline)) float xk_elu(float v, float ga, float gamma) {
	float vc = xk_gomax(v, -87.0f);
	float t = vc * 1.44269504088896341f + 0.5f;
	float ts = xk_sel(t != t, 0.0f, xk_sel(t > 1.0f, 1.0f, t));
	int32_t n = (int32_t)ts;
	n -= (float)n > ts;
	float fn = (float)n;
	float r = vc - fn * 0.693359375f - fn * -2.12194440e-4f;
	float z = r * r;
	float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
	            4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
	p = p * z + r + 1.0f;
	uint32_t bits = (uint32_t)(n + 127) << 23;
	float s;
	memcpy(&s, &bits, sizeof s);
	float neg = ga * (p * s - 1.0f);
	return xk_sel(v > 0.0f, gamma * v, neg);
}

// xk_tanh is Tanh (exp.go, Cephes tanhf) with selects: the same bits.
static inline __attribute__((always_inline)) float xk_tanh(float v) {
	float a = xk_sel(v < 0.0f, -v, v);
	float t = xk_exp(2.0f * xk_sel(a > 9.0f, 9.0f, a));
	float big = 1.0f - 2.0f / (t + 1.0f);
	big = xk_sel(a > 9.0f, 1.0f, big); // tanh(9) rounds to 1 in float32
	big = xk_sel(v < 0.0f, -big, big);
	float z = v * v;
	float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
	                1.33314422036e-1f) * z - 3.33332819422e-1f) * z * v + v;
	float r = xk_sel(a >= 0.625f, big, small);
	return xk_sel(a != a, v, r);
}

// xk_fwd_body adds bias (may be NULL) to each of the m rows of z (n
// columns, row stride ldz) in place, then writes y = act(z) (row stride
// ldy; y may be z); p1, p2 are alpha and gamma.
static inline __attribute__((always_inline)) void xk_fwd_body(int m, int n, float *z, int ldz,
		const float *bias, float *y, int ldy, int act, float p1, float p2) {
	for (int i = 0; i < m; i++) {
		float *zr = z + (size_t)i * ldz, *yr = y + (size_t)i * ldy;
		if (bias) {
			for (int j = 0; j < n; j++) zr[j] = zr[j] + bias[j];
		}
		switch (act) {
		case XK_NONE:
			if (yr != zr) memcpy(yr, zr, (size_t)n * sizeof *yr);
			break;
		case XK_RELU:
			for (int j = 0; j < n; j++) yr[j] = xk_gomax(zr[j], 0.0f);
			break;
		case XK_LEAKY:
			for (int j = 0; j < n; j++) { float v = zr[j]; yr[j] = xk_sel(v < 0.0f, v * p1, v); }
			break;
		case XK_ELU: {
			float ga = p2 * p1;
			for (int j = 0; j < n; j++) yr[j] = xk_elu(zr[j], ga, p2);
			break;
		}
		case XK_SIGMOID:
			for (int j = 0; j < n; j++) {
				float v = zr[j];
				float e = xk_exp(xk_sel(v >= 0.0f, -v, v));
				float pos = 1.0f / (1.0f + e), neg = e / (1.0f + e);
				yr[j] = xk_sel(v >= 0.0f, pos, neg);
			}
			break;
		case XK_TANH:
			for (int j = 0; j < n; j++) yr[j] = xk_tanh(zr[j]);
			break;
		case XK_CLIP: // clipF: min(max(v, lo), hi), p1 = lo, p2 = hi
			for (int j = 0; j < n; j++) yr[j] = xk_gomin(xk_gomax(zr[j], p1), p2);
			break;
		}
	}
}

// xk_bwd_body is dx = g * act'(x) for len elements, given y = act(x).
static inline __attribute__((always_inline)) void xk_bwd_body(int len, const float *x, const float *y,
		const float *g, float *dx, int act, float p1, float p2) {
	switch (act) {
	case XK_RELU:
		for (int i = 0; i < len; i++) dx[i] = xk_sel(x[i] > 0.0f, g[i], 0.0f);
		break;
	case XK_LEAKY:
		for (int i = 0; i < len; i++) { float gi = g[i]; dx[i] = xk_sel(x[i] < 0.0f, gi * p1, gi); }
		break;
	case XK_ELU: {
		float ga = p2 * p1;
		for (int i = 0; i < len; i++) {
			float d = y[i] + ga;
			d = xk_sel(x[i] > 0.0f, p2, d);
			dx[i] = g[i] * d;
		}
		break;
	}
	case XK_SIGMOID:
		// Go's g[i] * y[i] gives y's NaN when both are NaN.
		for (int i = 0; i < len; i++) {
			float yi = y[i];
			float t = xk_sel(yi != yi, yi * yi, g[i] * yi);
			dx[i] = t * (1.0f - yi);
		}
		break;
	case XK_TANH:
		for (int i = 0; i < len; i++) dx[i] = g[i] * (1.0f - y[i] * y[i]);
		break;
	}
}

// xk_add is a + b with SSE's NaN rule made explicit: when both are NaN
// the result is a's (quieted), whichever operand order GCC emits.
static inline __attribute__((always_inline)) float xk_add(float a, float b) {
	return xk_sel(a != a, a + a, a + b);
}

// xk_sumrows_body is SumRowsGo (act.go): out = 0, then each of the m rows
// of g (n columns) added in order. The row's NaN wins over the sum's, as in
// Go's compiled out[i] += v (the ADDSS destination holds v).
static inline __attribute__((always_inline)) void xk_sumrows_body(int m, int n, const float *g, float *out) {
	for (int j = 0; j < n; j++) out[j] = 0.0f;
	for (int i = 0; i < m; i++) {
		const float *gr = g + (size_t)i * n;
		for (int j = 0; j < n; j++) out[j] = xk_add(gr[j], out[j]);
	}
}

// xk_clip_body is ClipValueGo (update.go): g = min(max(g, -v), v).
static inline __attribute__((always_inline)) void xk_clip_body(int len, float *g, float v) {
	for (int i = 0; i < len; i++) g[i] = xk_gomin(xk_gomax(g[i], -v), v);
}

// xk_mulw is a * b with a's NaN winning when both are NaN.
static inline __attribute__((always_inline)) float xk_mulw(float a, float b) {
	return xk_sel(a != a, a * a, a * b);
}

// xk_scale_body is ScaleGo (update.go): g *= f (g's NaN wins, as in Go).
static inline __attribute__((always_inline)) void xk_scale_body(int len, float *g, float f) {
	for (int i = 0; i < len; i++) g[i] = xk_mulw(g[i], f);
}

// xk_momentum_body is MomentumGo (update.go): v = mom*v - lr*g;
// w += v, or w += mom*v - lr*g with Nesterov, the operations in Go's order
// and with its NaN precedence when both operands are NaN (the array
// element's NaN wins a product, w's the sum), as Go's compiled code gives
// (TestMomentumC).
static inline __attribute__((always_inline)) void xk_momentum_body(int len, float *w, const float *g, float *v,
		float lr, float mom, int nesterov) {
	if (nesterov) {
		for (int i = 0; i < len; i++) {
			float lg = xk_mulw(g[i], lr);
			float vi = xk_mulw(v[i], mom) - lg;
			v[i] = vi;
			w[i] = xk_add(w[i], xk_mulw(vi, mom) - lg);
		}
		return;
	}
	for (int i = 0; i < len; i++) {
		float vi = xk_mulw(v[i], mom) - xk_mulw(g[i], lr);
		v[i] = vi;
		w[i] = xk_add(w[i], vi);
	}
}

// xk_nonfinite_body reports whether g holds a NaN or an infinity (exponent
// bits all ones), with an integer OR reduction that vectorises.
static inline __attribute__((always_inline)) int xk_nonfinite_body(int len, const float *g) {
	uint32_t acc = 0;
	for (int i = 0; i < len; i++) {
		uint32_t b;
		memcpy(&b, &g[i], sizeof b);
		acc |= (uint32_t)((b & 0x7f800000u) == 0x7f800000u);
	}
	return acc != 0;
}

#define XK_VARIANT(suffix, attr) \
	attr static void xk_fwd_##suffix(int m, int n, float *z, int ldz, const float *bias, float *y, int ldy, int act, float p1, float p2) { \
		xk_fwd_body(m, n, z, ldz, bias, y, ldy, act, p1, p2); \
	} \
	attr static void xk_bwd_##suffix(int len, const float *x, const float *y, const float *g, float *dx, int act, float p1, float p2) { \
		xk_bwd_body(len, x, y, g, dx, act, p1, p2); \
	} \
	attr static void xk_sumrows_##suffix(int m, int n, const float *g, float *out) { \
		xk_sumrows_body(m, n, g, out); \
	} \
	attr static void xk_clip_##suffix(int len, float *g, float v) { \
		xk_clip_body(len, g, v); \
	} \
	attr static void xk_scale_##suffix(int len, float *g, float f) { \
		xk_scale_body(len, g, f); \
	} \
	attr static void xk_momentum_##suffix(int len, float *w, const float *g, float *v, float lr, float mom, int nesterov) { \
		xk_momentum_body(len, w, g, v, lr, mom, nesterov); \
	} \
	attr static int xk_nonfinite_##suffix(int len, const float *g) { \
		return xk_nonfinite_body(len, g); \
	}

XK_VARIANT(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))))
XK_VARIANT(avx2, __attribute__((target("avx2,fma"))))
XK_VARIANT(base, )

static int xk_isa = -1;

static int xk_level(void) {
	if (xk_isa < 0) {
		__builtin_cpu_init();
		xk_isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") ? 2 :
		         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
	}
	return xk_isa;
}

static void xk_fwd(int m, int n, float *z, int ldz, const float *bias, float *y, int ldy, int act, float p1, float p2) {
	switch (xk_level()) {
	case 2: xk_fwd_avx512(m, n, z, ldz, bias, y, ldy, act, p1, p2); break;
	case 1: xk_fwd_avx2(m, n, z, ldz, bias, y, ldy, act, p1, p2); break;
	default: xk_fwd_base(m, n, z, ldz, bias, y, ldy, act, p1, p2);
	}
}

static void xk_bwd(int len, const float *x, const float *y, const float *g, float *dx, int act, float p1, float p2) {
	switch (xk_level()) {
	case 2: xk_bwd_avx512(len, x, y, g, dx, act, p1, p2); break;
	case 1: xk_bwd_avx2(len, x, y, g, dx, act, p1, p2); break;
	default: xk_bwd_base(len, x, y, g, dx, act, p1, p2);
	}
}

static void xk_sumrows(int m, int n, const float *g, float *out) {
	switch (xk_level()) {
	case 2: xk_sumrows_avx512(m, n, g, out); break;
	case 1: xk_sumrows_avx2(m, n, g, out); break;
	default: xk_sumrows_base(m, n, g, out);
	}
}

static void xk_momentum(int len, float *w, const float *g, float *v, float lr, float mom, int nesterov) {
	switch (xk_level()) {
	case 2: xk_momentum_avx512(len, w, g, v, lr, mom, nesterov); break;
	case 1: xk_momentum_avx2(len, w, g, v, lr, mom, nesterov); break;
	default: xk_momentum_base(len, w, g, v, lr, mom, nesterov);
	}
}

static void xk_clip(int len, float *g, float v) {
	switch (xk_level()) {
	case 2: xk_clip_avx512(len, g, v); break;
	case 1: xk_clip_avx2(len, g, v); break;
	default: xk_clip_base(len, g, v);
	}
}

static int xk_nonfinite(int len, const float *g) {
	switch (xk_level()) {
	case 2: return xk_nonfinite_avx512(len, g);
	case 1: return xk_nonfinite_avx2(len, g);
	default: return xk_nonfinite_base(len, g);
	}
}

static void xk_scale(int len, float *g, float f) {
	switch (xk_level()) {
	case 2: xk_scale_avx512(len, g, f); break;
	case 1: xk_scale_avx2(len, g, f); break;
	default: xk_scale_base(len, g, f);
	}
}

#endif
