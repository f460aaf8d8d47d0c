package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestWinograd: the C transforms give the Go ones' bits, and the whole
// Winograd convolution (weights, input, the 16 products as plain sums,
// output) matches a float64 3x3 stride-1 convolution by its definition,
// over random sizes and pads (including pads that leave odd output sizes).
func TestWinograd(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for trial := range 60 {
		h, w := 1+rng.Intn(9), 1+rng.Intn(9)
		pt, pl, pb, pr := rng.Intn(3), rng.Intn(3), rng.Intn(3), rng.Intn(3)
		oh, ow := h+pt+pb-2, w+pl+pr-2
		if oh < 1 || ow < 1 {
			continue
		}
		c, m := 1+rng.Intn(6), 1+rng.Intn(5)
		x, wt, bias := randFloats(rng, c*h*w), randFloats(rng, m*c*9), randFloats(rng, m)
		th, tw := WinogradTiles(oh, ow)
		t0 := rng.Intn(3)
		ld := t0 + th*tw + rng.Intn(3)
		vGo, vC := make([]float32, 16*c*ld), make([]float32, 16*c*ld)
		WinogradInputGo(x, h, w, pt, pl, th, tw, vGo, c, 0, c, ld, t0)
		WinogradInput(x, h, w, pt, pl, th, tw, vC, c, 0, c, ld, t0)
		for i := range vGo {
			if !sameBits(vC[i], vGo[i]) {
				t.Fatalf("trial %d: V[%d] = %v (C); Go %v", trial, i, vC[i], vGo[i])
			}
		}
		u := WinogradWeights(wt, m, c)
		p := make([]float32, 16*m*ld)
		for k := range 16 {
			for o := range m {
				for tile := range th * tw {
					var s float32
					for i := range c {
						s += u[(k*m+o)*c+i] * vGo[(k*c+i)*ld+t0+tile]
					}
					p[(k*m+o)*ld+t0+tile] = s
				}
			}
		}
		yGo, yC := make([]float32, m*oh*ow), make([]float32, m*oh*ow)
		WinogradOutputGo(p, m, 0, m, ld, t0, bias, yGo, oh, ow)
		WinogradOutput(p, m, 0, m, ld, t0, bias, yC, oh, ow)
		for i := range yGo {
			if !sameBits(yC[i], yGo[i]) {
				t.Fatalf("trial %d: y[%d] = %v (C); Go %v", trial, i, yC[i], yGo[i])
			}
		}
		for o := range m {
			for r := range oh {
				for q := range ow {
					ref := float64(bias[o])
					for i := range c {
						for kh := range 3 {
							for kw := range 3 {
								ih, iw := r-pt+kh, q-pl+kw
								if ih >= 0 && ih < h && iw >= 0 && iw < w {
									ref += float64(wt[((o*c+i)*3+kh)*3+kw]) * float64(x[(i*h+ih)*w+iw])
								}
							}
						}
					}
					if got := float64(yGo[(o*oh+r)*ow+q]); math.Abs(got-ref) > 1e-5*(1+math.Abs(ref)) {
						t.Fatalf("trial %d (h %d w %d pads %d %d %d %d): y[%d,%d,%d] = %v; definition %v", trial, h, w, pt, pl, pb, pr, o, r, q, got, ref)
					}
				}
			}
		}
	}
}
