package keras

import (
	"encoding/json"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

// torchModelA reads the book's model A as exported by PyTorch
// (fixtures/torch: Gemm transB=1 layers, ONNX-origin, no Keras configs),
// with torch's input and output.
func torchModelA(t *testing.T) (m *model.Model, x, y *model.Tensor) {
	t.Helper()
	dir := filepath.Join("..", "..", "fixtures", "torch")
	m, err := onnx.ReadFile(filepath.Join(dir, "model_a.onnx"))
	if err != nil {
		t.Fatalf("importers/onnx.ReadFile(model_a.onnx) = %v", err)
	}
	if x, err = tensorio.ReadFile(filepath.Join(dir, "x.npy")); err != nil {
		t.Fatal(err)
	}
	if y, err = tensorio.ReadFile(filepath.Join(dir, "y.npy")); err != nil {
		t.Fatal(err)
	}
	return m, x, y
}

// TestTorchModelA writes PyTorch's model A (read from ONNX) as Keras files
// and checks that the Keras model read back predicts what torch predicted.
func TestTorchModelA(t *testing.T) {
	m, x, y := torchModelA(t)
	for _, w := range writers {
		t.Run(w.ext, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model_a"+w.ext)
			if err := w.write(path, toKeras(t, m)); err != nil {
				t.Fatalf("write = %v", err)
			}
			got, err := kin.ReadFile(path, kin.Options{})
			if err != nil {
				t.Fatalf("importers/keras.ReadFile = %v", err)
			}
			// 276,158: Keras's model.summary() of model A (issue 2).
			if total, tr, _ := got.ParamCounts(); total != 276158 || tr != 276158 {
				t.Errorf("ParamCounts = %d total, %d trainable; want 276158, 276158", total, tr)
			}
			p := predict(t, got, x)
			// Tolerance: float32 sums over 784 inputs, torch vs our engine.
			if d := maxDiff(p.F32, y.F32); d > 1e-5 {
				t.Errorf("predictions differ from torch's by %g; want <= 1e-5", d)
			}
		})
	}
}

// TestModelBOnA follows issue 4: model A, drop-head, add-head --units 1
// --activation sigmoid, freeze --upto 5 (7 layers, 275,801 params, 51
// trainable, as Keras reports for model_B_on_A); written to .h5 and .keras,
// the configs show the frozen layers and the trainable head, and the files
// read back with those counts.
func TestModelBOnA(t *testing.T) {
	a, x, _ := torchModelA(t)
	b, err := surgery.DropHead(a, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if b, err = surgery.AddHead(b, surgery.HeadSpec{Units: 1, Activation: "sigmoid"}, rand.New(rand.NewSource(42))); err != nil {
		t.Fatal(err)
	}
	if b, err = surgery.Freeze(b, 5); err != nil {
		t.Fatal(err)
	}
	if total, tr, _ := b.ParamCounts(); len(b.Layers) != 7 || total != 275801 || tr != 51 {
		t.Fatalf("model B on A: %d layers, %d params, %d trainable; want 7, 275801, 51", len(b.Layers), total, tr)
	}
	wantTrainable := map[string]bool{}
	for _, l := range b.Layers {
		wantTrainable[l.Name] = l.Trainable
	}
	dir := t.TempDir()
	h5, kz := filepath.Join(dir, "b.h5"), filepath.Join(dir, "b.keras")
	b = toKeras(t, b)
	if len(b.Layers) != 7 {
		t.Fatalf("model B on A as Keras layers: %d layers; want 7 (each Gemm and its SELU one Dense)", len(b.Layers))
	}
	if err := WriteH5(h5, b); err != nil {
		t.Fatalf("WriteH5 = %v", err)
	}
	if err := WriteKeras(kz, b); err != nil {
		t.Fatalf("WriteKeras = %v", err)
	}
	// The configs as Keras would read them: model_config via h5py,
	// config.json from the zip.
	var cfgs []any
	cfgs = append(cfgs, dumpH5(t, h5)[h5]["/"].Attrs["model_config"].Value)
	var kc any
	if err := json.Unmarshal(zipMembers(t, kz)[1].data, &kc); err != nil {
		t.Fatal(err)
	}
	cfgs = append(cfgs, kc)
	for i, c := range cfgs {
		seen := 0
		for _, l := range c.(map[string]any)["config"].(map[string]any)["layers"].([]any) {
			lc := l.(map[string]any)["config"].(map[string]any)
			name, _ := lc["name"].(string)
			want, ok := wantTrainable[name]
			if !ok {
				continue // the InputLayer
			}
			seen++
			if lc["trainable"] != want {
				t.Errorf("%s config: layer %q trainable = %v; want %v", []string{".h5", ".keras"}[i], name, lc["trainable"], want)
			}
		}
		if seen != len(b.Layers) {
			t.Errorf("%s config lists %d of the model's %d layers", []string{".h5", ".keras"}[i], seen, len(b.Layers))
		}
	}
	for _, path := range []string{h5, kz} {
		got, err := kin.ReadFile(path, kin.Options{})
		if err != nil {
			t.Fatalf("importers/keras.ReadFile(%s) = %v", filepath.Base(path), err)
		}
		if total, tr, _ := got.ParamCounts(); total != 275801 || tr != 51 {
			t.Errorf("%s read back: %d params, %d trainable; want 275801, 51", filepath.Base(path), total, tr)
		}
		head := got.Layers[len(got.Layers)-1]
		if !head.Trainable || head.Kind != "Dense" {
			t.Errorf("%s read back: head %s %s trainable=%v; want a trainable Dense", filepath.Base(path), head.Name, head.Kind, head.Trainable)
		}
		if d := maxDiff(predict(t, got, x).F32, predict(t, b, x).F32); d > 1e-5 {
			t.Errorf("%s read back predicts %g away from model B; want <= 1e-5", filepath.Base(path), d)
		}
	}
}

// TestActivationGeneration: hard_sigmoid changed meaning in Keras 3, so a
// Keras 2 hard_sigmoid layer can only go to .h5 and a Keras 3 one only to
// .keras; both refusals say why.
func TestActivationGeneration(t *testing.T) {
	build := func(act string) *model.Model {
		l, err := layers.Activation(layers.ActivationSpec{Common: layers.Common{Name: "activation", Inputs: []string{"x"}, Trainable: true,
			Config: []byte(`{"name": "activation", "trainable": true, "dtype": "float32", "activation": "hard_sigmoid"}`)}, Activation: act})
		if err != nil {
			t.Fatal(err)
		}
		return &model.Model{Name: "m", Opset: model.DefaultOpset, Sequential: true, Layers: []*model.Layer{l},
			Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 3}}}, Outputs: l.Outputs}
	}
	tests := []struct {
		act     string
		refused string // the extension that must refuse
		want    string
	}{
		{"hard_sigmoid", ".keras", "Keras 2 meaning"},
		{"keras3.hard_sigmoid", ".h5", "Keras 3 meaning"},
	}
	for _, tt := range tests {
		m := build(tt.act)
		for _, w := range writers {
			err := w.write(filepath.Join(t.TempDir(), "m"+w.ext), m)
			switch {
			case w.ext == tt.refused && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("write%s(%s) = %v; want an error about the %s", w.ext, tt.act, err, tt.want)
			case w.ext != tt.refused && err != nil:
				t.Errorf("write%s(%s) = %v; want nil", w.ext, tt.act, err)
			}
		}
	}
}
