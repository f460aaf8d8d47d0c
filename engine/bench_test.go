package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// modelA builds the book's model A (chapter 11: Flatten, Dense 300, 100, 50,
// 50, 50 with SELU, Dense 8 softmax) with random weights from rng.
func modelA(tb testing.TB, rng *rand.Rand) *model.Model {
	tb.Helper()
	m := &model.Model{
		Name: "model_A", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "input", DType: model.Float32, Shape: []int{-1, 28, 28}}},
	}
	flat := &model.Layer{
		Name: "flatten", Kind: "Flatten", Inputs: []string{"input"}, Outputs: []string{"flatten/out"}, Trainable: true,
		Nodes: []*model.Node{{Name: "flatten/Flatten", Op: "Flatten", Inputs: []string{"input"}, Outputs: []string{"flatten/out"}, Attrs: map[string]model.Attr{"axis": model.Int(1)}}},
	}
	m.Layers = append(m.Layers, flat)
	prev, in := "flatten/out", 784
	for i, units := range []int{300, 100, 50, 50, 50, 8} {
		act := "selu"
		if units == 8 {
			act = "softmax"
		}
		k := make([]float32, in*units)
		for j := range k {
			k[j] = float32(rng.NormFloat64() / 30)
		}
		b := make([]float32, units)
		for j := range b {
			b[j] = float32(rng.NormFloat64() / 10)
		}
		l, err := layers.Dense(layers.DenseSpec{
			Name: fmt.Sprintf("dense_%d", i), Input: prev, InFeatures: in, Units: units,
			Activation: act, UseBias: true, Trainable: true, Kernel: k, Bias: b,
		})
		if err != nil {
			tb.Fatal(err)
		}
		m.Layers = append(m.Layers, l)
		prev, in = l.Outputs[0], units
	}
	m.Outputs = []string{prev}
	return m
}

func randTensor(rng *rand.Rand, shape ...int) *model.Tensor {
	t := &model.Tensor{DType: model.Float32, Shape: shape, F32: make([]float32, numel(shape))}
	for i := range t.F32 {
		t.F32[i] = rng.Float32()
	}
	return t
}

func benchPredictModelA(b *testing.B, batch int) {
	rng := rand.New(rand.NewPCG(1, 2))
	s, err := New(modelA(b, rng))
	if err != nil {
		b.Fatal(err)
	}
	x := randTensor(rng, batch, 28, 28)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Predict(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkPredictModelA1(b *testing.B)   { benchPredictModelA(b, 1) }
func BenchmarkPredictModelA32(b *testing.B)  { benchPredictModelA(b, 32) }
func BenchmarkPredictModelA256(b *testing.B) { benchPredictModelA(b, 256) }

// BenchmarkConv2D is a 3x3 same-padded convolution of a 32x32 image with
// 16 to 32 channels, batch 8 (a small CNN block).
func BenchmarkConv2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := randTensor(rng, 32, 16, 3, 3)
	bias := randTensor(rng, 32)
	m := &model.Model{
		Name: "conv", Opset: 13,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 16, 32, 32}}},
		Outputs: []string{"y"},
		Layers: []*model.Layer{{Name: "conv", Kind: "Conv2D", Inputs: []string{"x"}, Outputs: []string{"y"},
			Params: []*model.Param{{Name: "w", Shape: w.Shape, Data: w.F32}, {Name: "b", Shape: bias.Shape, Data: bias.F32}},
			Nodes: []*model.Node{{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"},
				Attrs: map[string]model.Attr{"pads": model.Ints(1, 1, 1, 1)}}}}},
	}
	s, err := New(m)
	if err != nil {
		b.Fatal(err)
	}
	x := randTensor(rng, 8, 16, 32, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Predict(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(8*b.N)/b.Elapsed().Seconds(), "samples/s")
}
