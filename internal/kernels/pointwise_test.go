package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
)

// TestPointwise: the C product (where the CPU has AVX-512) matches
// PointwiseGo over shapes that leave partial row blocks (12 rows) and
// column panels (32, and fewer than 16, columns), row strides wider than
// the rows, with and without bias, with activations that have a C kernel
// and one that has not (HardSwish); and PointwiseGo matches a float64
// evaluation of the definition.
func TestPointwise(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	acts := []*Act{nil, {Op: "Relu"}, {Op: "Clip", Alpha: 0, Beta: 6}, {Op: "HardSwish"}}
	special := specialValues()
	for trial, c := range []struct{ m, n, k, padX, padY int }{
		{1, 1, 1, 0, 0}, {12, 32, 16, 0, 0}, {13, 33, 7, 3, 0}, {16, 3136, 32, 0, 0}, {25, 49, 160, 0, 5},
		{96, 196, 24, 1, 1}, {11, 15, 3, 0, 0}, {24, 17, 960, 0, 0}, {5, 100, 1, 2, 2},
	} {
		for ai, act := range acts {
			ldx, ldy := c.n+c.padX, c.n+c.padY
			w, x := randFloats(rng, c.m*c.k), randFloats(rng, (c.k-1)*ldx+c.n)
			var bias []float32
			if (trial+ai)%2 == 0 {
				bias = randFloats(rng, c.m)
			}
			if trial == 2 { // special values: the activations' NaN and signed-zero rules
				for i := range x {
					if i%5 == 0 {
						x[i] = special[i%len(special)]
					}
				}
			}
			want := make([]float32, (c.m-1)*ldy+c.n)
			got := make([]float32, len(want))
			PointwiseGo(c.m, c.n, c.k, w, x, ldx, bias, want, ldy, act)
			packed := PackPointwise(w, c.m, c.k)
			if HasAVX512 && packed == nil {
				t.Fatalf("%+v: not packed on an AVX-512 CPU", c)
			}
			Pointwise(c.m, c.n, c.k, w, packed, x, ldx, bias, got, ldy, act)
			if packed != nil {
				if u := UnpackPointwise(packed, c.m, c.k); !slices.Equal(u, w) {
					t.Fatalf("%+v: UnpackPointwise(PackPointwise(w)) != w", c)
				}
			}
			for r := range c.m {
				for j := range c.n {
					var ref, mag float64
					for kk := range c.k {
						p := float64(w[r*c.k+kk]) * float64(x[kk*ldx+j])
						ref += p
						mag += math.Abs(p)
					}
					if bias != nil {
						ref += float64(bias[r])
						mag += math.Abs(float64(bias[r]))
					}
					g, v := float64(got[r*ldy+j]), float64(want[r*ldy+j])
					if trial == 2 {
						if !sameBits(got[r*ldy+j], want[r*ldy+j]) {
							t.Fatalf("%+v act %v (special values): y[%d,%d] = %v (C); Go %v", c, act, r, j, g, v)
						}
						continue
					}
					// The C kernel's fused multiply-adds round once,
					// fma32 (via float64) may round twice: a few ulp of the
					// magnitude at most.
					if math.Abs(g-v) > 0x1p-22*mag {
						t.Fatalf("%+v act %v: y[%d,%d] = %v (C); Go %v", c, act, r, j, g, v)
					}
					if act != nil {
						continue
					}
					// float32 sums of k products: up to about k ulp of the magnitude.
					if math.Abs(v-ref) > 1e-6+float64(c.k+1)*0x1p-24*mag {
						t.Fatalf("%+v: y[%d,%d] = %v (Go); definition %v", c, r, j, v, ref)
					}
				}
			}
		}
	}
}

// benchPointwise times a 1x1 convolution's product with bias and ReLU6,
// m output channels by k input channels over a plane of n positions.
func benchPointwise(b *testing.B, m, k, n int) {
	rng := rand.New(rand.NewSource(10))
	w, x, bias := randFloats(rng, m*k), randFloats(rng, k*n), randFloats(rng, m)
	y := make([]float32, m*n)
	packed := PackPointwise(w, m, k)
	act := &Act{Op: "Clip", Alpha: 0, Beta: 6}
	for b.Loop() {
		Pointwise(m, n, k, w, packed, x, n, bias, y, n, act)
	}
	b.ReportMetric(float64(2*m*n*k*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkPointwise: MobileNetV2's 1x1 convolutions at 224x224
// (expansion 16 -> 96 at 112x112, 24 -> 144 at 56x56, projection 144 ->
// 24 at 56x56, 96 -> 576 at 14x14, 960 -> 160 and 320 -> 1280 at 7x7).
func BenchmarkPointwise(b *testing.B) {
	for _, c := range []struct{ m, k, n int }{
		{96, 16, 12544}, {144, 24, 3136}, {24, 144, 3136}, {576, 96, 196}, {160, 960, 49}, {1280, 320, 49},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d", c.m, c.k, c.n), func(b *testing.B) { benchPointwise(b, c.m, c.k, c.n) })
	}
}
