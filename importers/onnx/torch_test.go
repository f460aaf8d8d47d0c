package onnx

import (
	"errors"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/channelslast"
	"github.com/xferml/xfer/engine"
	kerasexp "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

// Reference input and torch's own output for the fixture (gen.py).
const (
	torchX = "../../fixtures/torch/x.npy"
	torchY = "../../fixtures/torch/y.npy"
)

// maxDiff returns max |a-b| over two equal-length float tensors.
func maxDiff(t *testing.T, what string, a, b *model.Tensor) float64 {
	t.Helper()
	if a == nil || b == nil || len(a.F32) != len(b.F32) {
		t.Fatalf("%s: tensors %v and %v differ in size", what, a, b)
	}
	d := 0.0
	for i := range a.F32 {
		d = math.Max(d, math.Abs(float64(a.F32[i])-float64(b.F32[i])))
	}
	return d
}

// checkTorchAndORT predicts the input at xPath with the engine on m (read
// from path) and requires torch's saved output at yPath and ONNX Runtime's
// output on path, each within 1e-5 (float32 results of two implementations
// summing in different orders).
func checkTorchAndORT(t *testing.T, path string, m *model.Model, xPath, yPath string) {
	t.Helper()
	x, err := tensorio.ReadFile(xPath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile(yPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := engine.New(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(t, "engine vs torch", got, want); d > 1e-5 {
		t.Errorf("engine prediction differs from torch's by %g; want <= 1e-5", d)
	}
	if err := ort.Init(); errors.Is(err, ort.ErrNotInstalled) {
		t.Skipf("SKIP (ONNX Runtime not installed; engine vs ORT not checked): %v", err)
	}
	out, err := ort.Run(path, map[string]*model.Tensor{"input": x})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(t, "engine vs ORT", got, out["output"]); d > 1e-5 {
		t.Errorf("engine prediction differs from ONNX Runtime's by %g; want <= 1e-5", d)
	}
}

// TestTorchModelAPredicts checks the imported PyTorch export against torch's
// saved output and against ONNX Runtime on the same file.
func TestTorchModelAPredicts(t *testing.T) {
	m, err := ReadFile(torchModelA)
	if err != nil {
		t.Fatal(err)
	}
	checkTorchAndORT(t, torchModelA, m, torchX, torchY)
}

// TestTorchModelATransfer runs the chapter-11 surgery on the PyTorch model:
// drop the softmax head, freeze the body, add a sigmoid head, write .h5,
// read it back with the Keras importer, and require the same predictions.
func TestTorchModelATransfer(t *testing.T) {
	m, err := ReadFile(torchModelA)
	if err != nil {
		t.Fatal(err)
	}
	body, err := surgery.DropHead(m, 1, "")
	if err != nil {
		t.Fatalf("DropHead: %v", err)
	}
	frozen, err := surgery.Freeze(body, len(body.Layers)-1)
	if err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	b, err := surgery.AddHead(frozen, surgery.HeadSpec{Units: 1, Activation: "sigmoid"}, rand.New(rand.NewSource(42)))
	if err != nil {
		t.Fatalf("AddHead: %v", err)
	}
	// 275,801 = 276,158 - 408 (dense_5: 50x8+8) + 51 (new head: 50x1+1),
	// of which only the head's 51 are trainable.
	if total, tr, _ := b.ParamCounts(); total != 275801 || tr != 51 {
		t.Errorf("model B ParamCounts() = %d total, %d trainable; want 275801, 51", total, tr)
	}
	x, err := tensorio.ReadFile(torchX)
	if err != nil {
		t.Fatal(err)
	}
	predict := func(m *model.Model) *model.Tensor {
		t.Helper()
		s, err := engine.New(m)
		if err != nil {
			t.Fatal(err)
		}
		y, err := s.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		return y
	}
	want := predict(b)
	path := filepath.Join(t.TempDir(), "model_b.h5")
	// The Keras exporter writes Keras layers: the ONNX layers become
	// Keras ones first (what xfer export does, through formats.ToKeras).
	kb, _, err := channelslast.Convert(b, channelslast.Options{})
	if err != nil {
		t.Fatalf("channelslast.Convert(model B): %v", err)
	}
	if err := kerasexp.WriteH5(path, kb); err != nil {
		t.Fatalf("keras WriteH5(model B from torch) error %v", err)
	}
	back, err := keras.ReadFile(path, keras.Options{})
	if err != nil {
		t.Fatalf("keras.ReadFile(%s) error %v", path, err)
	}
	if d := maxDiff(t, ".h5 round trip", predict(back), want); d > 1e-6 {
		t.Errorf("model B after .h5 round trip predicts differently by %g; want <= 1e-6", d)
	}
	if total, tr, _ := back.ParamCounts(); total != 275801 || tr != 51 {
		t.Errorf("model B from .h5 ParamCounts() = %d total, %d trainable; want 275801, 51", total, tr)
	}
	// A plain chain from PyTorch is a Sequential model: the .h5 keeps the
	// layer numbering (no InputLayer row), so `freeze --upto N` means the
	// same layers before and after the round trip.
	if !m.Sequential || !back.Sequential || len(back.Layers) != len(b.Layers) {
		t.Errorf("Sequential = %v, after .h5 %v with %d layers; want true, true, %d layers", m.Sequential, back.Sequential, len(back.Layers), len(b.Layers))
	}
}

// TestTorchCNN checks the grouping and predictions of the small PyTorch CNN
// (fixtures/torch/gen.py: Conv+BN+ReLU, MaxPool, Conv+ReLU, GAP, Linear).
func TestTorchCNN(t *testing.T) {
	const path = "../../fixtures/torch/cnn.onnx"
	m, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "conv1:Conv[Conv] bn1:BatchNormalization[BatchNormalization] relu1:Relu[Relu] pool1:MaxPool[MaxPool] conv2:Conv[Conv Relu] gap:GlobalAveragePool[GlobalAveragePool] flatten:Flatten[Flatten] fc:Dense[Gemm]"
	var got []string
	for _, l := range m.Layers {
		var ops []string
		for _, n := range l.Nodes {
			ops = append(ops, n.Op)
		}
		got = append(got, l.Name+":"+l.Kind+"["+strings.Join(ops, " ")+"]")
	}
	if g := strings.Join(got, " "); g != want {
		t.Errorf("layers = %s\nwant     %s", g, want)
	}
	// 596 = conv1 6*1*3*3+6 + bn1 4*6 + conv2 8*6*3*3+8 + fc 8*8+8; the 12
	// BatchNorm moving statistics are non-trainable, as in Keras.
	if total, tr, nt := m.ParamCounts(); total != 596 || tr != 584 || nt != 12 {
		t.Errorf("ParamCounts() = %d, %d, %d; want 596, 584, 12", total, tr, nt)
	}
	if bn := m.Layer("bn1"); bn == nil || bn.Param("moving_variance") == nil || !bn.Param("moving_variance").State {
		t.Errorf("bn1 has no moving_variance state param")
	}
	checkTorchAndORT(t, path, m, "../../fixtures/torch/cnn_x.npy", "../../fixtures/torch/cnn_y.npy")
}
