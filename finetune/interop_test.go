package finetune

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	kerasi "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// interopCase is one Keras-written model with Keras's (or NumPy's)
// predictions.
type interopCase struct {
	name, model string
	x, want     *model.Tensor
}

// Models the lowering is expected to run; any other fixture must fail with
// model.ErrUnsupported, and the test fails when the set that ran differs.
var interopExpected = []string{
	"keras/keras_3layer", "keras/keras_3layer_batch_norm", "keras/keras_1layer", "keras/relu", "keras/softmax",
	"keras/keras_conv2d_model", "keras/conv1d_1layer", "keras/linear", "keras/sigmoid",
	"keras3/conv1d_small.h5", "keras3/conv1d_small.keras",
	"keras3/mlp_small.h5", "keras3/mlp_small.keras", "keras3/mlp_selu_frozen.h5", "keras3/mlp_selu_frozen.keras",
	"keras3/functional_branch.h5", "keras3/functional_branch.keras", "keras3/bn_dense.h5", "keras3/bn_dense.keras",
}

func interopCases(t *testing.T) []interopCase {
	var cases []interopCase
	// Each set runs when present (peers.Find, not peers.Interop): the test
	// skips only when both are absent.
	if dir, err := peers.Find("keras"); err == nil {
		var man struct {
			Fixtures []struct {
				Name, Dir, Model, Inputs, Predictions string
				InputShape                            []int `json:"input_shape"`
			}
		}
		readJSON(t, filepath.Join(dir, "manifest.json"), &man)
		for _, f := range man.Fixtures {
			d := filepath.Join(dir, f.Dir)
			cases = append(cases, interopCase{name: "keras/" + f.Name, model: filepath.Join(d, f.Model),
				x: peers.ReadDat(t, filepath.Join(d, f.Inputs), f.InputShape...), want: peers.ReadDat(t, filepath.Join(d, f.Predictions))})
		}
	}
	if dir, err := peers.Find("keras3"); err == nil {
		var man struct{ Models []struct{ Name string } }
		readJSON(t, filepath.Join(dir, "manifest.json"), &man)
		for _, m := range man.Models {
			x := peers.ReadNPY(t, filepath.Join(dir, m.Name+"_input.npy"))
			want := peers.ReadNPY(t, filepath.Join(dir, m.Name+"_pred.npy"))
			for _, ext := range []string{".h5", ".keras"} {
				cases = append(cases, interopCase{name: "keras3/" + m.Name + ext, model: filepath.Join(dir, m.Name+ext), x: x, want: want})
			}
		}
	}
	if len(cases) == 0 {
		t.Skip("SKIPPING: ../shared/interop/keras and keras3 NOT FOUND: the Keras peer checks did not run")
	}
	return cases
}

func readJSON(t *testing.T, path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestKerasInterop runs Keras-written models through the training lowering
// in inference mode and compares with the predictions Keras (or NumPy on the
// stored weights) made, then trains each for an epoch: frozen layers must
// stay bit-identical.
func TestKerasInterop(t *testing.T) {
	var ran []string
	for _, c := range interopCases(t) {
		t.Run(c.name, func(t *testing.T) {
			m, err := kerasi.ReadFile(c.model, kerasi.Options{})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			got, err := Predict(m, c.x)
			if err != nil {
				if slices.Contains(interopExpected, c.name) {
					t.Fatalf("Predict: %v", err)
				}
				t.Logf("not supported (expected): %v", err)
				return
			}
			ran = append(ran, c.name)
			if model.NumElements(got.Shape) != len(c.want.F32) {
				t.Fatalf("Predict shape %v; reference has %d values", got.Shape, len(c.want.F32))
			}
			// ../shared/STYLE.md: |got - want| <= atol + rtol*|want|.
			const atol, rtol = 1e-5, 1e-3
			for i, w := range c.want.F32 {
				if d := math.Abs(float64(got.F32[i] - w)); d > atol+rtol*math.Abs(float64(w)) {
					t.Fatalf("Predict[%d] = %v; reference %v", i, got.F32[i], w)
				}
			}
			units := got.Shape[len(got.Shape)-1]
			set := randomSet(t, 40, max(units, 2), m.Inputs[0].Shape[1:])
			if units == 1 || producer(m, m.Outputs[0]).Op != "Softmax" {
				for i := range set.Y {
					set.Y[i] = float32(i % 2)
				}
				set.Classes = 0
			}
			out, _, err := Train(context.Background(), m, set, nil, Config{Epochs: 1, BatchSize: 8}, nil)
			if err != nil {
				t.Fatalf("Train: %v", err)
			}
			for i, l := range out.Layers {
				for j, p := range l.Params {
					if !p.Trainable && !slices.Equal(p.Data, m.Layers[i].Params[j].Data) && !(p.State && l.Trainable) {
						t.Errorf("frozen %s changed", p.Name)
					}
				}
			}
		})
	}
	slices.Sort(ran)
	want := slices.Clone(interopExpected)
	slices.Sort(want)
	if !slices.Equal(ran, want) && !t.Failed() {
		t.Errorf("models that ran = %v; want %v", ran, want)
	}
}
