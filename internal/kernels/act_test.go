package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// actTestValues are inputs for the C-versus-Go activation tests: NaNs with
// several payloads and both signs, infinities, signed zeros, subnormals,
// float32's extremes, the edges of the exponential's clamps (-87 in the
// SELU/ELU kernel, ln(MaxFloat32) and -103.97 in Exp) and their
// neighbours, then random values and random bit patterns.
func actTestValues() []float32 {
	nan := func(bits uint32) float32 { return math.Float32frombits(bits) }
	vs := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5, 1e-30, -1e-30,
		nan(0x7fc00000), nan(0xffc00000), nan(0x7fc12345), nan(0xff812345), nan(0x7f800001), // quiet and signalling
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.Float32frombits(0x007fffff), math.Float32frombits(0x807fffff), // largest subnormals
		math.Float32frombits(0x00800000), math.Float32frombits(0x80800000), // smallest normals
		math.MaxFloat32, -math.MaxFloat32,
		-87, -87.5, -86.99, -88, -88.72, -88.73, -100, -103.97, -103.98, -104, -126, -150, -1e4, -1e30,
		88.72, 88.73, 89, 100, 1e4, 1e30,
		0.625, -0.625, 9, -9, 9.01, -9.01, 3, -3,
	}
	for _, v := range append([]float32(nil), vs...) {
		if v == v && !math.IsInf(float64(v), 0) {
			vs = append(vs, math.Nextafter32(v, float32(math.Inf(1))), math.Nextafter32(v, float32(math.Inf(-1))))
		}
	}
	rng := rand.New(rand.NewSource(11))
	for range 3000 {
		vs = append(vs, float32(rng.Float64()*240-120), float32(rng.NormFloat64()*3), float32(rng.NormFloat64()*1e-3))
	}
	for range 1000 {
		vs = append(vs, math.Float32frombits(rng.Uint32()))
	}
	return vs
}

// specialValues are the values most likely to expose a different operand
// order or select: NaNs of several payloads and signs, infinities, signed
// zeros, subnormals and extremes.
func specialValues() []float32 {
	var vs []float32
	for _, b := range []uint32{0x7fc00000, 0xffc00000, 0x7fc0beef, 0xff812345, 0x7f800001, 0x7f800000, 0xff800000, 0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x7f7fffff, 0xff7fffff} {
		vs = append(vs, math.Float32frombits(b))
	}
	return append(vs, 1, -1, 0.5, -87.5, -104, 89, 2.5e-3)
}

// cActKinds are the activations with C kernels, with Keras's constants
// (SELU from keras.activations.selu; LeakyReLU's Keras 2 default 0.3).
var cActKinds = []Act{
	{Op: "Identity"},
	{Op: "Relu"},
	{Op: "LeakyRelu", Alpha: 0.3},
	{Op: "LeakyRelu", Alpha: 0.01},
	{Op: "Elu", Alpha: 1},
	{Op: "Elu", Alpha: 0.7},
	{Op: "Selu", Alpha: 1.6732632423543772848170429916717, Gamma: 1.0507009873554804934193349852946},
	{Op: "Sigmoid"},
	{Op: "Tanh"},
	{Op: "Clip", Alpha: 0, Beta: 6}, // ReLU6
	{Op: "Clip", Alpha: -1, Beta: 1},
}

