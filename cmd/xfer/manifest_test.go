package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
)

// kerasManifest is the part of ../shared/interop/keras3/manifest.json the
// command line is checked against: what Keras 3's model.summary() reports.
type kerasManifest struct {
	Models []struct {
		Name   string `json:"name"`
		Params struct {
			Total        int `json:"total"`
			Trainable    int `json:"trainable"`
			NonTrainable int `json:"non_trainable"`
		} `json:"params"`
		Layers []struct {
			Name        string `json:"name"`
			Class       string `json:"class"`
			Trainable   bool   `json:"trainable"`
			OutputShape []*int `json:"output_shape"`
			Params      int    `json:"params"`
		} `json:"layers"`
	} `json:"models"`
}

// TestInspectPredictKeras3 runs inspect --json and predict -m on every Keras 3
// file of the shared set (.h5 and .keras) and compares with Keras's own
// summary and predictions.
func TestInspectPredictKeras3(t *testing.T) {
	dir := sharedInterop(t, "keras3")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("%s is there but incomplete: %v", dir, err)
	}
	var man kerasManifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Models) == 0 {
		t.Fatal("manifest lists no models")
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatalf("%s is there but incomplete: %v", dir, err)
	}
	work := t.TempDir()
	for _, mm := range man.Models {
		for _, ext := range []string{".h5", ".keras"} {
			file := filepath.Join(dir, mm.Name+ext)
			t.Run(mm.Name+ext, func(t *testing.T) {
				var s modelSummary
				if err := json.Unmarshal([]byte(mustXfer(t, work, "inspect", "--json", "-m", file)), &s); err != nil {
					t.Fatal(err)
				}
				if s.TotalParams != mm.Params.Total || s.TrainableParams != mm.Params.Trainable || s.NonTrainableParams != mm.Params.NonTrainable {
					t.Errorf("totals = %d/%d/%d; Keras %d/%d/%d", s.TotalParams, s.TrainableParams, s.NonTrainableParams,
						mm.Params.Total, mm.Params.Trainable, mm.Params.NonTrainable)
				}
				if len(s.Layers) != len(mm.Layers) {
					t.Fatalf("%d layers; Keras %d", len(s.Layers), len(mm.Layers))
				}
				for i, kl := range mm.Layers {
					l := s.Layers[i]
					if l.Name != kl.Name || l.Type != kl.Class || l.Params != kl.Params || l.Trainable != kl.Trainable || !reflect.DeepEqual(l.OutputShape, kl.OutputShape) {
						t.Errorf("layer %d = %s %s %s %d %v; Keras %s %s %s %d %v", i,
							l.Name, l.Type, shapeString(l.OutputShape), l.Params, l.Trainable,
							kl.Name, kl.Class, shapeString(kl.OutputShape), kl.Params, kl.Trainable)
					}
				}
				// The table's totals read as Keras's summary prints them.
				table := mustXfer(t, work, "inspect", "-m", file)
				for _, line := range strings.Split(table, "\n") {
					if strings.HasSuffix(line, ")") && strings.Contains(line, "params: ") && !strings.Contains(string(readme), " "+line+"\n") {
						t.Errorf("inspect line %q is not in Keras's summary in the README", line)
					}
				}
				y := filepath.Join(work, mm.Name+ext+".npy")
				mustXfer(t, work, "predict", "-m", file, "--input", filepath.Join(dir, mm.Name+"_input.npy"), "--output", y)
				got, err := tensorio.ReadFile(y)
				if err != nil {
					t.Fatal(err)
				}
				want, err := tensorio.ReadFile(filepath.Join(dir, mm.Name+"_pred.npy"))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Shape, want.Shape) {
					t.Fatalf("predict shape %v; Keras %v", got.Shape, want.Shape)
				}
				for i := range want.F32 {
					// README: Keras's predictions agree with a float64
					// recomputation to 2.5e-7; 1e-5 leaves float32 headroom.
					if d := math.Abs(float64(got.F32[i] - want.F32[i])); d > 1e-5 {
						t.Errorf("predict[%d] = %v; Keras %v", i, got.F32[i], want.F32[i])
						break
					}
				}
			})
		}
	}
}

// TestFoldBNVerifyKeras3: fold-bn on Keras 3's bn_dense, then verify on the
// shared input: same predictions within 1e-5, fewer layers.
func TestFoldBNVerifyKeras3(t *testing.T) {
	dir := sharedInterop(t, "keras3")
	work := t.TempDir()
	src := filepath.Join(dir, "bn_dense.keras")
	out := filepath.Join(work, "folded.keras")
	report := mustXfer(t, work, "fold-bn", "-m", src, "-o", out)
	if !strings.Contains(report, "folded batch_normalization into dense") {
		t.Errorf("fold-bn report = %q; want batch_normalization folded into dense", report)
	}
	mustXfer(t, work, "verify", src, out, "--input", filepath.Join(dir, "bn_dense_input.npy"), "--atol", "1e-5", "--rtol", "0")
	var before, after modelSummary
	json.Unmarshal([]byte(mustXfer(t, work, "inspect", "--json", "-m", src)), &before)
	json.Unmarshal([]byte(mustXfer(t, work, "inspect", "--json", "-m", out)), &after)
	if len(after.Layers) != len(before.Layers)-1 {
		t.Errorf("fold-bn: %d layers -> %d; want one fewer", len(before.Layers), len(after.Layers))
	}
}
