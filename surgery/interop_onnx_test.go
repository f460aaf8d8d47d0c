package surgery

import (
	"math/rand"

	"testing"

	"github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// TestFoldBNTorch folds the three BatchNormalization nodes of a PyTorch
// export (testdata/gen_torch_bn.py: OIHW Conv weights, one conv without
// bias, a Linear as Gemm transB=1 followed by BatchNorm1d) and checks the
// engine's predictions against PyTorch's own outputs, folded and not.
func TestFoldBNTorch(t *testing.T) {
	m, err := onnx.ReadFile("testdata/torch_conv_bn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensorio.ReadFile("testdata/torch_conv_bn_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile("testdata/torch_conv_bn_y.npy")
	if err != nil {
		t.Fatal(err)
	}
	folded, rep := foldPure(t, m)
	if len(rep.Folded) != 3 || len(rep.Skipped) != 0 || len(folded.Layers) != len(m.Layers)-3 {
		t.Fatalf("FoldBN(torch_conv_bn) report:\n%s%d -> %d layers; want 3 folded, 3 layers fewer", rep, len(m.Layers), len(folded.Layers))
	}
	for _, f := range rep.Folded {
		if l := folded.Layer(f.Into); l == nil || l.Param("bias") == nil {
			t.Errorf("FoldBN(torch_conv_bn): layer %q has no bias after folding %q", f.Into, f.BatchNorm)
		}
	}
	before, after := predict(t, m, x), predict(t, folded, x)
	if d := maxAbs(t, before, want); d > foldTolerance {
		t.Errorf("unfolded model vs PyTorch: max abs diff %.3g; want <= %g", d, foldTolerance)
	}
	if d := maxAbs(t, after, want); d > foldTolerance {
		t.Errorf("folded model vs PyTorch: max abs diff %.3g; want <= %g", d, foldTolerance)
	}
	if d := maxAbs(t, after, before); d > foldTolerance {
		t.Errorf("folded vs unfolded: max abs diff %.3g; want <= %g", d, foldTolerance)
	}
}

// TestModelBOnATorch runs the chapter's surgery on the PyTorch export of
// model A (fixtures/torch/model_a.onnx): the counts equal Keras's for
// model_B_on_A (7 layers, 275,801 params, 51 trainable).
func TestModelBOnATorch(t *testing.T) {
	m, err := onnx.ReadFile("../fixtures/torch/model_a.onnx")
	if err != nil {
		t.Fatal(err)
	}
	b, err := DropHead(m, 1, "")
	if err == nil {
		b, err = AddHead(b, HeadSpec{Units: 1, Activation: "sigmoid"}, rand.New(rand.NewSource(1)))
	}
	if err == nil {
		b, err = Freeze(b, 5)
	}
	if err != nil {
		t.Fatal(err)
	}
	total, trainable, _ := b.ParamCounts()
	if len(b.Layers) != 7 || total != 275801 || trainable != 51 {
		t.Errorf("model_B_on_A from torch: %d layers, %d params, %d trainable; want 7, 275801, 51", len(b.Layers), total, trainable)
	}
	// The head reads the last SELU layer; its output is [N, 1].
	x := &model.Tensor{DType: model.Float32, Shape: []int{2, 28, 28}, F32: make([]float32, 2*784)}
	if y := predict(t, b, x); len(y.Shape) != 2 || y.Shape[1] != 1 {
		t.Errorf("model_B_on_A from torch predicts shape %v; want [2 1]", y.Shape)
	}
}
