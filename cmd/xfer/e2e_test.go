package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/internal/tensorio"
)

// runMain drives run() as main does, capturing its output.
func runMain(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"xfer"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func mustMain(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := runMain(t, args...)
	if code != 0 {
		t.Fatalf("xfer %s: exit %d; stderr:\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// TestEndToEndKeras3 runs the command line on a model written by Keras 3.16
// (../shared/interop/keras3/README.md: mlp_selu_frozen, Sequential, params
// 32,283 total / 31,463 trainable / 820 non-trainable; the reference
// predictions are Keras's own).
func TestEndToEndKeras3(t *testing.T) {
	shared := sharedInterop(t, "keras3")
	h5 := filepath.Join(shared, "mlp_selu_frozen.h5")
	if _, err := os.Stat(h5); err != nil {
		t.Skipf("SKIP LOUDLY: %s missing: %v", h5, err)
	}
	// ONNX Runtime is found from the repository's node_modules, relative to
	// the working directory: load it (once per process) before leaving.
	ortErr := ort.Init()
	dir := t.TempDir()
	t.Chdir(dir)

	table := mustMain(t, "import", h5)
	if !strings.Contains(table, "Total params: 32,283") {
		t.Errorf("import summary lacks the README's total:\n%s", table)
	}
	var s modelSummary
	if err := json.Unmarshal([]byte(mustMain(t, "inspect", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.TotalParams != 32283 || s.TrainableParams != 31463 || s.NonTrainableParams != 820 {
		t.Errorf("inspect --json totals = %d / %d / %d; want 32283 / 31463 / 820 (README)", s.TotalParams, s.TrainableParams, s.NonTrainableParams)
	}
	// README table: flatten, dense, dense_1 (frozen), dense_2.
	wantRows := []struct {
		name      string
		params    int
		trainable bool
	}{{"flatten", 0, true}, {"dense", 31400, true}, {"dense_1", 820, false}, {"dense_2", 63, true}}
	if len(s.Layers) != len(wantRows) {
		t.Fatalf("inspect --json: %d layers; want %d", len(s.Layers), len(wantRows))
	}
	for i, w := range wantRows {
		if l := s.Layers[i]; l.Name != w.name || l.Params != w.params || l.Trainable != w.trainable || l.OutputShape[0] != nil {
			t.Errorf("layer %d = %+v; want %s, %d params, trainable %v, batch None", i, l, w.name, w.params, w.trainable)
		}
	}

	// Predictions against Keras's, within 1e-5.
	mustMain(t, "predict", "--input", filepath.Join(shared, "mlp_selu_frozen_input.npy"), "--output", "y.npy", "--batch-size", "4")
	got, err := tensorio.ReadFile("y.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile(filepath.Join(shared, "mlp_selu_frozen_pred.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.F32) != len(want.F32) || len(got.Shape) != 2 || got.Shape[0] != 6 || got.Shape[1] != 3 {
		t.Fatalf("predict shape %v; want [6 3]", got.Shape)
	}
	for i := range want.F32 {
		if d := math.Abs(float64(got.F32[i] - want.F32[i])); d > 1e-5 {
			t.Errorf("predict[%d] = %v; Keras %v (diff %g > 1e-5)", i, got.F32[i], want.F32[i], d)
		}
	}

	// freeze, unfreeze, undo: every format's export is byte-identical.
	exts := []string{".h5", ".keras", ".onnx"}
	exportAll := func(tag string) map[string][]byte {
		out := map[string][]byte{}
		for _, ext := range exts {
			p := tag + ext
			mustMain(t, "export", p)
			out[ext] = readFile(t, p)
		}
		return out
	}
	imported := exportAll("imported")
	mustMain(t, "freeze", "--upto", "3")
	if err := json.Unmarshal([]byte(mustMain(t, "inspect", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.TrainableParams != 0 || s.NonTrainableParams != 32283 {
		t.Errorf("after freeze --upto 3: %d trainable, %d non-trainable; want 0, 32283", s.TrainableParams, s.NonTrainableParams)
	}
	frozen := exportAll("frozen")
	mustMain(t, "unfreeze", "--from", "2")
	if err := json.Unmarshal([]byte(mustMain(t, "inspect", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	// Layers 2, 3 trainable again: 820 + 63 = 883 (README's per-layer counts).
	if s.TrainableParams != 883 {
		t.Errorf("after unfreeze --from 2: %d trainable; want 883", s.TrainableParams)
	}
	mustMain(t, "undo")
	for ext, b := range exportAll("undo1") {
		if !bytes.Equal(b, frozen[ext]) {
			t.Errorf("export %s after undoing unfreeze differs from the frozen export", ext)
		}
	}
	mustMain(t, "undo")
	for ext, b := range exportAll("undo2") {
		if !bytes.Equal(b, imported[ext]) {
			t.Errorf("export %s after undoing freeze differs from the imported export", ext)
		}
	}
	log := mustMain(t, "log")
	if lines := strings.Split(strings.TrimSpace(log), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "xfer import "+h5) {
		t.Errorf("log after two undos =\n%s\nwant a header and the import", log)
	}

	// The exports read back with the same numbers.
	for _, ext := range exts {
		p := "imported" + ext
		if out, errs, code := runMain(t, "verify", h5, p, "--atol", "1e-6"); code != 0 {
			t.Errorf("verify %s %s: exit %d: %s%s", h5, p, code, out, errs)
		}
	}
	// ONNX Runtime agrees with xfer on the exported .onnx.
	switch {
	case errors.Is(ortErr, ort.ErrNotInstalled):
		t.Logf("SKIP LOUDLY: ONNX Runtime not installed, verify --runtime onnxruntime not run: %v", ortErr)
	case ortErr != nil:
		t.Errorf("ort.Init() = %v", ortErr)
	default:
		if out, errs, code := runMain(t, "verify", h5, "imported.onnx", "--runtime", "onnxruntime", "--atol", "1e-5"); code != 0 {
			t.Errorf("verify --runtime onnxruntime: exit %d: %s%s", code, out, errs)
		}
	}
}
