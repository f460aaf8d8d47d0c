package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/conformance"
	"github.com/xferml/xfer/engine"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/model"
)

// TestExportNodeTests re-exports every ONNX node test xfer passes
// (conformance/testdata/node_tests_expected.txt) at opsets 13, 17 and 21 and
// runs the export through ONNX Runtime against ONNX's reference outputs:
// the exporter's opset conversion is checked by the reference runtime on the
// format's own test data.
func TestExportNodeTests(t *testing.T) {
	needORT(t)
	if _, err := os.Stat(conformance.DefaultDir); err != nil {
		t.Skipf("SKIP (ONNX node tests absent: apt-get install libonnx-testdata): %v", err)
	}
	names, err := conformance.Expected("../../conformance/testdata/node_tests_expected.txt")
	if err != nil {
		t.Fatal(err)
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
			if opset < m.Opset && errors.Is(err, model.ErrUnsupported) {
				continue // a documented refusal to write an op older than it is
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
				got, err := ort.Run(path, set.Inputs)
				if err != nil {
					t.Errorf("%s: opset %d: ort.Run error %v", name, opset, err)
					break
				}
				for i, o := range m.Outputs {
					if err := conformance.Compare(got[o], set.Outputs[i]); err != nil {
						t.Errorf("%s: opset %d: %s: output %q: ORT on the export: %v", name, opset, set.Name, o, err)
					}
					if k < len(engineOut) {
						// 1e-5: the engine/ORT agreement bound of issue 3.
						closeTo(t, fmt.Sprintf("%s: opset %d: %s: output %q: ORT vs engine", name, opset, set.Name, o), got[o], engineOut[k][o], 1e-5)
					}
				}
			}
		}
	}
}