// sameBits reports whether a and b have the same bits, any NaN matching any
// NaN: which operand's payload a NaN carries out of x+y depends on the CPU
// (Intel and AMD differ) and on the compiler's operand order, and no result
// of xfer depends on it.
func sameBits(a, b float32) bool {
	if a != a && b != b {
		return true
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// TestActC: the C kernels (act.h) give the bits of the Go ones for
// every activation they cover, with and without a bias, for row widths
// that exercise the vector loops' tails.
func TestActC(t *testing.T) {
	if !biasActC(Act{Op: "Relu"}, 1, 1, []float32{1}, 1, nil, []float32{0}, 1) {
		t.Skip("no C kernels in this build (xfer_purego or no cgo)")
	}
	vs := actTestValues()
	rng := rand.New(rand.NewSource(3))
	for _, k := range cActKinds {
		for _, u := range []int{1, 7, 16, 50, 300} {
			rows := len(vs) / u
			x := vs[:rows*u]
			bias := make([]float32, u)
			for i := range bias {
				bias[i] = float32(rng.NormFloat64())
			}
			bias[0] = vs[rng.Intn(len(vs))]
			for _, withBias := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%v/u=%d/bias=%v", k.Op, k.Alpha, u, withBias), func(t *testing.T) {
					zGo, zC := append([]float32(nil), x...), append([]float32(nil), x...)
					yGo, yC := make([]float32, len(x)), make([]float32, len(x))
					var b []float32
					if withBias {
						b = bias
						AddRows(zGo, b, zGo)
					}
					ForwardGo(k, zGo, yGo)
					if !biasActC(k, rows, u, zC, u, b, yC, u) {
						t.Fatalf("biasActC(%s) has no kernel", k.Op)
					}
					for i := range zGo {
						if !sameBits(zC[i], zGo[i]) {
							t.Fatalf("biasActC(%s) z[%d] (x %v, bias %v) = %v (%#x); Go gives %v (%#x)", k.Op, i, x[i], b[i%u], zC[i], math.Float32bits(zC[i]), zGo[i], math.Float32bits(zGo[i]))
						}
						if !sameBits(yC[i], yGo[i]) {
							t.Fatalf("biasActC(%s) y[%d] (z %v) = %v (%#x); Go gives %v (%#x)", k.Op, i, zGo[i], yC[i], math.Float32bits(yC[i]), yGo[i], math.Float32bits(yGo[i]))
						}
					}
				})
			}
		}
		t.Run(k.Op+"/special-pairs", func(t *testing.T) {
			// Every special value against every other as bias and input,
			// then as x, y and g of the gradient: NaN meets NaN here.
			sp := specialValues()
			u := len(sp)
			x := make([]float32, 0, u*u)
			for range sp {
				x = append(x, sp...)
			}
			bias := append([]float32(nil), sp...)
			rng.Shuffle(u, func(i, j int) { bias[i], bias[j] = bias[j], bias[i] })
			for r := 0; r < u; r++ { // row r: x[r*u+j] = sp[(j+r)%u]
				for j := range sp {
					x[r*u+j] = sp[(j+r)%u]
				}
			}
			zGo, zC := append([]float32(nil), x...), append([]float32(nil), x...)
			yGo, yC := make([]float32, len(x)), make([]float32, len(x))
			AddRows(zGo, bias, zGo)
			ForwardGo(k, zGo, yGo)
			if biasActC(k, u, u, zC, u, bias, yC, u) {
				for i := range zGo {
					if !sameBits(zC[i], zGo[i]) || !sameBits(yC[i], yGo[i]) {
						t.Fatalf("biasActC(%s)[%d] (x %#x, bias %#x) = z %#x, y %#x; Go gives z %#x, y %#x", k.Op, i, math.Float32bits(x[i]), math.Float32bits(bias[i%u]), math.Float32bits(zC[i]), math.Float32bits(yC[i]), math.Float32bits(zGo[i]), math.Float32bits(yGo[i]))
					}
				}
			}
			var xs, ys, gs []float32
			for _, a := range sp {
				for _, b := range sp {
					for _, c := range sp {
						xs, ys, gs = append(xs, a), append(ys, b), append(gs, c)
					}
				}
			}
			dGo, dC := make([]float32, len(xs)), make([]float32, len(xs))
			BackwardGo(k, xs, ys, gs, dGo)
			if actBackwardC(k, xs, ys, gs, dC) {
				for i := range dGo {
					if !sameBits(dC[i], dGo[i]) {
						t.Fatalf("actBackwardC(%s)[%d] (x %#x, y %#x, g %#x) = %#x; Go gives %#x", k.Op, i, math.Float32bits(xs[i]), math.Float32bits(ys[i]), math.Float32bits(gs[i]), math.Float32bits(dC[i]), math.Float32bits(dGo[i]))
					}
				}
			}
		})
		t.Run(k.Op+"/backward", func(t *testing.T) {
			// y from the forward kernel, and also arbitrary y (the kernels
			// must agree on any input); g from the test values shuffled.
			x := vs
			y := make([]float32, len(x))
			ForwardGo(k, x, y)
			if k.Op == "Tanh" || k.Op == "Identity" {
				for i, v := range x {
					y[i] = float32(math.Tanh(float64(v)))
				}
			}
			for _, yy := range [][]float32{y, shuffled(rng, vs)} {
				for _, g := range [][]float32{shuffled(rng, vs), shuffled(rng, vs)} {
					dGo, dC := make([]float32, len(x)), make([]float32, len(x))
					BackwardGo(k, x, yy, g, dGo)
					if !actBackwardC(k, x, yy, g, dC) {
						if k.Op != "Identity" && k.Op != "Clip" { // forward-only C kernels
							t.Fatalf("actBackwardC(%s) has no kernel", k.Op)
						}
						return
					}
					for i := range dGo {
						if !sameBits(dC[i], dGo[i]) {
							t.Fatalf("actBackwardC(%s)[%d] (x %v, y %v, g %v) = %v (%#x); Go gives %v (%#x)", k.Op, i, x[i], yy[i], g[i], dC[i], math.Float32bits(dC[i]), dGo[i], math.Float32bits(dGo[i]))
						}
					}
				}
			}
		})
	}
}

