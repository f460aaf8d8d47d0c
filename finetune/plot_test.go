package finetune

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestPlotCurves(t *testing.T) {
	v := 0.5
	h := &History{Epochs: []Epoch{{Epoch: 1, Loss: 1, Accuracy: 0.5, ValLoss: &v, ValAccuracy: &v}, {Epoch: 2, Loss: 0.5, Accuracy: 0.8}}}
	p := filepath.Join(t.TempDir(), "curves.png")
	if err := PlotCurves(p, []Curve{{Label: "A", History: h}, {Label: "empty"}}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("PlotCurves wrote a bad PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 250 {
		t.Errorf("PNG is %v; want at least 600x250", b)
	}
	if err := PlotCurves(filepath.Join(t.TempDir(), "no", "such", "dir.png"), []Curve{{Label: "A", History: h}}); err == nil {
		t.Errorf("PlotCurves(missing dir) error = nil")
	}
}
