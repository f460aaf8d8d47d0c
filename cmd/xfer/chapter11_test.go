package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/dataset"
)

// TestEndToEndChapter11 is the book's transfer recipe through the command
// line, on a short schedule: demo trains model A (one epoch), then the
// workspace reuses it for task B (import, drop-head, add-head, freeze,
// finetune with --unfreeze-after, export), and the exported .h5 and .onnx
// must predict what xfer predicts.
func TestEndToEndChapter11(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on Fashion-MNIST for a few seconds; skipped with -short")
	}
	if _, err := dataset.LoadFashion(dataset.Options{}); errors.Is(err, dataset.ErrNotFound) {
		t.Skipf("SKIP LOUDLY: Fashion-MNIST not found (apt-get install dataset-fashion-mnist): %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	var res struct {
		ModelA struct {
			TestAccuracy float64 `json:"test_accuracy"`
		} `json:"model_A"`
		ModelBOnA struct {
			TestAccuracy float64 `json:"test_accuracy"`
		} `json:"model_B_on_A"`
		ErrorRateRatio *float64 `json:"error_rate_ratio"`
	}
	// --epochs-scale 0.05: 1 epoch for A and B, 1 + 1 for B on A.
	stdout, stderr, code := runMain(t, "demo", "--epochs-scale", "0.05", "--out", "out", "--json")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	// It says where its files are.
	if want := "demo: wrote " + filepath.Join("out", "model_A.h5") + ", "; !strings.Contains(stderr, want) || !strings.Contains(stderr, "curves.png\n") {
		t.Errorf("demo --out out: stderr lacks %q ... curves.png:\n%s", want, stderr)
	}
	// A short schedule: the accuracies of the real one are demo's TestRun's.
	if res.ModelA.TestAccuracy <= 0 || res.ErrorRateRatio == nil {
		t.Errorf("demo --json: model A test accuracy %g, error rate ratio %v; want both reported", res.ModelA.TestAccuracy, res.ErrorRateRatio)
	}

	// The command draws the curves of the three runs beside the models.
	if st, err := os.Stat(filepath.Join("out", "curves.png")); err != nil || st.Size() == 0 {
		t.Errorf("demo --out out wrote no curves.png: %v", err)
	}

	mustMain(t, "import", filepath.Join("out", "model_A.h5"))
	mustMain(t, "drop-head")
	mustMain(t, "add-head", "--units", "1", "--activation", "sigmoid", "--seed", "42")
	mustMain(t, "freeze", "--upto", "5")
	var s modelSummary
	if err := json.Unmarshal([]byte(mustMain(t, "inspect", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	// Issue 4: model_B_on_A as Keras reports it.
	if len(s.Layers) != 7 || s.TotalParams != 275801 || s.TrainableParams != 51 {
		t.Errorf("B on A: %d layers, %d params, %d trainable; want 7, 275801, 51", len(s.Layers), s.TotalParams, s.TrainableParams)
	}
	mustMain(t, "finetune", "--data", "fashion-mnist:B", "--epochs", "2", "--unfreeze-after", "1", "--learning-rate", "1e-3", "--seed", "1", "--plot", "curves.png")
	if st, err := os.Stat("curves.png"); err != nil || st.Size() == 0 {
		t.Errorf("finetune --plot curves.png wrote nothing: %v", err)
	}
	if err := json.Unmarshal([]byte(mustMain(t, "inspect", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.TrainableParams != 275801 {
		t.Errorf("after finetune --unfreeze-after 1: %d trainable; want all 275801", s.TrainableParams)
	}
	var ev struct {
		Accuracy float64 `json:"accuracy"`
		Samples  int     `json:"samples"`
	}
	if err := json.Unmarshal([]byte(mustMain(t, "evaluate", "--data", "fashion-mnist:B:test", "--json")), &ev); err != nil {
		t.Fatal(err)
	}
	// Task B's test set: the 2,000 sandals and shirts of Fashion-MNIST's test set.
	if ev.Samples != 2000 {
		t.Errorf("evaluate fashion-mnist:B:test: %d samples; want 2000", ev.Samples)
	}
	mustMain(t, "export", "b_on_a.h5")
	mustMain(t, "export", "b_on_a.onnx")
	mustMain(t, "export", "b_on_a.xnat")
	for _, p := range []string{"b_on_a.h5", "b_on_a.onnx"} {
		if out, errs, code := runMain(t, "verify", "b_on_a.xnat", p, "--atol", "1e-5"); code != 0 {
			t.Errorf("verify workspace model vs %s: exit %d: %s%s", p, code, out, errs)
		}
	}
}

// TestDemoWithoutOut: demo without --out says that it wrote nothing, and
// does not (issue 14, item 8).
func TestDemoWithoutOut(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on Fashion-MNIST for a few seconds; skipped with -short")
	}
	if _, err := dataset.LoadFashion(dataset.Options{}); errors.Is(err, dataset.ErrNotFound) {
		t.Skipf("SKIP LOUDLY: Fashion-MNIST not found (apt-get install dataset-fashion-mnist): %v", err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	// --epochs-scale 0.01: one epoch each, the shortest run.
	_, stderr, code := runMain(t, "demo", "--epochs-scale", "0.01")
	if code != 0 || !strings.Contains(stderr, "demo: no --out DIR given, so no file was written (--out DIR keeps the models and the learning curves)\n") {
		t.Errorf("demo without --out: exit %d, stderr:\n%s\nwant exit 0 and the line saying nothing was written", code, stderr)
	}
	if names := namesIn(t, dir); len(names) != 0 {
		t.Errorf("demo without --out wrote %v", names)
	}
}
