package finetune

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/xferml/xfer/model"
)

// TestPredictMC: Monte Carlo dropout draws differ from the deterministic
// prediction, repeat for a seed, and for a linear network average to it
// (inverted dropout keeps the expectation); a model without noise layers
// is refused.
func TestPredictMC(t *testing.T) {
	m := seqModel(t, 5, []int{6}, denseStage("d0", 16, "linear"), dropoutStage("drop", "Dropout", 0.3), denseStage("d1", 2, "linear"))
	x := &model.Tensor{DType: model.Float32, Shape: []int{3, 6}, F32: []float32{1, 2, 3, 4, 5, 6, -1, 0.5, 2, 0, 1, -2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3}}
	det, err := Predict(m, x)
	if err != nil {
		t.Fatal(err)
	}
	one, err := PredictMC(m, x, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := PredictMC(m, x, 1, 7)
	if slices.Equal(one.F32, det.F32) || !slices.Equal(one.F32, again.F32) {
		t.Errorf("one MC sample %v (again %v) vs deterministic %v: want different from it and repeatable", one.F32, again.F32, det.F32)
	}
	many, err := PredictMC(m, x, 3000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var scale float64
	for _, v := range det.F32 {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range det.F32 {
		if d := math.Abs(float64(many.F32[i] - det.F32[i])); d > 0.05*scale {
			t.Errorf("MC mean[%d] = %v; deterministic %v (a linear net's expectation)", i, many.F32[i], det.F32[i])
		}
	}
	plain := seqModel(t, 5, []int{6}, denseStage("d0", 4, "relu"), denseStage("d1", 2, "softmax"))
	if _, err := PredictMC(plain, x, 5, 1); !errors.Is(err, ErrMismatch) {
		t.Errorf("PredictMC without dropout: %v; want ErrMismatch", err)
	}
}
