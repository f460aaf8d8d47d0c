package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestDepthwiseC: the C depthwise convolution gives DepthwiseGo's bits
// over random geometries (strides 1-3, dilations 1-2, pads up to beyond
// the input), with and without bias and activation; and DepthwiseGo
// matches a direct float64 evaluation of the definition.
func TestDepthwiseC(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	acts := []*Act{nil, {Op: "Relu"}, {Op: "Clip", Alpha: 0, Beta: 6}, {Op: "HardSwish"}}
	for trial := range 300 {
		g := Conv2D{H: 1 + rng.Intn(9), W: 1 + rng.Intn(11), KH: 1 + rng.Intn(5), KW: 1 + rng.Intn(5),
			SH: 1 + rng.Intn(3), SW: 1 + rng.Intn(3), DH: 1 + rng.Intn(2), DW: 1 + rng.Intn(2)}
		g.PT, g.PL = rng.Intn(g.KH*g.DH+1), rng.Intn(g.KW*g.DW+1)
		pb, pr := rng.Intn(g.KH*g.DH+1), rng.Intn(g.KW*g.DW+1)
		spanH, spanW := g.H+g.PT+pb-((g.KH-1)*g.DH+1), g.W+g.PL+pr-((g.KW-1)*g.DW+1)
		if spanH < 0 || spanW < 0 {
			continue
		}
		g.OH, g.OW = spanH/g.SH+1, spanW/g.SW+1
		c := 1 + rng.Intn(5)
		x := randFloats(rng, c*g.H*g.W)
		w := randFloats(rng, c*g.KH*g.KW)
		var bias []float32
		if trial%2 == 0 {
			bias = randFloats(rng, c)
		}
		act := acts[trial%len(acts)]
		want := make([]float32, c*g.OH*g.OW)
		got := make([]float32, len(want))
		DepthwiseGo(g, x, w, bias, want, 0, c, act)
		Depthwise(g, x, w, bias, got, 0, c, act)
		for i := range want {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("trial %d %+v act %v: y[%d] = %v (C); Go %v", trial, g, act, i, got[i], want[i])
			}
		}
		if act != nil {
			continue
		}
		for ch := range c {
			for oh := range g.OH {
				for ow := range g.OW {
					var ref float64
					for kh := range g.KH {
						for kw := range g.KW {
							ih, iw := oh*g.SH-g.PT+kh*g.DH, ow*g.SW-g.PL+kw*g.DW
							if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
								ref += float64(w[(ch*g.KH+kh)*g.KW+kw]) * float64(x[(ch*g.H+ih)*g.W+iw])
							}
						}
					}
					if bias != nil {
						ref += float64(bias[ch])
					}
					v := float64(want[(ch*g.OH+oh)*g.OW+ow])
					if math.Abs(v-ref) > 1e-5*(1+math.Abs(ref)) {
						t.Fatalf("trial %d %+v: y[%d,%d,%d] = %v; definition %v", trial, g, ch, oh, ow, v, ref)
					}
				}
			}
		}
	}
}

// TestDepthwise3x3: the 3x3 kernels of stride 1 and 2 (AVX-512's xk_dw3
// where the CPU has it) give DepthwiseGo's bits over random sizes and
// pads (beyond the kernel too), activations run in registers and after,
// and special values (NaN, infinities, signed zeros) in the input, the
// weights and the bias.
func TestDepthwise3x3(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	acts := []*Act{nil, {Op: "Relu"}, {Op: "Clip", Alpha: 0, Beta: 6}, {Op: "Clip", Alpha: -1, Beta: 1}, {Op: "HardSwish"}, {Op: "Sigmoid"}}
	special := specialValues()
	for trial := range 400 {
		s := 1 + rng.Intn(2)
		g := Conv2D{H: 1 + rng.Intn(40), W: 1 + rng.Intn(40), KH: 3, KW: 3, SH: s, SW: s, DH: 1, DW: 1,
			PT: rng.Intn(4), PL: rng.Intn(4)}
		pb, pr := rng.Intn(4), rng.Intn(4)
		spanH, spanW := g.H+g.PT+pb-3, g.W+g.PL+pr-3
		if spanH < 0 || spanW < 0 {
			continue
		}
		g.OH, g.OW = spanH/s+1, spanW/s+1
		c := 1 + rng.Intn(4)
		x, w := randFloats(rng, c*g.H*g.W), randFloats(rng, c*9)
		bias := randFloats(rng, c)
		if trial%3 == 0 {
			bias = nil
		}
		if trial%4 == 0 { // special values in a few places
			for range 3 {
				x[rng.Intn(len(x))] = special[rng.Intn(len(special))]
			}
			w[rng.Intn(len(w))] = special[rng.Intn(len(special))]
			if bias != nil {
				bias[rng.Intn(len(bias))] = special[rng.Intn(len(special))]
			}
		}
		act := acts[trial%len(acts)]
		want := make([]float32, c*g.OH*g.OW)
		got := make([]float32, len(want))
		DepthwiseGo(g, x, w, bias, want, 0, c, act)
		Depthwise(g, x, w, bias, got, 0, c, act)
		for i := range want {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("trial %d %+v act %v: y[%d] = %v (C); Go %v", trial, g, act, i, got[i], want[i])
			}
		}
	}
}

