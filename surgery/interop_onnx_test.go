package surgery

import (
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
	var rep FoldReport
	folded := checkPure(t, m, func(m *model.Model) (*model.Model, error) {
		f, r, err := FoldBN(m)
		rep = r
		return f, err
	})
	if folded == nil {
		t.Fatal("FoldBN failed")
	}
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
