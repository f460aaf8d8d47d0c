package finetune

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/model"
)

// setOf makes a set of n examples of shape with labels y (or one-hot rows
// when oneHot > 0) and inputs scaled to [0, top].
func setOf(t *testing.T, shape []int, y []float32, classes, oneHot int, top float32) *dataset.Set {
	t.Helper()
	n := len(y)
	if oneHot > 0 {
		n = len(y) / oneHot
	}
	x := make([]float32, n*model.NumElements(shape))
	for i := range x {
		x[i] = top * float32(i%7) / 6
	}
	xt := &model.Tensor{DType: model.Float32, Shape: append([]int{n}, shape...), F32: x}
	var s *dataset.Set
	var err error
	if oneHot > 0 {
		s, err = dataset.NewOneHotSet("d", xt, y, oneHot)
	} else {
		s, err = dataset.NewSet("d", xt, y, classes)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCheck: every mismatch of head, loss and labels is an ErrMismatch
// saying what to do, found before training; the good pairs pass and pick
// Keras's loss.
func TestCheck(t *testing.T) {
	sig1 := seqModel(t, 1, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 1, "sigmoid"))
	soft3 := seqModel(t, 1, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 3, "softmax"))
	lin3 := seqModel(t, 1, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 3, "linear"))
	lin1 := seqModel(t, 1, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 1, "linear"))
	img := seqModel(t, 1, []int{2, 2}, denseStage("d1", 3, "softmax"))
	classes8 := []float32{0, 7, 3, 5}
	binary := []float32{0, 1, 1, 0}
	sparse3 := []float32{0, 2, 1, 1}
	oneHot3 := []float32{1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0}
	reg := []float32{0.5, -2, 3.25, 1}
	tests := []struct {
		name       string
		m          *model.Model
		set        *dataset.Set
		loss       string
		fromLogits bool
		want       string // loss chosen, or "" for a mismatch
		msg        string // in the mismatch
	}{
		{"sigmoid head, 8 classes (issue 13)", sig1, setOf(t, []int{4}, classes8, 8, 0, 1), "", false, "", "needs labels in [0, 1]"},
		{"sigmoid head, binary", sig1, setOf(t, []int{4}, binary, 2, 0, 1), "", false, LossBinaryCrossentropy, ""},
		{"sigmoid head, sparse CE", sig1, setOf(t, []int{4}, binary, 2, 0, 1), LossSparseCategoricalCrossentropy, false, "", "1 unit"},
		{"softmax 3, 8 classes", soft3, setOf(t, []int{4}, classes8, 8, 0, 1), "", false, "", "only 3 units: for 8 classes give it 8 softmax units"},
		{"softmax 3, sparse", soft3, setOf(t, []int{4}, sparse3, 3, 0, 1), "", false, LossSparseCategoricalCrossentropy, ""},
		{"softmax 3, one-hot", soft3, setOf(t, []int{4}, oneHot3, 3, 3, 1), "", false, LossCategoricalCrossentropy, ""},
		{"one-hot with sparse CE", soft3, setOf(t, []int{4}, oneHot3, 3, 3, 1), LossSparseCategoricalCrossentropy, false, "", "use --loss categorical_crossentropy"},
		{"sparse with categorical CE", soft3, setOf(t, []int{4}, sparse3, 3, 0, 1), LossCategoricalCrossentropy, false, "", "use --loss sparse_categorical_crossentropy"},
		{"one-hot 2 for 3 units", soft3, setOf(t, []int{4}, []float32{1, 0, 0, 1}, 2, 2, 1), "", false, "", "head has 3 units"},
		{"regression with sparse CE", soft3, setOf(t, []int{4}, reg, 0, 0, 1), LossSparseCategoricalCrossentropy, false, "", "not class indices"},
		{"linear head, CE", lin3, setOf(t, []int{4}, sparse3, 3, 0, 1), LossSparseCategoricalCrossentropy, false, "", "give --from-logits"},
		{"linear head, from logits", lin3, setOf(t, []int{4}, sparse3, 3, 0, 1), "", true, LossSparseCategoricalCrossentropy, ""},
		{"linear 1 unit, from logits", lin1, setOf(t, []int{4}, binary, 2, 0, 1), "", true, LossBinaryCrossentropy, ""},
		{"softmax with from logits", soft3, setOf(t, []int{4}, sparse3, 3, 0, 1), "", true, "", "already applies softmax"},
		{"linear regression", lin1, setOf(t, []int{4}, reg, 0, 0, 1), "", false, LossMSE, ""},
		{"shape", soft3, setOf(t, []int{5}, sparse3, 3, 0, 1), "", false, "", "examples of shape [5] (5 values) but model input"},
		{"raw pixels", img, setOf(t, []int{2, 2}, sparse3, 3, 0, 255), "", false, "", "range 0..255 (raw 8-bit values)"},
		{"scaled pixels", img, setOf(t, []int{2, 2}, sparse3, 3, 0, 1), "", false, LossSparseCategoricalCrossentropy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Loss: tt.loss, FromLogits: tt.fromLogits, Epochs: 1}
			cfg.defaults()
			k, err := checkRun(tt.m, tt.set, nil, &cfg)
			if tt.want == "" {
				if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("checkRun = %v; want ErrMismatch containing %q", err, tt.msg)
				}
				// Train refuses it before any step and returns no model.
				m, h, err := Train(context.Background(), tt.m, tt.set, nil, cfg, nil)
				if m != nil || h != nil || !errors.Is(err, ErrMismatch) {
					t.Errorf("Train = %v, %v, %v; want nil, nil, ErrMismatch", m, h, err)
				}
				return
			}
			if err != nil || k.name != tt.want {
				t.Fatalf("checkRun = %s, %v; want %s", k.name, err, tt.want)
			}
		})
	}
	// --rescale 1 accepts raw pixels; a validation set is checked too.
	raw := setOf(t, []int{2, 2}, sparse3, 3, 0, 255)
	raw.Rescale = dataset.Rescaling{Scale: 1}
	cfg := Config{Epochs: 1}
	cfg.defaults()
	if _, err := checkRun(img, raw, nil, &cfg); err != nil {
		t.Errorf("raw pixels with --rescale 1: %v", err)
	}
	if _, err := checkRun(soft3, setOf(t, []int{4}, sparse3, 3, 0, 1), setOf(t, []int{4}, classes8, 8, 0, 1), &cfg); !errors.Is(err, ErrMismatch) {
		t.Errorf("validation labels of 8 classes for 3 units: %v; want ErrMismatch", err)
	}
}

// TestFromLogitsTrains: a linear head with --from-logits trains, and its
// loss equals the softmax head's on the same weights (the loss applies
// the softmax the head lacks).
func TestFromLogitsTrains(t *testing.T) {
	lin := seqModel(t, 3, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 3, "linear"))
	soft := seqModel(t, 3, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 3, "softmax"))
	set := setOf(t, []int{4}, []float32{0, 2, 1, 1, 0, 2}, 3, 0, 1)
	a, err := EvaluateWith(lin, set, EvalOptions{FromLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Evaluate(soft, set, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := a.Loss - b.Loss; d > 1e-6 || d < -1e-6 || a.Accuracy != b.Accuracy {
		t.Errorf("from-logits loss %v, accuracy %v; softmax head %v, %v; want equal", a.Loss, a.Accuracy, b.Loss, b.Accuracy)
	}
	_, h, err := Train(context.Background(), lin, set, nil, Config{Epochs: 2, FromLogits: true}, nil)
	if err != nil || h.LossFunction != LossSparseCategoricalCrossentropy {
		t.Errorf("Train from logits: %v, %+v", err, h)
	}
}
