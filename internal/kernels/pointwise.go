package kernels

import "math"

// The product of a convolution in NCHW with its bias and activation in the
// same pass: y[M, N] = act(W[M, K] @ X[K, N] + bias), W the weight [M,
// C*KH*KW] and X a 1x1 convolution's input [C, H*W] as it is, or another
// convolution's im2col matrix. OpenBLAS runs these short-K products (K of
// 16 to 960 in MobileNetV2) at 40-75 GFLOP/s, then clears and rereads the
// output for the bias; the C twin (pointwise.h, AVX-512) keeps a 12 x 32
// tile of y in registers over the whole of K and adds the bias and
// activation before the tile leaves the cache.

// PointwiseRows and PointwiseCols are the C kernel's tile (XK_PW_MR,
// XK_PW_NR): W is packed in blocks of PointwiseRows rows (the block of
// rows [12b, 12b+12) starts at 12b*k), and column splits between threads
// are best made at multiples of PointwiseCols.
const (
	PointwiseRows = 12
	PointwiseCols = 32
)

// PackPointwise packs w [m, k] (row-major) for Pointwise: block b holds
// rows 12b..12b+11 as k groups of 12 floats (column kk of those rows),
// zero-padded past m. Nil without a C kernel (Pointwise then runs
// PointwiseGo on w).
func PackPointwise(w []float32, m, k int) []float32 {
	if !HasAVX512 || m <= 0 || k <= 0 {
		return nil
	}
	blocks := (m + PointwiseRows - 1) / PointwiseRows
	p := make([]float32, blocks*PointwiseRows*k)
	for r := range m {
		b, i := r/PointwiseRows, r%PointwiseRows
		dst := p[b*PointwiseRows*k:]
		for kk, v := range w[r*k : (r+1)*k] {
			dst[kk*PointwiseRows+i] = v
		}
	}
	return p
}

// UnpackPointwise is the inverse of PackPointwise: w [m, k] from packed.
func UnpackPointwise(packed []float32, m, k int) []float32 {
	w := make([]float32, m*k)
	for r := range m {
		src := packed[r/PointwiseRows*PointwiseRows*k:]
		for kk := range k {
			w[r*k+kk] = src[kk*PointwiseRows+r%PointwiseRows]
		}
	}
	return w
}

// fma32 is a float32 fused multiply-add: x*y is exact in float64, and the
// one rounding of x*y+z to float64 before float32 differs from a single
// rounding to float32 only when that sum needs more than 53 bits and lies
// within 2^-29 ulp of a float32 midpoint.
func fma32(x, y, z float32) float32 {
	return float32(math.FMA(float64(x), float64(y), float64(z)))
}

// PointwiseGo computes y[r, j] = act(sum over kk of w[r, kk]*x[kk, j] +
// bias[r]) for r in [0, m) and j in [0, n): w [m, k] row-major, x rows of
// row stride ldx, y rows of stride ldy, bias [m] or nil, act nil for none.
// Each sum starts at 0 and takes the fused multiply-adds in order kk = 0,
// 1, ..., then the bias is added and the activation applied (as
// RowBiasActGo).
func PointwiseGo(m, n, k int, w, x []float32, ldx int, bias, y []float32, ldy int, act *Act) {
	for r := range m {
		row := y[r*ldy : r*ldy+n]
		wr := w[r*k : (r+1)*k]
		for j := range row {
			var acc float32
			for kk, wv := range wr {
				acc = fma32(wv, x[kk*ldx+j], acc)
			}
			row[j] = acc
		}
	}
	RowBiasActGo(m, n, y, ldy, bias, act)
}

// Pointwise is PointwiseGo through the C kernel on packed, w packed by
// PackPointwise (packed nil: PointwiseGo on w). w may be nil when packed
// is not (the caller keeps only the packed copy); should the C kernel
// refuse, the Go loop then runs on w unpacked.
func Pointwise(m, n, k int, w, packed, x []float32, ldx int, bias, y []float32, ldy int, act *Act) {
	if m <= 0 || n <= 0 {
		return
	}
	if packed != nil && k > 0 && pointwiseC(m, n, k, packed, x, ldx, bias, y, ldy, act) {
		return
	}
	if w == nil && packed != nil {
		w = UnpackPointwise(packed, m, k)
	}
	PointwiseGo(m, n, k, w, x, ldx, bias, y, ldy, act)
}
