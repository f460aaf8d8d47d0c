package onnx_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/xferml/xfer/engine"
	onnxexp "github.com/xferml/xfer/exporters/onnx"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/internal/visionfix"
	"github.com/xferml/xfer/model"
)

// Tolerance of a float32 implementation against torch on the torchvision
// models (issue 11): |got - want| <= atol + rtol*|want|. The engine and torch
// sum convolutions in different orders through tens of layers.
const (
	visionAtol = 1e-4
	visionRtol = 1e-3
)

// worstVsTorch returns the largest |got-want| - rtol*|want| (negative
// margins mean inside) and the index where it occurs.
func worstVsTorch(got, want *model.Tensor) (excess float64, at int, d float64) {
	excess = math.Inf(-1)
	for i := range want.F32 {
		diff := math.Abs(float64(got.F32[i]) - float64(want.F32[i]))
		e := diff - visionRtol*math.Abs(float64(want.F32[i]))
		if e > excess || math.IsNaN(diff) {
			excess, at, d = e, i, diff
		}
	}
	return excess, at, d
}

// TestTorchvision imports each torchvision model (fixtures/torch/vision.py,
// exported by torch.onnx.export at opsets 13 and 17), predicts torch's input
// with the engine and compares with torch's output; then writes the model
// back to .onnx at its opset and reads it again: writing that gives the
// same bytes again (the first export names nodes "<layer>/<op>", so only
// from then on are files byte-identical), and it predicts bit-identical
// results.
func TestTorchvision(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING in -short: the torchvision models take about a minute")
	}
	sel, files := visionfix.GetSelected(t)
	for _, s := range sel {
		f := files[s.Name]
		for _, opset := range visionfix.Opsets {
			t.Run(fmt.Sprintf("%s/op%d", s.Name, opset), func(t *testing.T) {
				visionfix.Pending(t, s, f, opset, supportedOps())
				m, err := onnximp.ReadFile(f.ONNX[opset])
				if err != nil {
					t.Fatalf("ReadFile: %v", err)
				}
				if total, _, _ := m.ParamCounts(); total > f.Info.Params {
					// torch counts BatchNorm statistics as buffers, not params,
					// and folds them into the Conv at export; xfer counts what
					// the file holds, which can only be at most torch's count
					// plus BatchNorm's moving statistics.
					t.Logf("%d params in the file, torch's model has %d", total, f.Info.Params)
				}
				x, err := tensorio.ReadFile(f.X)
				if err != nil {
					t.Fatal(err)
				}
				want, err := tensorio.ReadFile(f.Y)
				if err != nil {
					t.Fatal(err)
				}
				got := predict(t, m, x)
				if len(got.F32) != len(want.F32) {
					t.Fatalf("prediction shape %v; torch's %v", got.Shape, want.Shape)
				}
				if e, at, d := worstVsTorch(got, want); e > visionAtol || math.IsNaN(e) {
					t.Errorf("prediction[%d] = %g, torch %g (|diff| %g); want within %g + %g*|want|", at, got.F32[at], want.F32[at], d, visionAtol, visionRtol)
				}

				b1, err := onnxexp.Marshal(m, onnxexp.Options{Opset: opset})
				if err != nil {
					t.Fatalf("export at opset %d: %v", opset, err)
				}
				m2, err := onnximp.Read(b1, "exported.onnx")
				if err != nil {
					t.Fatalf("reading the export back: %v", err)
				}
				b2, err := onnxexp.Marshal(m2, onnxexp.Options{Opset: opset})
				if err != nil {
					t.Fatalf("second export: %v", err)
				}
				if !bytes.Equal(b1, b2) {
					t.Errorf("export -> import -> export: %d bytes, then %d bytes that differ", len(b1), len(b2))
				}
				got2 := predict(t, m2, x)
				for i := range got.F32 {
					if math.Float32bits(got.F32[i]) != math.Float32bits(got2.F32[i]) {
						t.Errorf("after the .onnx round trip prediction[%d] = %g; before %g", i, got2.F32[i], got.F32[i])
						break
					}
				}
			})
		}
	}
}

// supportedOps lists the ops both shape inference and the engine know.
func supportedOps() []string {
	var ops []string
	for _, op := range engine.SupportedOps() {
		if slices.Contains(model.SupportedOps(), op) {
			ops = append(ops, op)
		}
	}
	return ops
}

func predict(t *testing.T, m *model.Model, x *model.Tensor) *model.Tensor {
	t.Helper()
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	y, err := s.Predict(x)
	if err != nil {
		t.Fatalf("Predict: %v", err)
	}
	return y
}