// TestBiasActStrides: with row strides wider than the rows (the engine's
// fused dense writes into wider outputs), BiasAct touches only the rows'
// first n columns and gives the bits of the contiguous Go loops.
func TestBiasActStrides(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	const m, n, ldz, ldy = 9, 13, 20, 17
	for _, k := range cActKinds {
		z := make([]float32, m*ldz)
		for i := range z {
			z[i] = float32(rng.NormFloat64() * 4)
		}
		bias := make([]float32, n)
		for i := range bias {
			bias[i] = float32(rng.NormFloat64())
		}
		zs := append([]float32(nil), z...)
		y := make([]float32, m*ldy)
		for i := range y {
			y[i] = -7 // must stay where no row writes
		}
		BiasAct(k, m, n, zs, ldz, bias, y, ldy)
		for i := range m {
			zr := append([]float32(nil), z[i*ldz:i*ldz+n]...)
			AddRows(zr, bias, zr)
			want := make([]float32, n)
			ForwardGo(k, zr, want)
			for j := range ldy {
				got := y[i*ldy+j]
				if j >= n {
					if got != -7 {
						t.Fatalf("BiasAct(%s) wrote y[%d][%d] past the row", k.Op, i, j)
					}
					continue
				}
				if !sameBits(got, want[j]) || !sameBits(zs[i*ldz+j], zr[j]) {
					t.Fatalf("BiasAct(%s)[%d][%d] = %v (z %v); want %v (z %v)", k.Op, i, j, got, zs[i*ldz+j], want[j], zr[j])
				}
			}
			for j := n; j < ldz; j++ {
				if zs[i*ldz+j] != z[i*ldz+j] {
					t.Fatalf("BiasAct(%s) changed z[%d][%d] past the row", k.Op, i, j)
				}
			}
		}
	}
}

