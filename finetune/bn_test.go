package finetune

import (
	"context"
	"reflect"
	"testing"

	"github.com/xferml/xfer/model"
)

// TestBatchNormModes: which BatchNormalization layers update their moving
// statistics (batch statistics) and which keep them (inference mode) while
// their gamma and beta train, by Config.BNMode.
func TestBatchNormModes(t *testing.T) {
	set := randomSet(t, 40, 3, []int{6})
	// flat: a frozen Dense, then a trainable BN and head.
	flat := func() *model.Model {
		m := seqModel(t, 2, []int{6}, denseStage("d0", 5, "linear"), bnStage("bn"), denseStage("d1", 3, "softmax"))
		m.Layer("d0").SetTrainable(false)
		return m
	}
	// nested: the Dense and BN inside a nested model "base" called with
	// training=False, all trainable (Keras's guide after unfreezing).
	nested := func() *model.Model {
		m := seqModelRaw(t, 2, []int{6}, denseStage("base/d0", 5, "linear"), bnStage("base/bn"), denseStage("d1", 3, "softmax"))
		off := false
		m.Submodels = []*model.Submodel{{Name: "base", Kind: "Functional", Trainable: true, Training: &off,
			Inputs: []string{m.Layer("flatten").Outputs[0]}, Outputs: []string{m.Layer("base/bn").Outputs[0]}}}
		m.Layer("base/d0").Scope, m.Layer("base/bn").Scope = "base", "base"
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name       string
		m          func() *model.Model
		mode, bn   string
		statsMoved bool
	}{
		{"fine-tuning default", flat, "", "bn", false},
		{"inference", flat, "inference", "bn", false},
		{"batch", flat, "batch", "bn", true},
		{"auto flat", flat, "auto", "bn", true},
		{"auto nested training=False", nested, "auto", "base/bn", false},
		{"batch nested training=False", nested, "batch", "base/bn", true},
		{"from scratch default", nested, "", "base/bn", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m()
			out, _, err := Train(context.Background(), m, set, nil, Config{Epochs: 1, BNMode: tt.mode, LearningRate: 0.1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			before, after := m.Layer(tt.bn), out.Layer(tt.bn)
			moved := !reflect.DeepEqual(after.Param("moving_mean").Data, before.Param("moving_mean").Data) ||
				!reflect.DeepEqual(after.Param("moving_variance").Data, before.Param("moving_variance").Data)
			if moved != tt.statsMoved {
				t.Errorf("BN mode %q: moving statistics changed = %v; want %v", tt.mode, moved, tt.statsMoved)
			}
			if reflect.DeepEqual(after.Param("gamma").Data, before.Param("gamma").Data) {
				t.Errorf("BN mode %q: gamma did not train", tt.mode)
			}
		})
	}
	if _, _, err := Train(context.Background(), flat(), set, nil, Config{Epochs: 1, BNMode: "frozen"}, nil); err == nil {
		t.Errorf("Train(BNMode frozen) error = nil")
	}
}
