package main

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// TestTransferFlowNested runs keras.io's transfer-learning recipe through
// the command line on the Keras 3.16 file of a transfer model whose base
// (resnet_base, 27 layers) is nested, frozen and called with
// training=False: import, inspect (the base is one frozen row holding its
// layers), unfreeze the base's top 9 layers, fine-tune, export; the result
// keeps the nesting and the call's training=False.
func TestTransferFlowNested(t *testing.T) {
	shared := sharedInterop(t, "keras-apps")
	src := filepath.Join(shared, "transfer_resnet_nested.keras")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("SKIP LOUDLY: %s missing: %v", src, err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	// 48 images 32x32x3 in 3 classes (the model's input and head).
	rng := rand.New(rand.NewSource(1))
	x := &model.Tensor{DType: model.Float32, Shape: []int{48, 32, 32, 3}, F32: make([]float32, 48*32*32*3)}
	for i := range x.F32 {
		x.F32[i] = rng.Float32()
	}
	y := &model.Tensor{DType: model.Int64, Shape: []int{48}, I64: make([]int64, 48)}
	for i := range y.I64 {
		y.I64[i] = int64(i % 3)
	}
	for name, v := range map[string]*model.Tensor{"x.npy": x, "y.npy": y} {
		b, err := tensorio.EncodeNPY(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	mustMain(t, "import", src)
	var s modelSummary
	if err := json.Unmarshal([]byte(mustMain(t, "inspect", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	// Keras's model.layers: input, the base, pooling, dropout, the head; the
	// manifest's params 24,963 with 99 trainable.
	if len(s.Layers) != 5 || s.Layers[1].Name != "resnet_base" || s.Layers[1].Type != "Functional" || s.Layers[1].Trainable ||
		len(s.Layers[1].Layers) != 27 || s.Layers[1].Params != 24864 || s.TrainableParams != 99 {
		t.Fatalf("inspect: %d layers, layer 1 %s (%s) trainable %v with %d layers and %d params, %d trainable in all; want 5, resnet_base (Functional), false, 27, 24864, 99",
			len(s.Layers), s.Layers[1].Name, s.Layers[1].Type, s.Layers[1].Trainable, len(s.Layers[1].Layers), s.Layers[1].Params, s.TrainableParams)
	}
	if r := s.Layers[1].Layers[18]; r.Name != "block3_conv1" || r.Ref != "1:18" {
		t.Errorf("base layer 18 = %s (ref %s); want block3_conv1 (1:18)", r.Name, r.Ref)
	}
	out := mustMain(t, "unfreeze", "--from", "resnet_base:-9")
	if !strings.Contains(out, "14,723 trainable") { // the head's 99 + the top 9 layers' 14,624 (surgery's nested test)
		t.Errorf("unfreeze --from resnet_base:-9: %q; want 14,723 trainable", out)
	}
	mustMain(t, "finetune", "--data", "npy:x.npy,y.npy", "--epochs", "1", "--batch-size", "16")
	mustMain(t, "export", "out.keras")
	m, err := formats.Read("out.keras", formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := m.Submodel("resnet_base")
	if base == nil || !base.Trainable || base.Training == nil || *base.Training || len(m.Items("")) != 5 || len(m.Items("resnet_base")) != 27 {
		t.Fatalf("out.keras: base %+v, %d layers, %d in the base; want a trainable base called with training=False, 5, 27", base, len(m.Items("")), len(m.Items("resnet_base")))
	}
	for i, it := range m.Items("resnet_base") {
		if want := i == 0 || i >= 18; it.Layer.Trainable != want {
			t.Errorf("out.keras: base layer %d (%s) trainable %v; want %v", i, it.Layer.Name, it.Layer.Trainable, want)
		}
	}
	// training=False keeps the base's BatchNormalization in inference mode
	// even where it trains (Keras's transfer guide): its moving statistics
	// stay, its gamma moves; frozen layers stay bit for bit.
	orig, err := formats.Read(src, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	same := func(layer, role string) bool {
		a, b := orig.Layer(layer).Param(role), m.Layer(layer).Param(role)
		return a != nil && b != nil && slices.Equal(a.Data, b.Data)
	}
	for _, c := range []struct {
		layer, role string
		same        bool
	}{
		{"resnet_base/block3_bn1", "moving_mean", true},
		{"resnet_base/block3_bn1", "moving_variance", true},
		{"resnet_base/block3_bn1", "gamma", false},
		{"resnet_base/block3_conv1", "kernel", false},
		{"resnet_base/block2_conv2", "kernel", true},
		{"resnet_base/block2_bn2", "moving_mean", true},
	} {
		if got := same(c.layer, c.role); got != c.same {
			t.Errorf("%s %s unchanged by finetune: %v; want %v", c.layer, c.role, got, c.same)
		}
	}
	// The same in one run: frozen for an epoch, then the base's top 9 layers
	// (a reference into the nested model) and the head.
	mustMain(t, "finetune", "-m", src, "-o", "two.keras", "--data", "npy:x.npy,y.npy", "--epochs", "2", "--batch-size", "16",
		"--unfreeze-after", "1", "--unfreeze-from", "resnet_base:-9")
	two, err := formats.Read("two.keras", formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range two.Items("resnet_base") {
		if want := i == 0 || i >= 18; it.Layer.Trainable != want {
			t.Errorf("two.keras: base layer %d (%s) trainable %v; want %v", i, it.Layer.Name, it.Layer.Trainable, want)
		}
	}
	if _, _, code := runMain(t, "finetune", "-m", src, "-o", "bad.keras", "--data", "npy:x.npy,y.npy", "--epochs", "2",
		"--unfreeze-after", "1", "--unfreeze-from", "resnet_base:99"); code != 2 {
		t.Errorf("--unfreeze-from resnet_base:99: exit %d; want 2 (out of range)", code)
	}
}
