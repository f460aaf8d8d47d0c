package onnx

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenModel is a two-layer Keras-style model with fixed weights.
func goldenModel(t *testing.T) *model.Model {
	t.Helper()
	k := make([]float32, 12)
	for i := range k {
		k[i] = float32(i)/8 - 0.7
	}
	d, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: "input_1", InFeatures: 4, Units: 3, Activation: "relu", UseBias: true, Trainable: true, Kernel: k, Bias: []float32{0.1, -0.2, 0.3},
		Config: json.RawMessage(`{"name":"dense","units":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	o, err := layers.Dense(layers.DenseSpec{Name: "out", Input: d.Outputs[0], InFeatures: 3, Units: 2, Activation: "softmax", UseBias: true, Trainable: false, Kernel: []float32{1, -1, 0.5, 0.25, -0.5, 2},
		Config: json.RawMessage(`{"name":"out","units":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	return &model.Model{Name: "golden", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "input_1", DType: model.Float32, Shape: []int{-1, 4}}},
		Outputs: o.Outputs, Layers: []*model.Layer{d, o},
		History: []model.Event{{Op: "freeze", Args: "--upto out", Time: "2026-11-27T12:00:00Z"}}}
}

// TestGolden pins the exact bytes Marshal writes (deterministic output);
// refresh with go test ./exporters/onnx -run Golden -update after an
// intended change, and look at the diff with Netron or onnx.helper.
func TestGolden(t *testing.T) {
	for _, opset := range []int{13, 17, 21} {
		got, err := Marshal(goldenModel(t), Options{Opset: opset})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "golden_opset"+strconv.Itoa(opset)+".onnx")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Marshal(golden, opset %d) = %d bytes differing from %s (%d bytes)", opset, len(got), path, len(want))
		}
		// WriteFile streams the same bytes to the file.
		out := filepath.Join(t.TempDir(), "w.onnx")
		if err := WriteFile(out, goldenModel(t), Options{Opset: opset}); err != nil {
			t.Fatal(err)
		}
		if file, _ := os.ReadFile(out); !bytes.Equal(file, want) {
			t.Errorf("WriteFile(golden, opset %d) wrote %d bytes differing from %s (%d bytes)", opset, len(file), path, len(want))
		}
	}
	x := &model.Tensor{DType: model.Float32, Shape: []int{2, 4}, F32: []float32{1, -2, 3, 0.5, -1, 0, 2, 4}}
	for _, opset := range []int{13, 17, 21} {
		exportAndCompare(t, goldenModel(t), opset, map[string]*model.Tensor{"input_1": x})
	}
}
