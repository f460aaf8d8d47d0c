package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/internal/visionfix"
)

// TestAddHeadSqueezeNet is issue 14 item 7's case: torchvision's SqueezeNet
// 1.1 (exported by torch.onnx.export) cut before its Flatten ends at a
// [N, 1000, 1, 1] pooled output. A Dense head is refused there with a line
// that names the layer and the flags to use, and add-head --flatten then
// adds it in one command: the new head computes Dense on torch's own
// features (the fixture's output is that Flatten's).
func TestAddHeadSqueezeNet(t *testing.T) {
	const name = "squeezenet1_1"
	f := visionfix.Get(t, name)[name]
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.onnx")
	if out := mustXfer(t, dir, "drop-head", "-m", f.ONNX[13], "-o", cut); !strings.Contains(out, "removed Flatten (Flatten); the model now ends at classifier_classifier.3 (None, 1000, 1, 1)") {
		t.Errorf("drop-head printed %q; want it to end at classifier_classifier.3 (None, 1000, 1, 1)", out)
	}
	head := filepath.Join(dir, "head.onnx")
	_, errs, code := xfer(t, dir, "add-head", "--units", "2", "-m", cut, "-o", head)
	if want := `xfer: add-head: unsupported: the model ends at layer "classifier_classifier.3" with output shape (None, 1000, 1, 1); a Dense head needs`; code != 1 || !strings.HasPrefix(errs, want) || !strings.Contains(errs, "(add-head --flatten, or --pool avg|max)\n") || strings.Count(errs, "\n") != 1 {
		t.Errorf("add-head without --flatten: exit %d, stderr %q; want 1 and one line starting %q", code, errs, want)
	}
	mustXfer(t, dir, "add-head", "--flatten", "--units", "2", "--seed", "1", "-m", cut, "-o", head)
	pred := filepath.Join(dir, "pred.npy")
	mustXfer(t, dir, "predict", "-m", head, "--input", f.X, "--output", pred)

	m, err := formats.Read(head, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dense := m.Layers[len(m.Layers)-1]
	if dense.Kind != "Dense" || len(dense.Params) != 2 || m.Layers[len(m.Layers)-2].Kind != "Flatten" {
		t.Fatalf("the model ends with %s, %s; want Flatten, Dense (kernel, bias)", m.Layers[len(m.Layers)-2].Kind, dense.Kind)
	}
	kernel, bias := dense.Params[0].Data, dense.Params[1].Data // [1000, 2] (Keras layout), [2]
	y, err := tensorio.ReadNPYFile(f.Y)                        // torch's [2, 1000]
	if err != nil {
		t.Fatal(err)
	}
	got, err := tensorio.ReadNPYFile(pred)
	if err != nil {
		t.Fatal(err)
	}
	if len(y.F32) != 2*1000 || len(kernel) != 1000*2 || len(got.F32) != 2*2 {
		t.Fatalf("sizes: torch output %d, kernel %d, predictions %d; want 2000, 2000, 4", len(y.F32), len(kernel), len(got.F32))
	}
	for r := range 2 {
		for u := range 2 {
			want := float64(bias[u])
			for i := range 1000 {
				want += float64(y.F32[r*1000+i]) * float64(kernel[i*2+u])
			}
			// 1e-4 + 1e-3 relative: the engine-vs-torch bound of the
			// torchvision checks (importers/onnx visionAtol, visionRtol).
			if g := float64(got.F32[r*2+u]); math.Abs(g-want) > 1e-4+1e-3*math.Abs(want) {
				t.Errorf("head output [%d,%d] = %g; want %g (Dense on torch's features)", r, u, g, want)
			}
		}
	}
}
