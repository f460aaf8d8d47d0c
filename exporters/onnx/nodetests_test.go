package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xferml/xfer/conformance"
	"github.com/xferml/xfer/engine"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/model"
)

// nodeTestRun runs an export of a node test: through ONNX Runtime when it
// is installed, else through the engine on the re-imported file. It returns
// nil outputs (after reporting why) when the runtime failed, and nil
// outputs with no report when ONNX Runtime cannot take or return the
// export's element types through onnxruntime_go (ort.ErrType: float16
// outputs).
func nodeTestRun(t *testing.T, path string, inputs map[string]*model.Tensor) (map[string]*model.Tensor, string) {
	t.Helper()
	if haveORT(t) {
		got, err := ort.Run(path, inputs)
		if errors.Is(err, ort.ErrType) {
			t.Logf("%s: not run by ONNX Runtime: %v", path, err)
			return nil, ""
		}
		if err != nil {
			t.Errorf("ort.Run(%s) error %v", path, err)
			return nil, "ORT"
		}
		return got, "ORT"
	}
	const rt = "engine (re-imported)"
	back, err := onnximp.ReadFile(path)
	if err != nil {
		t.Errorf("%s: ReadFile(%s) error %v", rt, path, err)
		return nil, rt
	}
	s, err := engine.New(back)
	if err != nil {
		t.Errorf("%s: engine.New(%s) error %v", rt, path, err)
		return nil, rt
	}
	got, err := s.Run(inputs)
	if err != nil {
		t.Errorf("%s: Run(%s) error %v", rt, path, err)
		return nil, rt
	}
	return got, rt
}

// TestExportNodeTests re-exports every ONNX node test of the operators of
// issue 3 (conformance.Selected) that xfer passes
// (conformance/testdata/expected.txt) at opsets 13, 17 and 21 and runs the
// export through ONNX Runtime (or, without it, the engine on the
// re-imported export) against ONNX's reference outputs: the exporter's
// opset conversion is checked on the format's own test data.
func TestExportNodeTests(t *testing.T) {
	if _, err := os.Stat(conformance.DefaultDir); err != nil {
		t.Skipf("SKIP (ONNX node tests absent: apt-get install libonnx-testdata): %v", err)
	}
	passing, err := conformance.Expected("../../conformance/testdata/expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	selected, err := conformance.Selected(conformance.DefaultDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, name := range selected {
		if slices.Contains(passing, "node/"+name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		dir := filepath.Join(conformance.DefaultDir, name)
		m, err := onnximp.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sets, err := conformance.DataSets(dir, m)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		s, err := engine.New(m)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var engineOut []map[string]*model.Tensor
		for _, set := range sets {
			out, err := s.Run(set.Inputs)
			if err != nil {
				t.Errorf("%s: engine: %v", name, err)
				break
			}
			engineOut = append(engineOut, out)
		}
		for _, opset := range []int{13, 17, 21} {
			path := filepath.Join(t.TempDir(), fmt.Sprintf("%s_%d.onnx", name, opset))
			err := WriteFile(path, m, Options{Opset: opset})
			if errors.Is(err, model.ErrUnsupported) {
				// A documented refusal: an op (or an element type) older
				// than it is, a Dropout mask the graph uses.
				t.Logf("%s: opset %d: %v", name, opset, err)
				continue
			}
			if err != nil {
				t.Errorf("%s: WriteFile(opset %d) error %v", name, opset, err)
				continue
			}
			if opset == 17 {
				written = append(written, keepForChecker(t, path))
				// .onnx -> xfer -> .onnx is stable: same layers, same graph.
				back, err := onnximp.ReadFile(path)
				if err != nil {
					t.Errorf("%s: ReadFile(export) error %v", name, err)
					continue
				}
				if a, b := fmt.Sprint(layerSummary(back)), fmt.Sprint(layerSummary(m)); a != b {
					t.Errorf("%s: re-import changed the layers:\n%s\nwant\n%s", name, a, b)
				}
				if !bytes.Equal(graphBytes(t, path), graphOf(t, m)) {
					t.Errorf("%s: .onnx -> xfer -> .onnx changed the graph", name)
				}
			}
			for k, set := range sets {
				got, rt := nodeTestRun(t, path, set.Inputs)
				if got == nil && rt == "" {
					break // ONNX Runtime cannot run this export's types
				}
				if got == nil {
					t.Errorf("%s: opset %d: %s could not run the export", name, opset, rt)
					break
				}
				for i, o := range m.Outputs {
					if err := conformance.Compare(got[o], set.Outputs[i]); err != nil {
						t.Errorf("%s: opset %d: %s: output %q: %s on the export: %v", name, opset, set.Name, o, rt, err)
					}
					if k < len(engineOut) {
						// 1e-5: the engine/ORT agreement bound of issue 3.
						closeTo(t, fmt.Sprintf("%s: opset %d: %s: output %q: %s on the export vs engine", name, opset, set.Name, o, rt), got[o], engineOut[k][o], 1e-5)
					}
				}
			}
		}
	}
}
