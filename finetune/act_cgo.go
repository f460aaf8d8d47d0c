//go:build cgo && !xfer_purego

package finetune

/*
#cgo CFLAGS: -O3
// No fused multiply-adds, so the C kernels round as the Go ones (act.go,
// math32.go) and return the same bits; no trapping math, so that GCC turns
// the selects into vector blends (FP exceptions are not observed). Set
// here rather than in CFLAGS, which cgo only accepts from a short list.
#pragma GCC optimize ("fp-contract=off", "no-trapping-math")
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <stddef.h>

// Activation codes (cActCode in Go).
enum { FT_NONE, FT_RELU, FT_LEAKY, FT_ELU, FT_SIGMOID, FT_TANH };

// ft_sel is c ? a : b as a bitwise blend: GCC if-converts a float select
// feeding more arithmetic only with control flow, which stops the loop
// from vectorising; integer masks vectorise. Bits are passed through as
// they are, so NaN payloads stay.
static inline __attribute__((always_inline)) float ft_sel(int c, float a, float b) {
	uint32_t m = -(uint32_t)(c != 0), ab, bb, rb;
	memcpy(&ab, &a, sizeof ab);
	memcpy(&bb, &b, sizeof bb);
	rb = (m & ab) | (~m & bb);
	float r;
	memcpy(&r, &rb, sizeof r);
	return r;
}

// ft_exp is mathf.Exp (Cephes expf) step for step with selects instead of
// branches, as engine's xfer_exp: the same bits as mathf.Exp.
static inline __attribute__((always_inline)) float ft_exp(float x) {
	const float hi = 88.72283905206835f, lo = -103.97207708f;
	float xc = ft_sel(x > hi, hi, x);
	xc = ft_sel(xc < lo, lo, xc);
	xc = ft_sel(x != x, 0.0f, xc);
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
	r = ft_sel(x > hi, INFINITY, r);
	r = ft_sel(x < lo, 0.0f, r);
	return ft_sel(x != x, x, r);
}

// ft_gomax is Go's max(x, y) for float32 on amd64 bit for bit, NaN
// payloads included: the compiler flips both signs, takes MINSS twice and
// ORs the two results (so that max(-0, +0) is +0), then flips back.
static inline __attribute__((always_inline)) float ft_gomax(float x, float y) {
	uint32_t xb, yb;
	memcpy(&xb, &x, sizeof xb);
	memcpy(&yb, &y, sizeof yb);
	xb ^= 0x80000000u;
	yb ^= 0x80000000u;
	float xs, ys;
	memcpy(&xs, &xb, sizeof xs);
	memcpy(&ys, &yb, sizeof ys);
	float r1 = ft_sel(xs < ys, xs, ys); // MINSS: the second operand unless dst < src
	float r2 = ft_sel(r1 < xs, r1, xs);
	uint32_t b1, b2;
	memcpy(&b1, &r1, sizeof b1);
	memcpy(&b2, &r2, sizeof b2);
	uint32_t rb = (b1 | b2) ^ 0x80000000u;
	float r;
	memcpy(&r, &rb, sizeof r);
	return r;
}

// ft_elu is eluFamily32 (math32.go) for one element: gamma*v for v > 0,
// gamma*alpha*(ExpNeg(max(v, -87)) - 1) otherwise, the same operations in
// the same order. The exponential's integer part is taken from a copy of t
// with NaN replaced by 0 (the result is NaN anyway, from vc).
static inline __attribute__((always_inline)) float ft_elu(float v, float ga, float gamma) {
	float vc = ft_gomax(v, -87.0f);
	float t = vc * 1.44269504088896341f + 0.5f;
	float ts = ft_sel(t != t, 0.0f, ft_sel(t > 1.0f, 1.0f, t));
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
	return ft_sel(v > 0.0f, gamma * v, neg);
}

// ft_fwd_body adds bias (may be NULL) to each of the m rows of z (n
// columns) in place, then writes y = act(z); p1, p2 are alpha and gamma.
static inline __attribute__((always_inline)) void ft_fwd_body(int m, int n, float *z,
		const float *bias, float *y, int act, float p1, float p2) {
	for (int i = 0; i < m; i++) {
		float *zr = z + (size_t)i * n, *yr = y + (size_t)i * n;
		if (bias) {
			for (int j = 0; j < n; j++) zr[j] = zr[j] + bias[j];
		}
		switch (act) {
		case FT_NONE:
			if (yr != zr) memcpy(yr, zr, (size_t)n * sizeof *yr);
			break;
		case FT_RELU:
			for (int j = 0; j < n; j++) yr[j] = ft_gomax(zr[j], 0.0f);
			break;
		case FT_LEAKY:
			for (int j = 0; j < n; j++) { float v = zr[j]; yr[j] = ft_sel(v < 0.0f, v * p1, v); }
			break;
		case FT_ELU: {
			float ga = p2 * p1;
			for (int j = 0; j < n; j++) yr[j] = ft_elu(zr[j], ga, p2);
			break;
		}
		case FT_SIGMOID:
			for (int j = 0; j < n; j++) {
				float v = zr[j];
				float e = ft_exp(ft_sel(v >= 0.0f, -v, v));
				float pos = 1.0f / (1.0f + e), neg = e / (1.0f + e);
				yr[j] = ft_sel(v >= 0.0f, pos, neg);
			}
			break;
		}
	}
}

// ft_bwd_body is dx = g * act'(x) for len elements, given y = act(x).
static inline __attribute__((always_inline)) void ft_bwd_body(int len, const float *x, const float *y,
		const float *g, float *dx, int act, float p1, float p2) {
	switch (act) {
	case FT_RELU:
		for (int i = 0; i < len; i++) dx[i] = ft_sel(x[i] > 0.0f, g[i], 0.0f);
		break;
	case FT_LEAKY:
		for (int i = 0; i < len; i++) { float gi = g[i]; dx[i] = ft_sel(x[i] < 0.0f, gi * p1, gi); }
		break;
	case FT_ELU: {
		float ga = p2 * p1;
		for (int i = 0; i < len; i++) {
			float d = y[i] + ga;
			d = ft_sel(x[i] > 0.0f, p2, d);
			dx[i] = g[i] * d;
		}
		break;
	}
	case FT_SIGMOID:
		// Go's g[i] * y[i] gives y's NaN when both are NaN.
		for (int i = 0; i < len; i++) {
			float yi = y[i];
			float t = ft_sel(yi != yi, yi * yi, g[i] * yi);
			dx[i] = t * (1.0f - yi);
		}
		break;
	case FT_TANH:
		for (int i = 0; i < len; i++) dx[i] = g[i] * (1.0f - y[i] * y[i]);
		break;
	}
}

// ft_add is a + b with SSE's NaN rule made explicit: when both are NaN
// the result is a's (quieted), whichever operand order GCC emits.
static inline __attribute__((always_inline)) float ft_add(float a, float b) {
	return ft_sel(a != a, a + a, a + b);
}

// ft_sumrows_body is sumRows (ops_nn.go): out = 0, then each of the m rows
// of g (n columns) added in order. The row's NaN wins over the sum's, as in
// Go's compiled out[i] += v (the ADDSS destination holds v).
static inline __attribute__((always_inline)) void ft_sumrows_body(int m, int n, const float *g, float *out) {
	for (int j = 0; j < n; j++) out[j] = 0.0f;
	for (int i = 0; i < m; i++) {
		const float *gr = g + (size_t)i * n;
		for (int j = 0; j < n; j++) out[j] = ft_add(gr[j], out[j]);
	}
}

// ft_gomin is Go's min(x, y) for float32 on amd64 bit for bit: MINSS
// twice, the results ORed (so that min(-0, +0) is -0).
static inline __attribute__((always_inline)) float ft_gomin(float x, float y) {
	float r1 = ft_sel(x < y, x, y);
	float r2 = ft_sel(r1 < x, r1, x);
	uint32_t b1, b2;
	memcpy(&b1, &r1, sizeof b1);
	memcpy(&b2, &r2, sizeof b2);
	uint32_t rb = b1 | b2;
	float r;
	memcpy(&r, &rb, sizeof r);
	return r;
}

// ft_clip_body is clipGrads' ClipValue loop: g = min(max(g, -v), v).
static inline __attribute__((always_inline)) void ft_clip_body(int len, float *g, float v) {
	for (int i = 0; i < len; i++) g[i] = ft_gomin(ft_gomax(g[i], -v), v);
}

// ft_mulw is a * b with a's NaN winning when both are NaN.
static inline __attribute__((always_inline)) float ft_mulw(float a, float b) {
	return ft_sel(a != a, a * a, a * b);
}

// ft_scale_body is scaleTo's loop g *= f (g's NaN wins, as in Go).
static inline __attribute__((always_inline)) void ft_scale_body(int len, float *g, float f) {
	for (int i = 0; i < len; i++) g[i] = ft_mulw(g[i], f);
}

// ft_momentum_body is momentumUpdate (optimizer.go): v = mom*v - lr*g;
// w += v, or w += mom*v - lr*g with Nesterov, the operations in Go's order
// and with its NaN precedence when both operands are NaN (the array
// element's NaN wins a product, w's the sum), as Go's compiled code gives
// (TestMomentumC).
static inline __attribute__((always_inline)) void ft_momentum_body(int len, float *w, const float *g, float *v,
		float lr, float mom, int nesterov) {
	if (nesterov) {
		for (int i = 0; i < len; i++) {
			float lg = ft_mulw(g[i], lr);
			float vi = ft_mulw(v[i], mom) - lg;
			v[i] = vi;
			w[i] = ft_add(w[i], ft_mulw(vi, mom) - lg);
		}
		return;
	}
	for (int i = 0; i < len; i++) {
		float vi = ft_mulw(v[i], mom) - ft_mulw(g[i], lr);
		v[i] = vi;
		w[i] = ft_add(w[i], vi);
	}
}

// ft_nonfinite_body reports whether g holds a NaN or an infinity (exponent
// bits all ones), with an integer OR reduction that vectorises.
static inline __attribute__((always_inline)) int ft_nonfinite_body(int len, const float *g) {
	uint32_t acc = 0;
	for (int i = 0; i < len; i++) {
		uint32_t b;
		memcpy(&b, &g[i], sizeof b);
		acc |= (uint32_t)((b & 0x7f800000u) == 0x7f800000u);
	}
	return acc != 0;
}

#define FT_VARIANT(suffix, attr) \
	attr static void ft_fwd_##suffix(int m, int n, float *z, const float *bias, float *y, int act, float p1, float p2) { \
		ft_fwd_body(m, n, z, bias, y, act, p1, p2); \
	} \
	attr static void ft_bwd_##suffix(int len, const float *x, const float *y, const float *g, float *dx, int act, float p1, float p2) { \
		ft_bwd_body(len, x, y, g, dx, act, p1, p2); \
	} \
	attr static void ft_sumrows_##suffix(int m, int n, const float *g, float *out) { \
		ft_sumrows_body(m, n, g, out); \
	} \
	attr static void ft_clip_##suffix(int len, float *g, float v) { \
		ft_clip_body(len, g, v); \
	} \
	attr static void ft_scale_##suffix(int len, float *g, float f) { \
		ft_scale_body(len, g, f); \
	} \
	attr static void ft_momentum_##suffix(int len, float *w, const float *g, float *v, float lr, float mom, int nesterov) { \
		ft_momentum_body(len, w, g, v, lr, mom, nesterov); \
	} \
	attr static int ft_nonfinite_##suffix(int len, const float *g) { \
		return ft_nonfinite_body(len, g); \
	}

FT_VARIANT(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))))
FT_VARIANT(avx2, __attribute__((target("avx2,fma"))))
FT_VARIANT(base, )

static int ft_isa = -1;

static int ft_level(void) {
	if (ft_isa < 0) {
		__builtin_cpu_init();
		ft_isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") ? 2 :
		         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
	}
	return ft_isa;
}

static void ft_fwd(int m, int n, float *z, const float *bias, float *y, int act, float p1, float p2) {
	switch (ft_level()) {
	case 2: ft_fwd_avx512(m, n, z, bias, y, act, p1, p2); break;
	case 1: ft_fwd_avx2(m, n, z, bias, y, act, p1, p2); break;
	default: ft_fwd_base(m, n, z, bias, y, act, p1, p2);
	}
}

static void ft_bwd(int len, const float *x, const float *y, const float *g, float *dx, int act, float p1, float p2) {
	switch (ft_level()) {
	case 2: ft_bwd_avx512(len, x, y, g, dx, act, p1, p2); break;
	case 1: ft_bwd_avx2(len, x, y, g, dx, act, p1, p2); break;
	default: ft_bwd_base(len, x, y, g, dx, act, p1, p2);
	}
}

static void ft_sumrows(int m, int n, const float *g, float *out) {
	switch (ft_level()) {
	case 2: ft_sumrows_avx512(m, n, g, out); break;
	case 1: ft_sumrows_avx2(m, n, g, out); break;
	default: ft_sumrows_base(m, n, g, out);
	}
}

static void ft_momentum(int len, float *w, const float *g, float *v, float lr, float mom, int nesterov) {
	switch (ft_level()) {
	case 2: ft_momentum_avx512(len, w, g, v, lr, mom, nesterov); break;
	case 1: ft_momentum_avx2(len, w, g, v, lr, mom, nesterov); break;
	default: ft_momentum_base(len, w, g, v, lr, mom, nesterov);
	}
}

static void ft_clip(int len, float *g, float v) {
	switch (ft_level()) {
	case 2: ft_clip_avx512(len, g, v); break;
	case 1: ft_clip_avx2(len, g, v); break;
	default: ft_clip_base(len, g, v);
	}
}

static int ft_nonfinite(int len, const float *g) {
	switch (ft_level()) {
	case 2: return ft_nonfinite_avx512(len, g);
	case 1: return ft_nonfinite_avx2(len, g);
	default: return ft_nonfinite_base(len, g);
	}
}

static void ft_scale(int len, float *g, float f) {
	switch (ft_level()) {
	case 2: ft_scale_avx512(len, g, f); break;
	case 1: ft_scale_avx2(len, g, f); break;
	default: ft_scale_base(len, g, f);
	}
}
*/
import "C"

