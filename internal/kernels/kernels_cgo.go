//go:build cgo && !xfer_purego

package kernels

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lopenblas
#include "dense.h"
#include "conv.h"
#include "winograd.h"
#include "pointwise.h"
*/
import "C"

import "unsafe"

// cActs says which activations have C kernels (forward, backward).
var cActs = map[string]struct {
	code     C.int
	fwd, bwd bool
}{
	"Identity":  {C.XK_NONE, true, false},
	"Relu":      {C.XK_RELU, true, true},
	"LeakyRelu": {C.XK_LEAKY, true, true},
	"Elu":       {C.XK_ELU, true, true},
	"Selu":      {C.XK_ELU, true, true},
	"Sigmoid":   {C.XK_SIGMOID, true, true},
	"Tanh":      {C.XK_TANH, true, true},
	"Clip":      {C.XK_CLIP, true, false},
}

// cParams returns the C kernels' alpha and gamma for a (Elu is SELU with
// gamma 1, as in eluF).
func cParams(a Act) (C.float, C.float) {
	gamma := float32(a.Gamma)
	switch a.Op {
	case "Elu":
		gamma = 1
	case "Clip":
		return C.float(float32(a.Alpha)), C.float(float32(a.Beta)) // min, max
	}
	return C.float(float32(a.Alpha)), C.float(gamma)
}

// NativeAct reports whether the C kernels run activation a (forward); the
// others run in Go after the bias.
func NativeAct(a Act) bool { c, ok := cActs[a.Op]; return ok && c.fwd }

func fptr(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }

// biasActC is BiasAct in vectorised C; false, doing nothing, when a has
// no C kernel or the sizes do not fit.
func biasActC(a Act, m, n int, z []float32, ldz int, b, y []float32, ldy int) bool {
	c, ok := cActs[a.Op]
	if !ok || !c.fwd || m <= 0 || n <= 0 || ldz < n || ldy < n || len(z) < (m-1)*ldz+n || len(y) < (m-1)*ldy+n || (b != nil && len(b) < n) {
		return false
	}
	var bp *C.float
	if b != nil {
		bp = fptr(b)
	}
	p1, p2 := cParams(a)
	C.xk_fwd(C.int(m), C.int(n), fptr(z), C.int(ldz), bp, fptr(y), C.int(ldy), c.code, p1, p2)
	return true
}

// actBackwardC is Backward in vectorised C (same bits); false when a has
// no C kernel.
func actBackwardC(a Act, x, y, g, dx []float32) bool {
	c, ok := cActs[a.Op]
	n := len(x)
	if !ok || !c.bwd || len(y) < n || len(g) < n || len(dx) < n {
		return false
	}
	if n == 0 {
		return true
	}
	p1, p2 := cParams(a)
	C.xk_bwd(C.int(n), fptr(x), fptr(y), fptr(g), fptr(dx), c.code, p1, p2)
	return true
}

// sumRowsC is SumRows in vectorised C (the same bits); false when g is
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
	C.xk_sumrows(C.int(len(g)/c), C.int(c), fptr(g), fptr(out))
	return true
}

// momentumC is MomentumGo in vectorised C (the same bits); false when the
// lengths differ.
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
	C.xk_momentum(C.int(len(w)), fptr(w), fptr(g), fptr(v), C.float(lr), C.float(mom), nest)
	return true
}

// clipValueC is ClipValueGo in vectorised C (the same bits).
func clipValueC(g []float32, v float32) bool {
	if len(g) > 0 {
		C.xk_clip(C.int(len(g)), fptr(g), C.float(v))
	}
	return true
}

// scaleC is ScaleGo in vectorised C (the same bits).
func scaleC(g []float32, f float32) bool {
	if len(g) > 0 {
		C.xk_scale(C.int(len(g)), fptr(g), C.float(f))
	}
	return true
}

// anyNonFiniteC reports whether g holds a NaN or an infinity, in
// vectorised C; ok is false when there is no C kernel.
func anyNonFiniteC(g []float32) (found, ok bool) {
	if len(g) == 0 {
		return false, true
	}
	return C.xk_nonfinite(C.int(len(g)), fptr(g)) != 0, true
}

// HasAVX512 enables xfer's own packed product (DensePacked).
var HasAVX512 = C.xfer_has_avx512() != 0

