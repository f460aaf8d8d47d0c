package surgery

import (
	"errors"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// flags renders the trainable flags of the entries at scope as Keras's
// [layer.trainable for layer in model.layers] would, T or F each.
func flags(m *model.Model, scope string) string {
	var b strings.Builder
	for _, it := range m.Items(scope) {
		on := false
		if it.Sub != nil {
			on = it.Sub.Trainable
		} else {
			on = it.Layer.Trainable
		}
		if on {
			b.WriteByte('T')
		} else {
			b.WriteByte('F')
		}
	}
	return b.String()
}

// TestNestedFreeze runs the Keras transfer-learning guide on the shared
// transfer model (input, frozen base "resnet_base" of 27 layers called with
// training=False, pooling, dropout, dense head): what Keras would show for
// model.layers and base.layers after each step, and the trainable counts.
func TestNestedFreeze(t *testing.T) {
	dir := peers.Interop(t, "keras-apps", "freeze/unfreeze on a nested Keras model")
	m, err := kin.ReadFile(filepath.Join(dir, "transfer_resnet_nested.keras"), kin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The base has 27 layers: its InputLayer (which a file keeps trainable,
	// as Keras shows it), then 26 frozen ones.
	asRead := "T" + strings.Repeat("F", 26)
	// Param counts are Keras's (transfer_resnet_nested manifest: 24,963 in
	// all, the Dense head 32*3+3 = 99, 8 BatchNormalizations with 2x(5x16 +
	// 3x32) = 352 moving statistics); the base's last 9 layers are
	// block3_conv1 .. block3_out, whose trainable params are conv1 4,640 +
	// bn1 64 + conv2 9,248 + proj 544 + bn2 64 + proj_bn 64 = 14,624; of
	// them block3_conv1 has 4,640.
	tests := []struct {
		name      string
		op        func(*model.Model) (*model.Model, error)
		top, base string
		trainable int
	}{
		{"as read", func(m *model.Model) (*model.Model, error) { return m.Clone(), nil }, "TFTTT", asRead, 99},
		{"unfreeze the top 9 of the base", func(m *model.Model) (*model.Model, error) { return UnfreezeAt(m, "resnet_base:-9") }, "TTTTT", "T" + strings.Repeat("F", 17) + strings.Repeat("T", 9), 99 + 14624},
		{"unfreeze by name", func(m *model.Model) (*model.Model, error) { return UnfreezeAt(m, "resnet_base/block3_conv1") }, "TTTTT", "T" + strings.Repeat("F", 17) + strings.Repeat("T", 9), 99 + 14624},
		{"unfreeze the base", func(m *model.Model) (*model.Model, error) { return Unfreeze(m, 1) }, "TTTTT", strings.Repeat("T", 27), 24963 - 352},
		{"freeze the head too", func(m *model.Model) (*model.Model, error) { return Freeze(m, -1) }, "FFFFF", strings.Repeat("F", 27), 0},
		{"freeze inside, then unfreeze the head", func(m *model.Model) (*model.Model, error) {
			u, err := Unfreeze(m, 1)
			if err != nil {
				return nil, err
			}
			return FreezeAt(u, "resnet_base:18")
		}, "FTTTT", strings.Repeat("F", 19) + strings.Repeat("T", 8), 99 + 14624 - 4640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkPure(t, m, tt.op)
			if f := flags(got, ""); f != tt.top {
				t.Errorf("model.layers trainable = %s; want %s", f, tt.top)
			}
			if f := flags(got, "resnet_base"); f != tt.base {
				t.Errorf("base.layers trainable = %s; want %s", f, tt.base)
			}
			if _, tr, _ := got.ParamCounts(); tr != tt.trainable {
				t.Errorf("trainable params = %d; want %d", tr, tt.trainable)
			}
			if s := got.Submodel("resnet_base"); s.Training == nil || *s.Training {
				t.Errorf("the base's training=False call was lost")
			}
			if err := got.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
	for _, c := range []struct{ ref, want string }{
		{"resnet_base:27", `--from resnet_base:27 is out of range: nested model "resnet_base" has 27 layers`},
		{"dense:1", `"dense" is a Dense layer, not a nested model`},
		{"resnet_base/nope", `nested model "resnet_base" has no layer called "nope" (its layers: input_layer_3, stem_conv,`},
		{"-6", `model "transfer_resnet_nested" has 5 layers`},
	} {
		if _, err := UnfreezeAt(m, c.ref); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("UnfreezeAt(%q) = %v; want ErrUsage containing %q", c.ref, err, c.want)
		}
	}
}

// TestNestedDropHead: drop-head counts Keras's model.layers, so a nested
// model goes whole and a shared layer with all its calls (the shared
// seq_in_functional model: input, seq_block, branch_b_proj, shared_conv
// called twice, merge, pooling, dense_1).
func TestNestedDropHead(t *testing.T) {
	dir := peers.Interop(t, "keras-apps", "drop-head on nested Keras models")
	m, err := kin.ReadFile(filepath.Join(dir, "seq_in_functional.keras"), kin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Dropping shared_conv (both calls), merge, pooling and dense_1 leaves the
	// two values its calls read as outputs.
	got := checkPure(t, m, func(m *model.Model) (*model.Model, error) { return DropHead(m, 4, "") })
	if n := len(got.Items("")); n != 3 || len(got.Outputs) != 2 || got.Layer("shared_conv@1") != nil {
		t.Errorf("DropHead(4): %d layers, outputs %v; want 3 layers and the two values shared_conv read", n, got.Outputs)
	}
	// Dropping all but the input and seq_block keeps the nested model whole.
	got = checkPure(t, m, func(m *model.Model) (*model.Model, error) { return DropHead(m, 5, "") })
	if len(got.Items("")) != 2 || len(got.Submodels) != 1 || got.Outputs[0] != got.Submodels[0].Outputs[0] {
		t.Errorf("DropHead(5): %d layers, nested %v, outputs %v; want input and seq_block, whose output is the model's", len(got.Items("")), got.Submodels, got.Outputs)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
	// The nested model is one layer: dropping it leaves nothing but the input.
	if _, err := DropHead(got, 1, ""); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "nothing but the model input") {
		t.Errorf("DropHead(the nested model) = %v; want ErrUsage: nothing but the input would remain", err)
	}
	if _, err := DropHead(m, 8, ""); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "has 7 layers") {
		t.Errorf("DropHead(8) = %v; want ErrUsage counting 7 layers", err)
	}
}

// TestFoldBNNestedOutput: folding the BatchNormalization that ends a nested
// model (Dense then BN, as a base cut before its activation) makes the
// nested model return the Dense's output, and the model predicts the same.
func TestFoldBNNestedOutput(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	d := denseLayer(t, rng, "base/d", "x", 6, 4, "", true)
	d.Scope = "base"
	bn, err := layers.BatchNormalization(layers.BatchNormSpec{Common: layers.Common{Name: "base/bn", Inputs: d.Outputs, Trainable: true},
		Rank: 2, Channels: 4, Epsilon: 1e-3, Momentum: 0.99, Center: true, Scale: true,
		Gamma: []float32{1.5, 0.5, 1, 2}, Beta: []float32{0.1, -0.2, 0.3, 0}, MovingMean: []float32{0.2, -1, 0.5, 0}, MovingVariance: []float32{2, 0.5, 1, 3}})
	if err != nil {
		t.Fatal(err)
	}
	bn.Scope = "base"
	head := denseLayer(t, rng, "head", bn.Outputs[0], 4, 3, "softmax", true)
	m := &model.Model{Name: "folded", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 6}}}, Outputs: head.Outputs,
		Layers:    []*model.Layer{d, bn, head},
		Submodels: []*model.Submodel{{Name: "base", Kind: "Functional", Trainable: true, Inputs: []string{"x"}, Outputs: bn.Outputs}}}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	folded, rep := foldPure(t, m)
	if len(rep.Folded) != 1 || folded.Layer("base/bn") != nil || folded.Submodels[0].Outputs[0] != d.Outputs[0] {
		t.Fatalf("FoldBN: report %+v, base returns %v; want base/bn folded and base returning %s", rep, folded.Submodels[0].Outputs, d.Outputs[0])
	}
	x := &model.Tensor{DType: model.Float32, Shape: []int{5, 6}, F32: make([]float32, 30)}
	for i := range x.F32 {
		x.F32[i] = float32(rng.NormFloat64())
	}
	if d := maxAbs(t, predict(t, folded, x), predict(t, m, x)); d > foldTolerance {
		t.Errorf("folded model differs by %g; want <= %g", d, foldTolerance)
	}
}
