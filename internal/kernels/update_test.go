package kernels

import (
	"math"
	"testing"
)

func TestFirstNonFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct {
		g    []float32
		want int
	}{
		{nil, -1},
		{[]float32{0, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}, -1},
		{[]float32{1, inf}, 1},
		{[]float32{-inf, 1}, 0},
		{[]float32{1, 2, nan}, 2},
	}
	// Long slices run the vector body of the C scan, not only its tail.
	for _, at := range []int{0, 15, 16, 777, 999} {
		for _, v := range []float32{inf, -inf, nan} {
			g := make([]float32, 1000)
			for i := range g {
				g[i] = float32(i%7) - 3
			}
			g[at] = v
			cases = append(cases, struct {
				g    []float32
				want int
			}{g, at})
		}
	}
	cases = append(cases, struct {
		g    []float32
		want int
	}{make([]float32, 1000), -1})
	for _, c := range cases {
		if got := FirstNonFinite(c.g); got != c.want {
			t.Errorf("FirstNonFinite(%d values, %v) = %d; want %d", len(c.g), c.g[max(c.want, 0):min(max(c.want, 0)+1, len(c.g))], got, c.want)
		}
	}
}

// TestEluFamilyExpNeg: eluFamily32's written-out exponential gives
// ExpNeg's bits (TestExpNeg tests the kernel itself).
func TestEluFamilyExpNeg(t *testing.T) {
	var x []float32
	for v := float32(-100); v <= 3; v += 0.0137 {
		x = append(x, v)
	}
	const alpha, gamma = 1.6732632, 1.050701 // SELU's constants (Keras)
	y := make([]float32, len(x))
	eluFamily32(alpha, gamma, x, y)
	for i, v := range x {
		want := float32(gamma) * v
		if v <= 0 {
			want = float32(gamma) * float32(alpha) * (ExpNeg(max(v, -87)) - 1)
		}
		if math.Float32bits(y[i]) != math.Float32bits(want) {
			t.Fatalf("eluFamily32(x = %v) = %v; want %v", v, y[i], want)
		}
	}
}

// BenchmarkFirstNonFinite is the per-step gradient scan over model A's
// 266,610 trainable values (compare with finetune's BenchmarkTrainStep).
func BenchmarkFirstNonFinite(b *testing.B) {
	g := make([]float32, 266610)
	for i := range g {
		g[i] = float32(i%13) - 6
	}
	b.SetBytes(int64(4 * len(g)))
	for b.Loop() {
		if FirstNonFinite(g) != -1 {
			b.Fatal("found a non-finite value")
		}
	}
}
