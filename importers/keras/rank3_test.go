package keras

import (
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// TestDenseOnSequence: Keras applies Dense to the last axis of a rank-3
// input (Keras 3 keeps the [batch, steps, units] shape).
func TestDenseOnSequence(t *testing.T) {
	cfg := seqHead + `{"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2, 3]}},
		{"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "relu"}}]}}`
	w := []weight{
		{shape: []int{3, 2}, data: []float32{1, 0, 0, 1, 1, -1}},
		{shape: []int{2}, data: []float32{0.5, 0}},
	}
	m, err := build([]byte(cfg), memWeights{"d": w}, map[string]string{"keras_version": "3.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := engine.New(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Predict(&model.Tensor{DType: model.Float32, Shape: []int{1, 2, 3}, F32: []float32{1, 2, 3, -1, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	// Row [1 2 3]: [1+3+0.5, 2-3] -> relu [4.5, 0]; row [-1 0 1]: [-1+1+0.5, 0-1] -> [0.5, 0].
	want := &model.Tensor{Shape: []int{1, 2, 2}, F32: []float32{4.5, 0, 0.5, 0}}
	compare(t, got, want)
	if len(got.Shape) != 3 {
		t.Errorf("output shape %v; want rank 3", got.Shape)
	}
}

// TestRescaling: Keras 3 image models start with Rescaling(1/255); an
// Identity layer passes values through.
func TestRescaling(t *testing.T) {
	cfg := seqHead + `{"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2, 2]}},
		{"class_name": "Rescaling", "config": {"name": "r", "scale": [0.5, 2], "offset": -1.0}},
		{"class_name": "Identity", "config": {"name": "id"}}]}}`
	m, err := build([]byte(cfg), memWeights{}, map[string]string{"keras_version": "3.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := engine.New(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Predict(&model.Tensor{DType: model.Float32, Shape: []int{1, 2, 2}, F32: []float32{2, 3, 4, 5}})
	if err != nil {
		t.Fatal(err)
	}
	compare(t, got, &model.Tensor{Shape: []int{1, 2, 2}, F32: []float32{0, 5, 1, 9}})
	bad := seqHead + `{"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 3]}},
		{"class_name": "Rescaling", "config": {"name": "r", "scale": [0.5, 2]}}]}}`
	if _, err := build([]byte(bad), memWeights{}, nil); err == nil {
		t.Errorf("Rescaling with 2 scales for 3 channels succeeded")
	}
}
