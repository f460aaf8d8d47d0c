package demo

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	kerasexp "github.com/xferml/xfer/exporters/keras"
	onnxexp "github.com/xferml/xfer/exporters/onnx"
	"github.com/xferml/xfer/finetune"
	kerasi "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

// TestTwoPhaseImportedModel is the end-to-end path on the committed
// model A fixture: import, drop the head, add a sigmoid unit, freeze, train
// with unfreezing after one epoch, export .h5 and .onnx; the exported files
// must predict what xfer predicts (the .h5 re-imported through the engine,
// the .onnx through ONNX Runtime).
func TestTwoPhaseImportedModel(t *testing.T) {
	f, err := dataset.LoadFashion(dataset.Options{})
	if errors.Is(err, dataset.ErrNotFound) {
		t.Skipf("SKIPPING: Fashion-MNIST NOT INSTALLED: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	train, _ := f.Task("B", "train")
	test, _ := f.Task("B", "test")
	test = test.Head(200)
	a, err := kerasi.ReadFile("../fixtures/modela/model_A.h5", kerasi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := surgery.DropHead(a, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if m, err = surgery.AddHead(m, surgery.HeadSpec{Units: 1, Activation: "sigmoid"}, rand.New(rand.NewSource(1))); err != nil {
		t.Fatal(err)
	}
	if m, err = surgery.Freeze(m, len(m.Layers)-2); err != nil {
		t.Fatal(err)
	}
	trained, h, err := finetune.Train(context.Background(), m, train, nil, finetune.Config{Epochs: 2, UnfreezeAfter: 1, LearningRate: 1e-3, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 2 {
		t.Fatalf("history has %d epochs; want 2", len(h.Epochs))
	}
	want, err := finetune.Predict(trained, test.X)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h5, onnxPath := filepath.Join(dir, "b_on_a.h5"), filepath.Join(dir, "b_on_a.onnx")
	if err := kerasexp.WriteH5(h5, trained); err != nil {
		t.Fatal(err)
	}
	if err := onnxexp.WriteFile(onnxPath, trained, onnxexp.Options{}); err != nil {
		t.Fatal(err)
	}
	back, err := kerasi.ReadFile(h5, kerasi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := engine.New(back)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Predict(test.X)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "re-imported .h5 (engine)", got, want)
	if err := ort.Init(); errors.Is(err, ort.ErrNotInstalled) {
		t.Skipf("SKIPPING the ONNX Runtime half: ONNX Runtime not installed: %v", err)
	} else if err != nil {
		t.Fatalf("ort.Init() = %v", err)
	}
	outs, err := ort.Run(onnxPath, map[string]*model.Tensor{back.Inputs[0].Name: test.X})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		compare(t, ".onnx (ONNX Runtime)", o, want)
	}
}

func compare(t *testing.T, what string, got, want *model.Tensor) {
	t.Helper()
	if len(got.F32) != len(want.F32) {
		t.Fatalf("%s: %d values; xfer predicts %d", what, len(got.F32), len(want.F32))
	}
	for i := range got.F32 {
		if d := math.Abs(float64(got.F32[i] - want.F32[i])); d > 1e-5 {
			t.Fatalf("%s[%d] = %v; xfer predicts %v", what, i, got.F32[i], want.F32[i])
		}
	}
}
