package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// TestDenseBlockActs checks that the fused dense kernel (vectorised C in
// the cgo build) returns the same bits as the Go kernels: the product by
// an identity weight (exact for finite values), the bias add, then
// unaryFor's activation, over special values (NaN and infinities through
// the bias, zeros, exp's overflow, underflow
// and denormal ranges, tanh's 0.625 and 9 switch points) and random ones.
func TestDenseBlockActs(t *testing.T) {
	special := []float32{
		0, float32(math.Copysign(0, -1)),
		1e-30, -1e-30, 0.625, -0.625, 0.62, 9, -9, 9.5, -9.5, 20, -20, 44.3, 44.4, 88.7, 88.8, 89, 200,
		-87, -87.4, -88, -90, -100, -103.9, -104, -110, 1, -1, 0.5, -0.5,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const k = 64 // identity weight side: row length
	var xs []float32
	xs = append(xs, special...)
	for len(xs)%k != 0 || len(xs) < 40*k {
		xs = append(xs, float32(rng.NormFloat64()*float64(1+rng.IntN(40))))
	}
	rows := len(xs) / k
	eye := make([]float32, k*k)
	for i := range k {
		eye[i*k+i] = 1
	}
	bias := make([]float32, k)
	// Infinities and NaN come through the bias (a product would turn them
	// into NaN); columns 0..k-5 keep the special values exactly.
	bias[k-1], bias[k-2], bias[k-3], bias[k-4] = 0.25, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())
	acts := []*model.Node{
		{Op: "Relu"}, {Op: "LeakyRelu", Attrs: map[string]model.Attr{"alpha": model.Float(0.2)}},
		{Op: "Elu", Attrs: map[string]model.Attr{"alpha": model.Float(0.7)}}, {Op: "Selu"},
		{Op: "Sigmoid"}, {Op: "Tanh"},
	}
	for _, n := range acts {
		t.Run(n.Op, func(t *testing.T) {
			act, err := unaryFor(n)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kernels.ActOf(n)
			if err != nil {
				t.Fatal(err)
			}
			f := &fusedDense{alpha: 1, k: k, n: k, bias: bias, act: &a}
			for _, transB := range []bool{false, true} {
				f.transB = transB
				got := make([]float32, len(xs))
				f.denseBlock(xs, eye, k, got, 0, 1) // one row: the sgemv path
				f.denseBlock(xs, eye, k, got, 1, rows)
				want := make([]float32, len(xs))
				for i, v := range xs {
					want[i] = v + bias[i%k]
				}
				act(want, want)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
						t.Fatalf("%s(%g + %g) transB=%v = %g (%#x); want %g (%#x) as the Go kernel", n.Op, xs[i], bias[i%k], transB,
							got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		})
	}
}