// cAct returns the C code and constants of a for the fused dense kernels:
// XK_NONE when a has no C kernel (the caller then applies it after).
func cAct(a *Act) (C.int, C.float, C.float) {
	if a == nil || !NativeAct(*a) {
		return C.XK_NONE, 0, 0
	}
	p1, p2 := cParams(*a)
	return cActs[a.Op].code, p1, p2
}

// DenseBLAS is c = f(a @ op(b) * alpha + bias) for a [m,k] (row stride
// lda), b [k,n] ([n,k] when transB; row stride ldb), c [m,n] (row stride
// ldc): the product through OpenBLAS (sgemv for one row), then bias and
// activation while c is in cache, in one cgo call. bias may be nil, act
// nil for none; an activation without a C kernel runs in Go after.
func DenseBLAS(transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32, act *Act) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
		finishRows(m, n, c, ldc, bias, act)
		return
	}
	var bp *C.float
	if bias != nil {
		bp = fptr(bias)
	}
	code, p1, p2 := cAct(act)
	tb := C.int(0)
	if transB {
		tb = 1
	}
	C.xfer_dense(tb, C.int(m), C.int(n), C.int(k), C.float(alpha), fptr(a), C.int(lda), fptr(b), C.int(ldb),
		fptr(c), C.int(ldc), bp, code, p1, p2)
	if act != nil && !NativeAct(*act) {
		finishRows(m, n, c, ldc, nil, act)
	}
}

// DensePacked is DenseBLAS with the product by weights packed by Pack (n
// columns, k rows), a [m,k] and c [m,n] contiguous. Only with HasAVX512.
func DensePacked(m, n, k int, alpha float32, a, packed, c []float32, bias []float32, act *Act) {
	if m == 0 || n == 0 {
		return
	}
	var bp *C.float
	if bias != nil {
		bp = fptr(bias)
	}
	code, p1, p2 := cAct(act)
	C.xfer_dense_packed(C.int(m), C.int(n), C.int(k), C.float(alpha), fptr(a), fptr(packed), fptr(c), bp, code, p1, p2)
	if act != nil && !NativeAct(*act) {
		finishRows(m, n, c, n, nil, act)
	}
}

// depthwiseC is Depthwise in vectorised C (the same bits as DepthwiseGo);
// an activation without a C kernel runs in Go after.
func depthwiseC(g Conv2D, x, w, bias, y []float32, c0, c1 int, act *Act) bool {
	in, out, ks := g.H*g.W, g.OH*g.OW, g.KH*g.KW
	if len(x) < c1*in || len(w) < c1*ks || len(y) < c1*out || bias != nil && len(bias) < c1 || in == 0 {
		return false
	}
	geo := [12]C.int{C.int(g.H), C.int(g.W), C.int(g.OH), C.int(g.OW), C.int(g.KH), C.int(g.KW),
		C.int(g.SH), C.int(g.SW), C.int(g.DH), C.int(g.DW), C.int(g.PT), C.int(g.PL)}
	var bp *C.float
	if bias != nil {
		bp = fptr(bias)
	}
	code, p1, p2 := cAct(act)
	if C.xk_dw(&geo[0], fptr(x), fptr(w), bp, fptr(y), C.int(c0), C.int(c1), code, p1, p2) == 0 {
		return false // out of C memory: the Go loop needs none
	}
	if act != nil && !NativeAct(*act) {
		blk := y[c0*out : c1*out]
		ForwardGo(*act, blk, blk)
	}
	return true
}

// maxPoolC is MaxPool in vectorised C.
func maxPoolC(g Conv2D, x, y []float32, c0, c1 int) bool {
	in, out := g.H*g.W, g.OH*g.OW
	if len(x) < c1*in || len(y) < c1*out || in == 0 {
		return false
	}
	geo := [12]C.int{C.int(g.H), C.int(g.W), C.int(g.OH), C.int(g.OW), C.int(g.KH), C.int(g.KW),
		C.int(g.SH), C.int(g.SW), C.int(g.DH), C.int(g.DW), C.int(g.PT), C.int(g.PL)}
	return C.xk_maxpool(&geo[0], fptr(x), fptr(y), C.int(c0), C.int(c1)) != 0
}