import "unsafe"

// cActs says which activations have C kernels (forward, backward).
var cActs = map[string]struct {
	code     C.int
	fwd, bwd bool
}{
	"Identity":  {C.FT_NONE, true, false},
	"Relu":      {C.FT_RELU, true, true},
	"LeakyRelu": {C.FT_LEAKY, true, true},
	"Elu":       {C.FT_ELU, true, true},
	"Selu":      {C.FT_ELU, true, true},
	"Sigmoid":   {C.FT_SIGMOID, true, true},
	"Tanh":      {C.FT_TANH, false, true},
}

// cParams returns the C kernels' alpha and gamma for k (Elu is SELU with
// gamma 1, as in actForward).
func cParams(k actKind) (C.float, C.float) {
	gamma := float32(k.gamma)
	if k.name == "Elu" {
		gamma = 1
	}
	return C.float(float32(k.alpha)), C.float(gamma)
}

// biasActC adds b (nil: none) to each row of z [len(z)/u, u] in place and
// writes y = act(z) in vectorised C, with the same bits as addRows then
// actForward. It reports false, doing nothing, when k has no C kernel.
func biasActC(k actKind, z, b, y []float32, u int) bool {
	c, ok := cActs[k.name]
	if !ok || !c.fwd || u <= 0 || len(z)%u != 0 || len(y) < len(z) || (b != nil && len(b) != u) {
		return false
	}
	if len(z) == 0 {
		return true
	}
	var bp *C.float
	if b != nil {
		bp = (*C.float)(unsafe.Pointer(&b[0]))
	}
	p1, p2 := cParams(k)
	C.ft_fwd(C.int(len(z)/u), C.int(u), (*C.float)(unsafe.Pointer(&z[0])), bp, (*C.float)(unsafe.Pointer(&y[0])), c.code, p1, p2)
	return true
}

