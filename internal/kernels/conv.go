package kernels

import "math"

// Convolution kernels for the engine (NCHW, one image at a time): the
// depthwise 2-D convolution, im2col, 2-D max pooling, the epilogue
// that adds a per-channel bias and applies an activation to the rows of a
// convolution's output, and the one that adds a residual then applies the
// activation.
// Each has a Go loop (the reference, and the pure-Go build) and a
// vectorised C twin (conv.h) with the same bits.

// Conv2D is the geometry of a 2-D convolution over one channel plane:
// input H x W, output OH x OW, kernel KH x KW, strides, dilations and the
// top and left pads (the bottom and right ones follow from the output
// size).
type Conv2D struct {
	H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL int
}

// DepthwiseGo computes channels [c0, c1) of a depthwise convolution (one
// filter per channel): x [C, H, W], w [C, KH, KW], bias [C] or nil, y [C,
// OH, OW]. Each output starts at 0 and adds w*v for every tap in kernel
// order (row by row), v the input under the tap or 0 in the padding (as
// ONNX pads with zeros: an infinite weight over the padding gives NaN),
// then the bias, then the activation (nil: none).
func DepthwiseGo(g Conv2D, x, w, bias, y []float32, c0, c1 int, act *Act) {
	in, out, ks := g.H*g.W, g.OH*g.OW, g.KH*g.KW
	for c := c0; c < c1; c++ {
		xc, wc := x[c*in:(c+1)*in], w[c*ks:(c+1)*ks]
		for oh := range g.OH {
			row := y[c*out+oh*g.OW : c*out+(oh+1)*g.OW]
			for ow := range row {
				var acc float32
				for kh := range g.KH {
					ih := oh*g.SH - g.PT + kh*g.DH
					for kw := range g.KW {
						iw := ow*g.SW - g.PL + kw*g.DW
						var v float32
						if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
							v = xc[ih*g.W+iw]
						}
						acc += wc[kh*g.KW+kw] * v
					}
				}
				row[ow] = acc
			}
			if bias != nil {
				b := bias[c]
				for i := range row {
					row[i] += b
				}
			}
			if act != nil {
				ForwardGo(*act, row, row)
			}
		}
	}
}

// Depthwise is DepthwiseGo in vectorised C when there is a C kernel (the
// same bits; an activation without a C kernel then runs in Go after).
func Depthwise(g Conv2D, x, w, bias, y []float32, c0, c1 int, act *Act) {
	if c1 <= c0 || g.OH <= 0 || g.OW <= 0 {
		return
	}
	if depthwiseC(g, x, w, bias, y, c0, c1, act) {
		return
	}
	DepthwiseGo(g, x, w, bias, y, c0, c1, act)
}

// RowBiasActGo adds bias[r] (bias nil: none) to every element of row r of
// the m rows of y (n columns, row stride ldy) and applies act (nil: none).
func RowBiasActGo(m, n int, y []float32, ldy int, bias []float32, act *Act) {
	for r := range m {
		row := y[r*ldy : r*ldy+n]
		if bias != nil {
			b := bias[r]
			for i := range row {
				row[i] += b
			}
		}
		if act != nil {
			ForwardGo(*act, row, row)
		}
	}
}

// RowBiasAct is RowBiasActGo in vectorised C when act has a C kernel (the
// same bits).
func RowBiasAct(m, n int, y []float32, ldy int, bias []float32, act *Act) {
	if m <= 0 || n <= 0 || bias == nil && act == nil {
		return
	}
	if rowBiasActC(m, n, y, ldy, bias, act) {
		return
	}
	RowBiasActGo(m, n, y, ldy, bias, act)
}

// AddActGo sets y[i] = act(y[i] + z[i]) for i in [0, len(y)) (act nil:
// none): a residual connection's Add, and the activation after it, fused
// into the convolution that computes y.
func AddActGo(y, z []float32, act *Act) {
	z = z[:len(y)]
	for i := range y {
		y[i] += z[i]
	}
	if act != nil {
		ForwardGo(*act, y, y)
	}
}

// AddAct is AddActGo in vectorised C when act has a C kernel (the same
// bits).
func AddAct(y, z []float32, act *Act) {
	if len(y) == 0 {
		return
	}
	if addActC(y, z, act) {
		return
	}
	AddActGo(y, z, act)
}

// Im2colGo fills col [channels*KH*KW, OH*OW] (row stride ld) from x
// [channels, H, W] for a 2-D convolution of geometry g: row (ch, kh, kw)
// holds, for each output position, the input under that tap, or 0 in the
// padding.
func Im2colGo(g Conv2D, x []float32, channels int, col []float32, ld int) {
	in, out := g.H*g.W, g.OH*g.OW
	row := 0
	for ch := range channels {
		xc := x[ch*in : (ch+1)*in]
		for kh := range g.KH {
			for kw := range g.KW {
				dst := col[row*ld : row*ld+out]
				row++
				for oh := range g.OH {
					d := dst[oh*g.OW : (oh+1)*g.OW]
					ih := oh*g.SH - g.PT + kh*g.DH
					for ow := range d {
						iw := ow*g.SW - g.PL + kw*g.DW
						if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
							d[ow] = xc[ih*g.W+iw]
						} else {
							d[ow] = 0
						}
					}
				}
			}
		}
	}
}

// Im2col is Im2colGo in C when there is a C kernel.
func Im2col(g Conv2D, x []float32, channels int, col []float32, ld int) {
	if channels <= 0 || g.OH <= 0 || g.OW <= 0 {
		return
	}
	if im2colC(g, x, channels, col, ld) {
		return
	}
	Im2colGo(g, x, channels, col, ld)
}

// MaxPoolGo computes planes [c0, c1) of a 2-D max pooling of x [C, H, W]
// into y [C, OH, OW] (g's pads may extend past the input, as ceil_mode
// windows do): each output is the max over its taps inside the input,
// from -Inf, a NaN tap making it NaN (v > acc || v != v, in tap order).
func MaxPoolGo(g Conv2D, x, y []float32, c0, c1 int) {
	in, out := g.H*g.W, g.OH*g.OW
	for c := c0; c < c1; c++ {
		xc, yc := x[c*in:(c+1)*in], y[c*out:(c+1)*out]
		for oh := range g.OH {
			for ow := range g.OW {
				acc := float32(math.Inf(-1))
				for kh := range g.KH {
					ih := oh*g.SH - g.PT + kh*g.DH
					if ih < 0 || ih >= g.H {
						continue
					}
					for kw := range g.KW {
						iw := ow*g.SW - g.PL + kw*g.DW
						if iw < 0 || iw >= g.W {
							continue
						}
						if v := xc[ih*g.W+iw]; v > acc || v != v {
							acc = v
						}
					}
				}
				yc[oh*g.OW+ow] = acc
			}
		}
	}
}

// MaxPool is MaxPoolGo in vectorised C when there is a C kernel (the same
// bits).
func MaxPool(g Conv2D, x, y []float32, c0, c1 int) {
	if c1 <= c0 || g.OH <= 0 || g.OW <= 0 {
		return
	}
	if maxPoolC(g, x, y, c0, c1) {
		return
	}
	MaxPoolGo(g, x, y, c0, c1)
}