// im2colC is Im2col in C.
func im2colC(g Conv2D, x []float32, channels int, col []float32, ld int) bool {
	in, out, ks := g.H*g.W, g.OH*g.OW, g.KH*g.KW
	if len(x) < channels*in || in == 0 || ld < out || len(col) < (channels*ks-1)*ld+out {
		return false
	}
	geo := [12]C.int{C.int(g.H), C.int(g.W), C.int(g.OH), C.int(g.OW), C.int(g.KH), C.int(g.KW),
		C.int(g.SH), C.int(g.SW), C.int(g.DH), C.int(g.DW), C.int(g.PT), C.int(g.PL)}
	C.xk_im2col(&geo[0], fptr(x), C.int(channels), fptr(col), C.size_t(ld))
	return true
}

// rowBiasActC is RowBiasAct in vectorised C; false when act has no C
// kernel.
func rowBiasActC(m, n int, y []float32, ldy int, bias []float32, act *Act) bool {
	if act != nil && !NativeAct(*act) || ldy < n || len(y) < (m-1)*ldy+n || bias != nil && len(bias) < m {
		return false
	}
	var bp *C.float
	if bias != nil {
		bp = fptr(bias)
	}
	code, p1, p2 := cAct(act)
	C.xk_rowbias(C.int(m), C.int(n), fptr(y), C.int(ldy), bp, code, p1, p2)
	return true
}

// winogradInputC is WinogradInput in C.
func winogradInputC(x []float32, h, w, pt, pl, th, tw int, v []float32, c, c0, c1, ld, t0 int) bool {
	if len(x) < c1*h*w || h*w == 0 || len(v) < (15*c+c1-1)*ld+t0+th*tw || t0+th*tw > ld {
		return false
	}
	return C.xk_wgi(fptr(x), C.int(h), C.int(w), C.int(pt), C.int(pl), C.int(th), C.int(tw), fptr(v), C.int(c),
		C.int(c0), C.int(c1), C.size_t(ld), C.size_t(t0)) != 0
}

// winogradOutputC is WinogradOutput in C.
func winogradOutputC(p []float32, mm, m0, m1, ld, t0 int, bias, y []float32, oh, ow int) bool {
	th, tw := WinogradTiles(oh, ow)
	if len(p) < (15*mm+m1-1)*ld+t0+th*tw || t0+th*tw > ld || len(y) < m1*oh*ow || bias != nil && len(bias) < m1 {
		return false
	}
	var bp *C.float
	if bias != nil {
		bp = fptr(bias)
	}
	return C.xk_wgo(fptr(p), C.int(mm), C.int(m0), C.int(m1), C.size_t(ld), C.size_t(t0), bp, fptr(y), C.int(oh), C.int(ow)) != 0
}

// pointwiseC is Pointwise in C on packed weights; an activation without a
// C kernel runs in Go after. False when the sizes do not fit.
func pointwiseC(m, n, k int, packed, x []float32, ldx int, bias, y []float32, ldy int, act *Act) bool {
	blocks := (m + PointwiseRows - 1) / PointwiseRows
	if !HasAVX512 || len(packed) < blocks*PointwiseRows*k || ldx < n || len(x) < (k-1)*ldx+n || ldy < n || len(y) < (m-1)*ldy+n ||
		bias != nil && len(bias) < m {
		return false
	}
	var bp *C.float
	if bias != nil {
		bp = fptr(bias)
	}
	code, p1, p2 := cAct(act)
	C.xk_pw(C.int(m), C.int(n), C.int(k), fptr(packed), fptr(x), C.size_t(ldx), bp, fptr(y), C.size_t(ldy), code, p1, p2)
	if act != nil && !NativeAct(*act) {
		for r := range m {
			row := y[r*ldy : r*ldy+n]
			ForwardGo(*act, row, row)
		}
	}
	return true
}

// addActC is AddAct in vectorised C; false when act has no C kernel.
func addActC(y, z []float32, act *Act) bool {
	if act != nil && !NativeAct(*act) || len(z) < len(y) {
		return false
	}
	code, p1, p2 := cAct(act)
	C.xk_addact(C.size_t(len(y)), fptr(y), fptr(z), code, p1, p2)
	return true
}
