package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// TestDensePacked checks the fused dense product with packed weights (the
// engine's own AVX-512 kernel where the CPU has it; OpenBLAS elsewhere)
// against a float64 reference, over shapes that leave partial row tiles
// (12 rows) and partial column panels (32 columns), both weight layouts,
// alpha != 1, bias and activation.
func TestDensePacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ m, n, k int }{
		{1, 1, 1}, {2, 8, 5}, {12, 32, 16}, {13, 33, 7}, {25, 17, 64}, {30, 300, 784}, {256, 50, 100}, {11, 64, 3},
	} {
		for _, transB := range []bool{false, true} {
			x := make([]float32, c.m*c.k)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			wshape := []int{c.k, c.n}
			if transB {
				wshape = []int{c.n, c.k}
			}
			w := &model.Tensor{DType: model.Float32, Shape: wshape, F32: make([]float32, c.n*c.k)}
			for i := range w.F32 {
				w.F32[i] = float32(rng.NormFloat64())
			}
			bias := make([]float32, c.n)
			for i := range bias {
				bias[i] = float32(rng.NormFloat64())
			}
			act := kernels.Act{Op: "Tanh"}
			f := &fusedDense{transB: transB, alpha: 0.5, k: c.k, n: c.n, bias: bias, act: &act}
			f.pack(w)
			if kernels.HasAVX512 && f.packed == nil {
				t.Fatalf("m=%d n=%d k=%d: weights not packed on an AVX-512 CPU", c.m, c.n, c.k)
			}
			got := make([]float32, c.m*c.n)
			f.denseBlock(x, w.F32, w.Shape[1], got, 0, c.m)
			for i := range c.m {
				for j := range c.n {
					sum, mag := 0.0, 0.0
					for kk := range c.k {
						wv := w.F32[kk*c.n+j]
						if transB {
							wv = w.F32[j*c.k+kk]
						}
						sum += float64(x[i*c.k+kk]) * float64(wv)
						mag += math.Abs(float64(x[i*c.k+kk]) * float64(wv))
					}
					want := math.Tanh(0.5*sum + float64(bias[j]))
					// float32 sums of k products: error up to about k ulp of the magnitudes.
					tol := 1e-6 + 0.5*mag*float64(c.k)*6e-8
					if d := math.Abs(float64(got[i*c.n+j]) - want); d > tol {
						t.Fatalf("m=%d n=%d k=%d transB=%v packed=%v: y[%d,%d] = %g; want %g (tolerance %g)",
							c.m, c.n, c.k, transB, f.packed != nil, i, j, got[i*c.n+j], want, tol)
					}
				}
			}
		}
	}
}

// TestPredictThreadsIdentical checks that model A's predictions are
// bit-identical for 1 and 2 engine threads (the packed product sums each
// output in the same order whatever the split).
func TestPredictThreadsIdentical(t *testing.T) {
	defer SetThreads(Threads())
	rng := rand.New(rand.NewPCG(9, 10))
	m := modelA(t, rng)
	x := randTensor(rng, 256, 28, 28)
	var outs [][]float32
	for _, n := range []int{1, 2} {
		SetThreads(n)
		s, err := New(m)
		if err != nil {
			t.Fatal(err)
		}
		y, err := s.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, y.F32)
	}
	if !kernels.HasAVX512 {
		t.Skip("no AVX-512: OpenBLAS runs the products, and its results depend on the split")
	}
	for i := range outs[0] {
		if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) {
			t.Fatalf("Predict(x)[%d] = %g with 1 thread, %g with 2; want identical", i, outs[0][i], outs[1][i])
		}
	}
}
