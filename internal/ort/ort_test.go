package ort

import (
	"errors"
	"math"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// fixture is the PyTorch export of the book's model A with its reference
// input and torch's output (fixtures/torch/gen.py).
const (
	fixture = "../../fixtures/torch/model_a.onnx"
	fixX    = "../../fixtures/torch/x.npy"
	fixY    = "../../fixtures/torch/y.npy"
)

// needORT skips the test loudly when the library is absent.
func needORT(t testing.TB) {
	t.Helper()
	if err := Init(); err != nil {
		if errors.Is(err, ErrNotInstalled) {
			t.Skipf("SKIP (ONNX Runtime not installed): %v", err)
		}
		t.Fatalf("Init() = %v", err)
	}
}

func TestRunTorchFixture(t *testing.T) {
	needORT(t)
	x, err := tensorio.ReadFile(fixX)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile(fixY)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Run(fixture, map[string]*model.Tensor{"input": x})
	if err != nil {
		t.Fatalf("Run(%s) error %v", fixture, err)
	}
	y := got["output"]
	if y == nil || len(y.F32) != len(want.F32) || len(y.Shape) != 2 || y.Shape[0] != 4 || y.Shape[1] != 8 {
		t.Fatalf("Run(%s) = %+v; want output [4 8]", fixture, got)
	}
	for i := range want.F32 {
		// 1e-5: float32 summation order differs between torch and ORT.
		if d := math.Abs(float64(y.F32[i] - want.F32[i])); d > 1e-5 {
			t.Errorf("output[%d] = %g; want %g (torch)", i, y.F32[i], want.F32[i])
		}
	}
}

func TestRunErrors(t *testing.T) {
	needORT(t)
	if _, err := Run("does-not-exist.onnx", nil); err == nil {
		t.Errorf("Run(missing file) = nil error; want an error")
	}
	if _, err := Run(fixture, map[string]*model.Tensor{"wrong": {DType: model.Float32, Shape: []int{1, 28, 28}, F32: make([]float32, 784)}}); err == nil {
		t.Errorf("Run(fixture, wrong input name) = nil error; want an error")
	}
}
