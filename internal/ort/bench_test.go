package ort

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xferml/xfer/engine"
	importer "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/model"
)

// benchPredict times xfer's engine and ONNX Runtime predicting the book's
// model A (the PyTorch export, one file for both) at one batch size,
// alternating the two each iteration so that both see the same machine
// state. It reports samples/s of each and their ratio (issue 6 targets:
// xfer/ort >= 0.8 at batch 1, >= 1.0 at batch 256).
func benchPredict(b *testing.B, batch int) {
	needORT(b)
	m, err := importer.ReadFile(fixture)
	if err != nil {
		b.Fatal(err)
	}
	s, err := engine.New(m)
	if err != nil {
		b.Fatal(err)
	}
	o, err := NewSession(fixture, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	x := &model.Tensor{DType: model.Float32, Shape: []int{batch, 28, 28}, F32: make([]float32, batch*784)}
	for i := range x.F32 {
		x.F32[i] = rng.Float32()
	}
	in := map[string]*model.Tensor{"input": x}
	// Warm up both (first-run allocation, thread pools).
	for range 3 {
		if _, err := s.Predict(x); err != nil {
			b.Fatal(err)
		}
		if _, err := o.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	var te, to time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.Predict(x); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := o.Run(in); err != nil {
			b.Fatal(err)
		}
		te += t1.Sub(t0)
		to += time.Since(t1)
	}
	n := float64(batch * b.N)
	b.ReportMetric(n/te.Seconds(), "xfer_samples/s")
	b.ReportMetric(n/to.Seconds(), "ort_samples/s")
	b.ReportMetric(to.Seconds()/te.Seconds(), "xfer/ort")
}

func BenchmarkPredictModelA1(b *testing.B)   { benchPredict(b, 1) }
func BenchmarkPredictModelA256(b *testing.B) { benchPredict(b, 256) }
