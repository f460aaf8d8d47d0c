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
// is installed, else through the engine on the re-imported file; also
// through the engine when ONNX Runtime cannot take or return the export's
// element types through onnxruntime_go (ort.ErrType: float16 outputs), so
// that every export is run by something. It returns nil outputs (after
// reporting why) when the runtime failed.
func nodeTestRun(t *testing.T, path string, inputs map[string]*model.Tensor) (map[string]*model.Tensor, string) {
	t.Helper()
	rt := "engine (re-imported)"
	if haveORT(t) {
		got, err := ort.Run(path, inputs)
		switch {
		case errors.Is(err, ort.ErrType):
			t.Logf("%s: run by the engine, not ONNX Runtime: %v", path, err)
			rt = "engine (re-imported; ONNX Runtime cannot return its type)"
		case err != nil:
			t.Errorf("ort.Run(%s) error %v", path, err)
			return nil, "ORT"
		default:
			return got, "ORT"
		}
	}
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

// exportRefusals are the node tests the exporter refuses to write, by
// opset, each with its reason: a documented model.ErrUnsupported.
// TestExportNodeTests fails when the refusals it meets differ, so a new
// refusal is a decision recorded here, not a line in a log.
var exportRefusals = []struct {
	reason string
	opsets []int
	names  []string
}{
	{"the model is at opset 1 or 6: xfer writes models read at opset 7 or later", []int{13, 17, 21}, []string{
		"test_elu", "test_elu_default", "test_elu_example",
		"test_globalaveragepool", "test_globalaveragepool_precomputed", "test_globalmaxpool", "test_globalmaxpool_precomputed",
		"test_hardsigmoid", "test_hardsigmoid_default", "test_hardsigmoid_example",
		"test_selu", "test_selu_default", "test_selu_example",
		"test_softplus", "test_softplus_example", "test_softsign", "test_softsign_example"}},
	{"Dropout's mask output is used: xfer exports inference graphs", []int{13, 17, 21}, []string{
		"test_dropout_default_mask", "test_dropout_default_mask_ratio"}},
	{"uint8 values: xfer converts only float32 and int64 graphs to an older opset", []int{13}, []string{
		"test_add_uint8", "test_div_uint8", "test_mul_uint8", "test_sub_uint8"}},
	{"Reshape with allowzero=1 needs opset 14", []int{13}, []string{"test_reshape_allowzero_reordered"}},
	{"Shape with start/end needs opset 15", []int{13}, []string{
		"test_shape_clip_end", "test_shape_clip_start", "test_shape_end_1", "test_shape_end_negative_1",
		"test_shape_start_1", "test_shape_start_1_end_2", "test_shape_start_1_end_negative_1", "test_shape_start_negative_1"}},
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
	wantRefused, refused := map[string]bool{}, map[string]bool{}
	for _, r := range exportRefusals {
		for _, n := range r.names {
			for _, o := range r.opsets {
				wantRefused[fmt.Sprintf("%s@%d", n, o)] = true
			}
		}
	}
	defer func() {
		for k := range wantRefused {
			if !refused[k] {
				t.Errorf("%s: exportRefusals lists it, but the exporter wrote it: drop it from the list", k)
			}
		}
	}()
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
				// A documented refusal (exportRefusals).
				refused[fmt.Sprintf("%s@%d", name, opset)] = true
				if !wantRefused[fmt.Sprintf("%s@%d", name, opset)] {
					t.Errorf("%s: opset %d: refused, and exportRefusals does not list it: %v", name, opset, err)
				}
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