func shuffled(rng *rand.Rand, vs []float32) []float32 {
	s := append([]float32(nil), vs...)
	rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

// TestSumRowsC: the C bias-gradient sum gives the bits of SumRowsGo, NaN
// payloads included, for row widths that exercise the vector loops' tails.
func TestSumRowsC(t *testing.T) {
	if !sumRowsC(nil, []float32{0}) {
		t.Skip("no C kernels in this build (xfer_purego or no cgo)")
	}
	vs := actTestValues()
	rng := rand.New(rand.NewSource(7))
	sp := specialValues()
	var pairs []float32 // every special value followed by every other, in one column
	for _, a := range sp {
		for _, b := range sp {
			pairs = append(pairs, a, b, 1)
		}
	}
	for _, c := range []int{1, 7, 16, 50, 300, -1} {
		var g []float32
		if c < 0 {
			c, g = 1, pairs
		} else {
			g = shuffled(rng, vs)
			g = g[:len(g)/c*c]
		}
		oGo, oC := make([]float32, c), make([]float32, c)
		for i := range oC {
			oC[i] = float32(i) // overwritten
		}
		SumRowsGo(g, oGo)
		if !sumRowsC(g, oC) {
			t.Fatalf("sumRowsC(c = %d) refused", c)
		}
		for i := range oGo {
			if !sameBits(oC[i], oGo[i]) {
				t.Fatalf("sumRowsC(c = %d)[%d] = %v (%#x); Go gives %v (%#x)", c, i, oC[i], math.Float32bits(oC[i]), oGo[i], math.Float32bits(oGo[i]))
			}
		}
	}
}

// TestMomentumC: the C momentum and Nesterov updates give the bits of
// MomentumGo, on random values and on every triple of special values
// as w, g and v, for several learning rates and momenta.
func TestMomentumC(t *testing.T) {
	if !momentumC(nil, nil, nil, 0, 0, false) {
		t.Skip("no C kernels in this build (xfer_purego or no cgo)")
	}
	sp := specialValues()
	var ws, gs, vs []float32
	for _, a := range sp {
		for _, b := range sp {
			for _, c := range sp {
				ws, gs, vs = append(ws, a), append(gs, b), append(vs, c)
			}
		}
	}
	rng := rand.New(rand.NewSource(9))
	all := actTestValues()
	ws, gs, vs = append(ws, shuffled(rng, all)...), append(gs, shuffled(rng, all)...), append(vs, shuffled(rng, all)...)
	for _, lr := range []float32{1e-3, 0.01, 1, 0, 3e38, float32(math.Inf(1)), math.Float32frombits(0x7fc0abcd)} {
		for _, mom := range []float32{0.9, 0.5, 0, 0.999, math.Float32frombits(0xffc01234)} {
			for _, nesterov := range []bool{false, true} {
				wGo, wC := append([]float32(nil), ws...), append([]float32(nil), ws...)
				vGo, vC := append([]float32(nil), vs...), append([]float32(nil), vs...)
				MomentumGo(wGo, gs, vGo, lr, mom, nesterov)
				if !momentumC(wC, gs, vC, lr, mom, nesterov) {
					t.Fatal("momentumC refused equal lengths")
				}
				for i := range wGo {
					if !sameBits(wC[i], wGo[i]) || !sameBits(vC[i], vGo[i]) {
						t.Fatalf("momentumC(lr %v, mom %v, nesterov %v)[%d] (w %#x, g %#x, v %#x) = w %#x, v %#x; Go gives w %#x, v %#x",
							lr, mom, nesterov, i, math.Float32bits(ws[i]), math.Float32bits(gs[i]), math.Float32bits(vs[i]),
							math.Float32bits(wC[i]), math.Float32bits(vC[i]), math.Float32bits(wGo[i]), math.Float32bits(vGo[i]))
					}
				}
			}
		}
	}
}

// BenchmarkMomentum compares the Go and C momentum updates on model A's
// 276,158 params.
func BenchmarkMomentum(b *testing.B) {
	const n = 276158 // model A: 784*300+300 + 300*100+100 + 100*50+50 + 2*(50*50+50) + 50*8+8
	w, g, v := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i%97) * 1e-3
	}
	b.Run("go", func(b *testing.B) {
		for range b.N {
			MomentumGo(w, g, v, 1e-3, 0.9, true)
		}
	})
	b.Run("c", func(b *testing.B) {
		if !momentumC(w, g, v, 1e-3, 0.9, true) {
			b.Skip("no C kernels in this build")
		}
		for range b.N {
			momentumC(w, g, v, 1e-3, 0.9, true)
		}
	})
}

// TestClipScaleC: the C ClipValue and clip-norm scaling loops give the bits
// of ClipValueGo and ScaleGo on special and random values.
func TestClipScaleC(t *testing.T) {
	if !scaleC(nil, 1) {
		t.Skip("no C kernels in this build (xfer_purego or no cgo)")
	}
	rng := rand.New(rand.NewSource(13))
	xs := append(specialValues(), shuffled(rng, actTestValues())...)
	for _, v := range append(specialValues(), 0.05, 1e-30) {
		gGo, gC := append([]float32(nil), xs...), append([]float32(nil), xs...)
		ClipValueGo(gGo, v)
		clipValueC(gC, v)
		sGo, sC := append([]float32(nil), xs...), append([]float32(nil), xs...)
		ScaleGo(sGo, v)
		scaleC(sC, v)
		for i := range gGo {
			if !sameBits(gC[i], gGo[i]) {
				t.Fatalf("clipValueC(%v)[%d] (g %#x) = %#x; Go gives %#x", v, i, math.Float32bits(xs[i]), math.Float32bits(gC[i]), math.Float32bits(gGo[i]))
			}
			if !sameBits(sC[i], sGo[i]) {
				t.Fatalf("scaleC(%v)[%d] (g %#x) = %#x; Go gives %#x", v, i, math.Float32bits(xs[i]), math.Float32bits(sC[i]), math.Float32bits(sGo[i]))
			}
		}
	}
}