// actBackwardC is actBackward in vectorised C (same bits); false when k
// has no C kernel.
func actBackwardC(k actKind, x, y, g, dx []float32) bool {
	c, ok := cActs[k.name]
	n := len(x)
	if !ok || !c.bwd || len(y) < n || len(g) < n || len(dx) < n {
		return false
	}
	if n == 0 {
		return true
	}
	p1, p2 := cParams(k)
	C.ft_bwd(C.int(n), (*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&y[0])),
		(*C.float)(unsafe.Pointer(&g[0])), (*C.float)(unsafe.Pointer(&dx[0])), c.code, p1, p2)
	return true
}

// sumRowsC is sumRows in vectorised C (the same bits); false when g is
// not whole rows of len(out).
func sumRowsC(g, out []float32) bool {
	c := len(out)
	if c == 0 || len(g)%c != 0 {
		return false
	}
	if len(g) == 0 {
		clear(out)
		return true
	}
	C.ft_sumrows(C.int(len(g)/c), C.int(c), (*C.float)(unsafe.Pointer(&g[0])), (*C.float)(unsafe.Pointer(&out[0])))
	return true
}

// momentumC is momentumUpdate in vectorised C (the same bits); false when
// the lengths differ.
func momentumC(w, g, v []float32, lr, mom float32, nesterov bool) bool {
	if len(g) != len(w) || len(v) != len(w) {
		return false
	}
	if len(w) == 0 {
		return true
	}
	nest := C.int(0)
	if nesterov {
		nest = 1
	}
	C.ft_momentum(C.int(len(w)), (*C.float)(unsafe.Pointer(&w[0])), (*C.float)(unsafe.Pointer(&g[0])),
		(*C.float)(unsafe.Pointer(&v[0])), C.float(lr), C.float(mom), nest)
	return true
}

// clipValueC is clipGrads' ClipValue loop, g = min(max(g, -v), v), in
// vectorised C (the same bits).
func clipValueC(g []float32, v float32) bool {
	if len(g) > 0 {
		C.ft_clip(C.int(len(g)), (*C.float)(unsafe.Pointer(&g[0])), C.float(v))
	}
	return true
}

// scaleC is scaleTo's loop, g *= f, in vectorised C (the same bits).
func scaleC(g []float32, f float32) bool {
	if len(g) > 0 {
		C.ft_scale(C.int(len(g)), (*C.float)(unsafe.Pointer(&g[0])), C.float(f))
	}
	return true
}

// anyNonFiniteC reports whether g holds a NaN or an infinity, in
// vectorised C; ok is false when there is no C kernel.
func anyNonFiniteC(g []float32) (found, ok bool) {
	if len(g) == 0 {
		return false, true
	}
	return C.ft_nonfinite(C.int(len(g)), (*C.float)(unsafe.Pointer(&g[0]))) != 0, true
}
