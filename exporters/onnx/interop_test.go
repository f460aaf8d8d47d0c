package onnx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	kerasexp "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/importers/keras"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// interopCase is one Keras-written model with its input and Keras's (or the
// fixture's documented numpy) predictions.
type interopCase struct {
	name string
	path string
	x, y *model.Tensor
}

func interopCases(t *testing.T) []interopCase {
	root := peers.Interop(t, "", ".h5 -> .onnx checked against Keras's predictions")
	var cases []interopCase
	var shared struct {
		Fixtures []struct {
			Name, Dir, Model, Inputs, Predictions string
			InputShape                            []int `json:"input_shape"`
			Rows                                  int
			OutputCols                            int `json:"output_cols"`
		}
	}
	if data, err := os.ReadFile(filepath.Join(root, "keras", "manifest.json")); err == nil {
		if err := json.Unmarshal(data, &shared); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range shared.Fixtures {
		dir := filepath.Join(root, "keras", f.Dir)
		x := peers.ReadDat(t, filepath.Join(dir, f.Inputs), f.InputShape...)
		y := peers.ReadDat(t, filepath.Join(dir, f.Predictions), f.OutputCols)
		if x.Shape[0] != f.Rows || y.Shape[0] != f.Rows {
			t.Fatalf("%s: %d input rows and %d prediction rows; the manifest says %d", f.Name, x.Shape[0], y.Shape[0], f.Rows)
		}
		cases = append(cases, interopCase{name: "keras/" + f.Name, path: filepath.Join(dir, f.Model), x: x, y: y})
	}
	var k3 struct {
		Models []struct{ Name string }
	}
	if data, err := os.ReadFile(filepath.Join(root, "keras3", "manifest.json")); err == nil {
		if err := json.Unmarshal(data, &k3); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range k3.Models {
		dir := filepath.Join(root, "keras3")
		x := peers.ReadNPY(t, filepath.Join(dir, m.Name+"_input.npy"))
		y := peers.ReadNPY(t, filepath.Join(dir, m.Name+"_pred.npy"))
		for _, ext := range []string{".h5", ".keras"} {
			cases = append(cases, interopCase{name: "keras3/" + m.Name + ext, path: filepath.Join(dir, m.Name+ext), x: x, y: y})
		}
	}
	if len(cases) == 0 {
		t.Skip("SKIP (no Keras fixtures found in shared/interop)")
	}
	return cases
}

// TestKerasToONNX exports every Keras peer fixture to ONNX, runs the export
// through ONNX Runtime and compares with Keras's predictions (absolute 1e-5,
// the fixtures' suggested float32 tolerance), then checks that
// .onnx -> xfer -> .h5 -> xfer -> .onnx keeps the graph, the flags and the
// numbers.
func TestKerasToONNX(t *testing.T) {
	for _, tc := range interopCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			m, err := keras.ReadFile(tc.path, keras.Options{})
			if err != nil {
				t.Fatalf("keras.ReadFile(%s) error %v", tc.path, err)
			}
			if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
				t.Skipf("SKIP: %d inputs, %d outputs; the fixtures have one of each", len(m.Inputs), len(m.Outputs))
			}
			in := map[string]*model.Tensor{m.Inputs[0].Name: tc.x}
			for _, opset := range []int{13, 21} { // the ends of the range; 17 below
				exportAndCompare(t, m, opset, in)
			}
			path := exportAndCompare(t, m, 17, in)
			got, rt := runExport(t, path, in)
			y := got[m.Outputs[0]]
			want := &model.Tensor{DType: model.Float32, Shape: y.Shape, F32: tc.y.F32}
			if model.NumElements(y.Shape) != len(tc.y.F32) {
				t.Fatalf("%s output shape %v; want %d values like %v", rt, y.Shape, len(tc.y.F32), tc.y.Shape)
			}
			closeAbs(t, rt+"(export) vs Keras", y, want, 1e-5)

			// .onnx -> xfer -> .h5 -> xfer -> .onnx
			back, err := onnximp.ReadFile(path)
			if err != nil {
				t.Fatalf("onnx ReadFile(%s) error %v", path, err)
			}
			if fmt.Sprint(layerSummary(back)) != fmt.Sprint(layerSummary(m)) {
				t.Errorf(".h5 -> .onnx -> xfer changed the layers:\n%v\nwant\n%v", layerSummary(back), layerSummary(m))
			}
			h5 := filepath.Join(t.TempDir(), "back.h5")
			if err := kerasexp.WriteH5(h5, back); err != nil {
				t.Fatalf("keras WriteH5 error %v", err)
			}
			again, err := keras.ReadFile(h5, keras.Options{})
			if err != nil {
				t.Fatalf("keras.ReadFile(%s) error %v", h5, err)
			}
			path2 := exportAndCompare(t, again, 17, in)
			got2, _ := runExport(t, path2, in)
			closeAbs(t, rt+"(.onnx->.h5->.onnx) vs "+rt+"(.onnx)", got2[again.Outputs[0]], y, 0)
			if a, b := layerSummary(back), mustRead(t, path2); fmt.Sprint(a) != fmt.Sprint(layerSummary(b)) {
				t.Errorf(".onnx -> .h5 -> .onnx changed the layers:\n%v\nwant\n%v", layerSummary(b), a)
			}
			g1, g2 := graphBytes(t, path), graphBytes(t, path2)
			if !bytes.Equal(g1, g2) {
				t.Errorf(".onnx -> .h5 -> .onnx changed the ONNX graph (%d bytes vs %d)", len(g2), len(g1))
			}
		})
	}
}

func mustRead(t *testing.T, path string) *model.Model {
	t.Helper()
	m, err := onnximp.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// graphBytes returns the deterministic encoding of the file's graph (nodes,
// initializers, inputs, outputs), leaving out the metadata that records
// where the model came from.
func graphBytes(t *testing.T, path string) []byte {
	t.Helper()
	return graphOf(t, mustRead(t, path))
}

// graphOf is the deterministic encoding of m's graph at the default opset.
func graphOf(t *testing.T, m *model.Model) []byte {
	t.Helper()
	m = m.Clone()
	m.Meta, m.History = nil, nil
	mp, err := Build(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mp.MetadataProps = nil
	b, err := marshalDeterministic(mp.Graph)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// closeAbs requires |got-want| <= tol element-wise (and equal element counts).
func closeAbs(t *testing.T, what string, got, want *model.Tensor, tol float64) {
	t.Helper()
	if got == nil || len(got.F32) != len(want.F32) {
		t.Fatalf("%s: got %v; want %d values", what, got, len(want.F32))
	}
	bad := 0
	for i := range want.F32 {
		d := float64(got.F32[i]) - float64(want.F32[i])
		if d > tol || -d > tol || d != d {
			if bad++; bad <= 5 {
				t.Errorf("%s: [%d] = %g; want %g (tolerance %g)", what, i, got.F32[i], want.F32[i], tol)
			}
		}
	}
}