// TestDepthwiseCLarge: planes large enough that the C kernel works in
// several blocks of rows (4096 outputs each), or one row at a time.
func TestDepthwiseCLarge(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	act := &Act{Op: "Clip", Alpha: 0, Beta: 6}
	for _, g := range []Conv2D{
		{H: 112, W: 112, OH: 112, OW: 112, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1},
		{H: 113, W: 75, OH: 57, OW: 38, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PT: 1, PL: 1},
		{H: 3, W: 4200, OH: 3, OW: 4196, KH: 3, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 0},
	} {
		c := 3
		x, w, bias := randFloats(rng, c*g.H*g.W), randFloats(rng, c*g.KH*g.KW), randFloats(rng, c)
		want := make([]float32, c*g.OH*g.OW)
		got := make([]float32, len(want))
		DepthwiseGo(g, x, w, bias, want, 0, c, act)
		Depthwise(g, x, w, bias, got, 1, c, act)
		Depthwise(g, x, w, bias, got, 0, 1, act)
		for i := range want {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("%+v: y[%d] = %v (C); Go %v", g, i, got[i], want[i])
			}
		}
	}
}

// TestRowBiasActC: the C epilogue gives RowBiasActGo's bits.
func TestRowBiasActC(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for _, act := range []*Act{nil, {Op: "Relu"}, {Op: "Clip", Alpha: 0, Beta: 6}, {Op: "Sigmoid"}, {Op: "Mish"}} {
		m, n, ld := 5, 37, 40
		y := randFloats(rng, m*ld)
		want := append([]float32(nil), y...)
		bias := randFloats(rng, m)
		RowBiasActGo(m, n, want, ld, bias, act)
		RowBiasAct(m, n, y, ld, bias, act)
		for i := range want {
			if !sameBits(y[i], want[i]) {
				t.Fatalf("act %v: y[%d] = %v (C); Go %v", act, i, y[i], want[i])
			}
		}
	}
}

// TestAddActC: the C residual add + activation gives AddActGo's bits,
// special values included, over lengths around its blocks of 2048.
func TestAddActC(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	special := specialValues()
	for _, act := range []*Act{nil, {Op: "Relu"}, {Op: "Clip", Alpha: 0, Beta: 6}, {Op: "Sigmoid"}, {Op: "HardSwish"}} {
		for _, n := range []int{1, 7, 2048, 4100} {
			y, z := randFloats(rng, n), randFloats(rng, n)
			for i := 0; i < n; i += 3 {
				y[i] = special[i%len(special)]
				z[(i+1)%n] = special[(i/3)%len(special)]
			}
			want := append([]float32(nil), y...)
			AddActGo(want, z, act)
			AddAct(y, z, act)
			for i := range want {
				if !sameBits(y[i], want[i]) {
					t.Fatalf("act %v n %d: y[%d] = %v (C); Go %v", act, n, i, y[i], want[i])
				}
			}
		}
	}
}

// BenchmarkAddAct: ResNet-18's first residual (64 x 56 x 56) with its
// Relu.
func BenchmarkAddAct(b *testing.B) {
	rng := rand.New(rand.NewSource(14))
	n := 64 * 56 * 56
	y, z := randFloats(rng, n), randFloats(rng, n)
	act := &Act{Op: "Relu"}
	for b.Loop() {
		AddAct(y, z, act)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

func randFloats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * 2)
	}
	return v
}

// benchDepthwise times a 3x3 stride-1 same-padded depthwise convolution
// with bias and ReLU6 over c planes of h x h (MobileNetV2's shapes at
// 224x224: 32x112x112, 384x14x14, 960x7x7).
func benchDepthwise(b *testing.B, c, h int) {
	rng := rand.New(rand.NewSource(7))
	g := Conv2D{H: h, W: h, OH: h, OW: h, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1}
	x, w, bias := randFloats(rng, c*h*h), randFloats(rng, c*9), randFloats(rng, c)
	y := make([]float32, c*h*h)
	act := &Act{Op: "Clip", Alpha: 0, Beta: 6}
	for b.Loop() {
		Depthwise(g, x, w, bias, y, 0, c, act)
	}
	b.ReportMetric(float64(c*h*h*9*b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func BenchmarkDepthwise112(b *testing.B) { benchDepthwise(b, 32, 112) }
func BenchmarkDepthwise14(b *testing.B)  { benchDepthwise(b, 384, 14) }
func BenchmarkDepthwise7(b *testing.B)   { benchDepthwise(b, 960, 7) }

// BenchmarkDepthwise112s2 is MobileNetV2's stride-2 depthwise
// convolution of 96 planes of 112x112.
func BenchmarkDepthwise112s2(b *testing.B) {
	rng := rand.New(rand.NewSource(7))
	g := Conv2D{H: 112, W: 112, OH: 56, OW: 56, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PT: 1, PL: 1}
	c := 96
	x, w, bias := randFloats(rng, c*112*112), randFloats(rng, c*9), randFloats(rng, c)
	y := make([]float32, c*56*56)
	act := &Act{Op: "Clip", Alpha: 0, Beta: 6}
	for b.Loop() {
		Depthwise(g, x, w, bias, y, 0, c, act)
	}
	b.ReportMetric(float64(c*56*56*9*b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

// TestIm2col: the C im2col matches Im2colGo (a copy, so exactly) over
// random geometries, and Im2colGo matches the definition.
func TestIm2col(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for trial := range 300 {
		g := Conv2D{H: 1 + rng.Intn(9), W: 1 + rng.Intn(11), KH: 1 + rng.Intn(5), KW: 1 + rng.Intn(5),
			SH: 1 + rng.Intn(3), SW: 1 + rng.Intn(3), DH: 1 + rng.Intn(2), DW: 1 + rng.Intn(2)}
		g.PT, g.PL = rng.Intn(g.KH*g.DH+1), rng.Intn(g.KW*g.DW+1)
		pb, pr := rng.Intn(g.KH*g.DH+1), rng.Intn(g.KW*g.DW+1)
		spanH, spanW := g.H+g.PT+pb-((g.KH-1)*g.DH+1), g.W+g.PL+pr-((g.KW-1)*g.DW+1)
		if spanH < 0 || spanW < 0 {
			continue
		}
		g.OH, g.OW = spanH/g.SH+1, spanW/g.SW+1
		c := 1 + rng.Intn(3)
		out := g.OH * g.OW
		ld := out + rng.Intn(3)
		x := randFloats(rng, c*g.H*g.W)
		rows := c * g.KH * g.KW
		want, got := randFloats(rng, rows*ld), randFloats(rng, rows*ld)
		copy(got, want) // the gaps between rows stay as they are
		Im2colGo(g, x, c, want, ld)
		Im2col(g, x, c, got, ld)
		for i := range want {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("trial %d %+v: col[%d] = %v (C); Go %v", trial, g, i, got[i], want[i])
			}
		}
		for r := range rows {
			ch, kh, kw := r/(g.KH*g.KW), r/g.KW%g.KH, r%g.KW
			for oh := range g.OH {
				for ow := range g.OW {
					ih, iw := oh*g.SH-g.PT+kh*g.DH, ow*g.SW-g.PL+kw*g.DW
					var v float32
					if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
						v = x[(ch*g.H+ih)*g.W+iw]
					}
					if w := want[r*ld+oh*g.OW+ow]; w != v {
						t.Fatalf("trial %d %+v: Im2colGo row %d (%d,%d) = %v; want %v", trial, g, r, oh, ow, w, v)
					}
				}
			}
		}
	}
}

// TestMaxPool: the C max pooling gives MaxPoolGo's bits over random
// geometries with NaN and infinite inputs, and MaxPoolGo takes the max of
// the taps inside the input.
func TestMaxPool(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	for trial := range 300 {
		g := Conv2D{H: 1 + rng.Intn(9), W: 1 + rng.Intn(11), KH: 1 + rng.Intn(4), KW: 1 + rng.Intn(4),
			SH: 1 + rng.Intn(3), SW: 1 + rng.Intn(3), DH: 1 + rng.Intn(2), DW: 1 + rng.Intn(2)}
		g.PT, g.PL = rng.Intn((g.KH-1)*g.DH+1), rng.Intn((g.KW-1)*g.DW+1)
		// Output sizes up to one window past the floor (ceil_mode).
		g.OH = max((g.H+g.PT-((g.KH-1)*g.DH+1))/g.SH+1+rng.Intn(2), 1)
		g.OW = max((g.W+g.PL-((g.KW-1)*g.DW+1))/g.SW+1+rng.Intn(2), 1)
		c := 1 + rng.Intn(3)
		x := randFloats(rng, c*g.H*g.W)
		for i := range x {
			if rng.Intn(10) == 0 {
				x[i] = special[rng.Intn(len(special))]
			}
		}
		want, got := make([]float32, c*g.OH*g.OW), make([]float32, c*g.OH*g.OW)
		MaxPoolGo(g, x, want, 0, c)
		MaxPool(g, x, got, 0, c)
		for i := range want {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("trial %d %+v: y[%d] = %v (C); Go %v", trial, g, i, got[i], want[i])
			}
		}
		for ch := range c {
			for oh := range g.OH {
				for ow := range g.OW {
					ref, nan := math.Inf(-1), false
					for kh := range g.KH {
						for kw := range g.KW {
							ih, iw := oh*g.SH-g.PT+kh*g.DH, ow*g.SW-g.PL+kw*g.DW
							if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
								v := float64(x[(ch*g.H+ih)*g.W+iw])
								nan = nan || math.IsNaN(v)
								ref = math.Max(ref, v)
							}
						}
					}
					v := float64(want[(ch*g.OH+oh)*g.OW+ow])
					if nan != math.IsNaN(v) || !nan && v != ref {
						t.Fatalf("trial %d %+v: y[%d,%d,%d] = %v; want %v", trial, g, ch, oh, ow, v, ref)
					}
				}
			}
		}
	}
}
