package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xferml/xfer/engine"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// The PyTorch export of the book's model A (fixtures/torch/gen.py).
const (
	torchModelA = "../../fixtures/torch/model_a.onnx"
	torchX      = "../../fixtures/torch/x.npy"
	torchY      = "../../fixtures/torch/y.npy"
)

// checkerMaxOpset is the newest opset Debian's python3-onnx 1.12 knows
// (onnx 1.12 release notes: opset 17, IR version 8).
const checkerMaxOpset = 17

// written collects the files exported by the tests for the checker run.
var written []string

// ortErr is ort.Init's answer, asked once.
var ortErr = sync.OnceValue(ort.Init)

// haveORT reports whether ONNX Runtime is installed. Without it the exports
// are still checked, by xfer's engine on the file re-imported with
// importers/onnx (whose opset handling and the engine's ops are tied to
// ONNX's node tests), and the test says so loudly in its log.
func haveORT(t testing.TB) bool {
	t.Helper()
	err := ortErr()
	switch {
	case err == nil:
		return true
	case errors.Is(err, ort.ErrNotInstalled):
		t.Logf("NOTE LOUDLY: ONNX Runtime not installed (%v): the exports are run by xfer's engine after re-import instead", err)
		return false
	}
	t.Fatalf("ort.Init() = %v", err)
	return false
}

// runExport runs the ONNX file at path on inputs through ONNX Runtime when
// it is installed, else through the engine on the file re-imported. It
// returns the outputs and the runtime's name, for messages.
func runExport(t *testing.T, path string, inputs map[string]*model.Tensor) (map[string]*model.Tensor, string) {
	t.Helper()
	if haveORT(t) {
		got, err := ort.Run(path, inputs)
		if err != nil {
			t.Fatalf("ort.Run(%s) error %v", path, err)
		}
		return got, "ORT"
	}
	return runReimported(t, path, inputs), "engine (re-imported)"
}

// runReimported reads the ONNX file at path back with importers/onnx and
// runs it through the engine on inputs.
func runReimported(t *testing.T, path string, inputs map[string]*model.Tensor) map[string]*model.Tensor {
	t.Helper()
	back, err := onnximp.ReadFile(path)
	if err != nil {
		t.Fatalf("re-import of the export: ReadFile(%s) error %v", path, err)
	}
	s, err := engine.New(back)
	if err != nil {
		t.Fatalf("re-import of the export: engine.New(%s) error %v", path, err)
	}
	got, err := s.Run(inputs)
	if err != nil {
		t.Fatalf("re-import of the export: engine Run(%s) error %v", path, err)
	}
	return got
}

// close reports whether got is within tol of want, element by element
// (|got-want| <= tol*(1+|want|)), with equal shapes.
func closeTo(t *testing.T, what string, got, want *model.Tensor, tol float64) {
	t.Helper()
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) || got.DType != want.DType {
		t.Fatalf("%s: shape %v %v; want %v %v", what, got.Shape, got.DType, want.Shape, want.DType)
	}
	bad := 0
	for i := range want.F32 {
		g, w := float64(got.F32[i]), float64(want.F32[i])
		if math.Abs(g-w) > tol*(1+math.Abs(w)) || math.IsNaN(g) != math.IsNaN(w) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %g; want %g", what, i, g, w)
			}
		}
	}
	for i := range want.I64 {
		if got.I64[i] != want.I64[i] {
			t.Fatalf("%s[%d] = %d; want %d", what, i, got.I64[i], want.I64[i])
		}
	}
}

// exportAndCompare writes m at opset and requires the export to compute
// what the engine computes on m, within 1e-5: run by ONNX Runtime when it is
// installed, and always by the engine on the re-imported file (so that the
// opset conversion is checked with or without ORT). It returns the file
// written.
func exportAndCompare(t *testing.T, m *model.Model, opset int, inputs map[string]*model.Tensor) string {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate(%s) = %v", m.Name, err)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("%s_opset%d.onnx", m.Name, opset))
	if err := WriteFile(path, m, Options{Opset: opset}); err != nil {
		t.Fatalf("WriteFile(%s, opset %d) error %v", m.Name, opset, err)
	}
	if opset <= checkerMaxOpset {
		written = append(written, keepForChecker(t, path))
	}
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New(%s) error %v", m.Name, err)
	}
	want, err := s.Run(inputs)
	if err != nil {
		t.Fatalf("engine Run(%s) error %v", m.Name, err)
	}
	runs := map[string]map[string]*model.Tensor{"engine (re-imported)": runReimported(t, path, inputs)}
	if haveORT(t) {
		got, name := runExport(t, path, inputs)
		runs[name] = got
	}
	for name, got := range runs {
		for _, o := range m.Outputs {
			if got[o] == nil {
				t.Fatalf("%s on %s has no output %q", name, path, o)
			}
			// 1e-5: the ONNX Runtime agreement bound of issue 3.
			closeTo(t, fmt.Sprintf("%s opset %d output %q (%s on the export vs engine on the model)", m.Name, opset, o, name), got[o], want[o], 1e-5)
		}
	}
	return path
}

var checkerDir string

// keepForChecker copies an export where TestZChecker will find it.
func keepForChecker(t *testing.T, path string) string {
	t.Helper()
	keep := filepath.Join(checkerDir, filepath.Base(path))
	data, err := os.ReadFile(path)
	if err == nil {
		err = os.WriteFile(keep, data, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return keep
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xfer-onnx-export-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	checkerDir = dir
	code := m.Run()
	if code == 0 && !runChecker() {
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func randTensor(rng *rand.Rand, shape ...int) *model.Tensor {
	t := &model.Tensor{DType: model.Float32, Shape: shape, F32: make([]float32, model.NumElements(shape))}
	for i := range t.F32 {
		t.F32[i] = float32(rng.NormFloat64())
	}
	return t
}

// kerasModelA builds the book's model A the way the Keras importer does:
// Flatten then Dense layers with [in, out] kernels (MatMul, Add, activation).
func kerasModelA(t *testing.T) *model.Model {
	rng := rand.New(rand.NewPCG(1, 2))
	m := &model.Model{Name: "model_a", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "flatten_input", DType: model.Float32, Shape: []int{-1, 28, 28}}},
		Meta:    map[string]string{"format": "keras-h5", "source": "model_a.h5"},
		History: []model.Event{{Op: "import", Time: "2026-11-27T11:00:00Z"}}}
	m.Layers = append(m.Layers, &model.Layer{Name: "flatten", Kind: "Flatten", Trainable: true,
		Inputs: []string{"flatten_input"}, Outputs: []string{"flatten/Flatten:0"},
		Nodes: []*model.Node{{Name: "flatten/Flatten", Op: "Flatten", Inputs: []string{"flatten_input"}, Outputs: []string{"flatten/Flatten:0"}, Attrs: map[string]model.Attr{"axis": model.Int(1)}}}})
	in, x := 784, "flatten/Flatten:0"
	for i, units := range []int{300, 100, 50, 50, 50, 8} {
		name, act := "dense", "selu"
		if i > 0 {
			name = fmt.Sprintf("dense_%d", i)
		}
		if units == 8 {
			act = "softmax"
		}
		k := randTensor(rng, in, units).F32
		for j := range k {
			k[j] /= float32(math.Sqrt(float64(in))) // LeCun-normal scale
		}
		l, err := layers.Dense(layers.DenseSpec{Name: name, Input: x, InFeatures: in, Units: units, Activation: act, UseBias: true, Trainable: true, Kernel: k, Bias: randTensor(rng, units).F32})
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, l)
		in, x = units, l.Outputs[0]
	}
	m.Outputs = []string{x}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExportKerasModelAAllOpsets(t *testing.T) {
	m := kerasModelA(t)
	x := randTensor(rand.New(rand.NewPCG(3, 4)), 5, 28, 28)
	for opset := MinOpset; opset <= MaxOpset; opset++ {
		t.Run(fmt.Sprint(opset), func(t *testing.T) {
			path := exportAndCompare(t, m, opset, map[string]*model.Tensor{"flatten_input": x})
			back, err := onnximp.ReadFile(path)
			if err != nil {
				t.Fatalf("ReadFile(export) error %v", err)
			}
			if len(back.Layers) != len(m.Layers) || !back.Sequential || back.Meta["format"] != "onnx" || back.Meta["origin"] != "model_a.h5" || len(back.History) != 1 {
				t.Errorf("ReadFile(export) = %d layers, sequential %v, meta %v, history %v; want %d layers, sequential, origin model_a.h5, 1 event", len(back.Layers), back.Sequential, back.Meta, back.History, len(m.Layers))
			}
			for i, l := range back.Layers {
				if l.Name != m.Layers[i].Name || l.Kind != m.Layers[i].Kind || len(l.Nodes) != len(m.Layers[i].Nodes) {
					t.Errorf("layer %d = %s %s %d nodes; want %s %s %d nodes", i, l.Name, l.Kind, len(l.Nodes), m.Layers[i].Name, m.Layers[i].Kind, len(m.Layers[i].Nodes))
				}
			}
		})
	}
}

func TestExportTorchRoundTrip(t *testing.T) {
	m, err := onnximp.ReadFile(torchModelA)
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensorio.ReadFile(torchX)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile(torchY)
	if err != nil {
		t.Fatal(err)
	}
	m.Layers[2].SetTrainable(false) // dense_1 frozen
	path := exportAndCompare(t, m, 17, map[string]*model.Tensor{"input": x})
	got, rt := runExport(t, path, map[string]*model.Tensor{"input": x})
	closeTo(t, rt+"(export of torch model A) vs torch", got["output"], want, 1e-5)

	back, err := onnximp.ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile(%s) error %v", path, err)
	}
	for i, l := range back.Layers {
		if l.Name != m.Layers[i].Name || l.Trainable != m.Layers[i].Trainable {
			t.Errorf("layer %d = %s trainable %v; want %s trainable %v", i, l.Name, l.Trainable, m.Layers[i].Name, m.Layers[i].Trainable)
		}
	}
	if _, tr, nt := back.ParamCounts(); tr != 276158-30100 || nt != 30100 {
		// 30,100: dense_1's 300x100 kernel and 100 biases.
		t.Errorf("ParamCounts() after round trip = trainable %d, non-trainable %d; want %d, 30100", tr, nt, 276158-30100)
	}
	first, _ := os.ReadFile(path)
	again, err := Marshal(back, Options{Opset: 17})
	if err != nil {
		t.Fatal(err)
	}
	// The re-imported model carries a different Meta["source"], so compare
	// graphs by exporting the original twice and the round trip's graph.
	twice, _ := Marshal(m, Options{Opset: 17})
	if !bytes.Equal(first, twice) {
		t.Errorf("Marshal(m) twice gives different bytes")
	}
	b2, err := onnximp.Read(again, "again.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(layerSummary(b2)) != fmt.Sprint(layerSummary(back)) {
		t.Errorf(".onnx -> xfer -> .onnx changed layers:\n%v\nwant\n%v", layerSummary(b2), layerSummary(back))
	}
}

func layerSummary(m *model.Model) []string {
	var s []string
	for _, l := range m.Layers {
		var nodes []string
		for _, n := range l.Nodes {
			nodes = append(nodes, n.Name+":"+n.Op)
		}
		var params []string
		for _, p := range l.Params {
			params = append(params, fmt.Sprintf("%s:%s:%v:%v", p.Name, p.Role, p.Shape, p.Trainable))
		}
		s = append(s, fmt.Sprintf("%s %s %v %v %v %v %v", l.Name, l.Kind, l.Trainable, l.Inputs, l.Outputs, nodes, params))
	}
	return s
}

// oneNode builds a model of one layer holding nodes, at opset src.
func oneNode(name string, src int, in *model.Value, out string, consts []*model.Tensor, nodes ...*model.Node) *model.Model {
	return &model.Model{Name: name, Opset: src, Inputs: []*model.Value{in}, Outputs: []string{out},
		Layers: []*model.Layer{{Name: name, Kind: nodes[0].Op, Trainable: true, Inputs: []string{in.Name}, Outputs: []string{out}, Nodes: nodes, Consts: consts}}}
}

func TestExportConversions(t *testing.T) {
	x3 := &model.Value{Name: "x", DType: model.Float32, Shape: []int{-1, 3, 4}}
	x4 := &model.Value{Name: "x", DType: model.Float32, Shape: []int{-1, 3, 4, 5}}
	nd := func(op string, ins, outs []string, attrs map[string]model.Attr) *model.Node {
		return &model.Node{Name: op, Op: op, Inputs: ins, Outputs: outs, Attrs: attrs}
	}
	a := func(kv ...any) map[string]model.Attr {
		m := map[string]model.Attr{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(model.Attr)
		}
		return m
	}
	tests := []struct {
		m       *model.Model
		targets []int
		x       *model.Value
	}{
		// Opset 11 Softmax normalises over dims 1.. flattened (axis default 1).
		{oneNode("softmax11_axis1", 11, x3, "y", nil, nd("Softmax", []string{"x"}, []string{"y"}, nil)), []int{13, 17, 21}, x3},
		{oneNode("logsoftmax11_axis2", 11, x3, "y", nil, nd("LogSoftmax", []string{"x"}, []string{"y"}, a("axis", model.Int(2)))), []int{13, 21}, x3},
		{oneNode("softmax12_axis0", 12, x3, "y", nil, nd("Softmax", []string{"x"}, []string{"y"}, a("axis", model.Int(0)))), []int{13}, x3},
		{oneNode("squeeze11", 11, x3, "y", nil,
			nd("Unsqueeze", []string{"x"}, []string{"u"}, a("axes", model.Ints(1))),
			nd("Squeeze", []string{"u"}, []string{"y"}, a("axes", model.Ints(1)))), []int{13, 21}, x3},
		{oneNode("clip10", 10, x3, "y", nil, nd("Clip", []string{"x"}, []string{"y"}, a("min", model.Float(-0.5), "max", model.Float(0.25)))), []int{13}, x3},
		{oneNode("clip10_min", 10, x3, "y", nil, nd("Clip", []string{"x"}, []string{"y"}, a("min", model.Float(-0.5)))), []int{13}, x3},
		{oneNode("dropout11", 11, x3, "y", nil, nd("Dropout", []string{"x"}, []string{"y", ""}, a("ratio", model.Float(0.3)))), []int{13, 21}, x3},
		{oneNode("pad10", 10, x4, "y", nil, nd("Pad", []string{"x"}, []string{"y"}, a("pads", model.Ints(0, 0, 1, 2, 0, 0, 2, 1), "value", model.Float(1.5)))), []int{13, 18}, x4},
		{oneNode("reducemean13", 13, x4, "y", nil, nd("ReduceMean", []string{"x"}, []string{"y"}, a("axes", model.Ints(2, 3)))), []int{13, 17, 18, 21}, x4},
		{oneNode("reducemean18", 18, x4, "y", []*model.Tensor{{Name: "axes", DType: model.Int64, Shape: []int{2}, I64: []int64{-1, 1}}},
			nd("ReduceMean", []string{"x", "axes"}, []string{"y"}, a("keepdims", model.Int(0)))), []int{13, 17, 18}, x4},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range tests {
		for _, opset := range tc.targets {
			t.Run(fmt.Sprintf("%s_to_%d", tc.m.Name, opset), func(t *testing.T) {
				shape := append([]int{2}, tc.x.Shape[1:]...)
				exportAndCompare(t, tc.m, opset, map[string]*model.Tensor{"x": randTensor(rng, shape...)})
			})
		}
	}
}

func TestExportErrors(t *testing.T) {
	x := &model.Value{Name: "x", DType: model.Float32, Shape: []int{-1, 4}}
	gelu := oneNode("gelu", 20, x, "y", nil, &model.Node{Name: "g", Op: "Gelu", Inputs: []string{"x"}, Outputs: []string{"y"}})
	tests := []struct {
		name   string
		m      *model.Model
		opset  int
		substr string
	}{
		{"opset 12", gelu, 12, "opsets 13 to 21"},
		{"opset 22", gelu, 22, "opsets 13 to 21"},
		{"gelu at 17", gelu, 17, "needs opset 20"},
		{"invalid", &model.Model{Name: "empty"}, 17, "no inputs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(tc.m, Options{Opset: tc.opset})
			if err == nil || !strings.Contains(err.Error(), tc.substr) || !strings.HasPrefix(err.Error(), "onnx: ") {
				t.Errorf("Marshal(%s, opset %d) error = %v; want one containing %q", tc.name, tc.opset, err, tc.substr)
			}
		})
	}
}

// runChecker runs onnx.checker.check_model(full_check=True) from Debian's
// python3-onnx on every file the tests wrote at opsets it knows, once, after
// all tests (from TestMain, so that -run filters keep it). It returns false
// when the checker refuses one.
func runChecker() bool {
	if len(written) == 0 {
		return true
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import onnx").Run(); err != nil {
		fmt.Printf("SKIP (python3-onnx missing: apt-get install python3-onnx): %d exports NOT checked by onnx.checker: %v\n", len(written), err)
		return true
	}
	script := `import sys, onnx
bad = 0
for p in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(p), full_check=True)
    except Exception as e:
        bad += 1
        print(p, e)
sys.exit(1 if bad else 0)`
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", script}, written...)...).CombinedOutput()
	if err != nil {
		fmt.Printf("FAIL: onnx.checker.check_model(full_check=True) refused exports: %v\n%s", err, out)
		return false
	}
	if testing.Verbose() {
		fmt.Printf("onnx.checker: %d exports pass check_model(full_check=True)\n", len(written))
	}
	return true
}

func TestExportNodeNames(t *testing.T) {
	m, err := onnximp.ReadFile(torchModelA)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := Build(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// PyTorch names "/dense/Gemm" and "/dense_selu/Selu" both belong to layer
	// "dense": Netron should show "dense/Gemm" and "dense/Selu".
	want := []string{"flatten/Flatten", "dense/Gemm", "dense/Selu", "dense_1/Gemm", "dense_1/Selu"}
	for i, w := range want {
		if got := mp.Graph.Node[i].GetName(); got != w {
			t.Errorf("node %d name = %q; want %q", i, got, w)
		}
	}
	if got := mp.Graph.Initializer[0].GetName(); got != "dense/kernel" {
		t.Errorf("first initializer = %q; want dense/kernel", got)
	}
	if mp.GetIrVersion() != 8 || mp.GetOpsetImport()[0].GetVersion() != 17 {
		t.Errorf("IR %d opset %v; want IR 8, opset 17 (the default)", mp.GetIrVersion(), mp.GetOpsetImport())
	}
	in := mp.Graph.Input[0].GetType().GetTensorType().GetShape().GetDim()
	if in[0].GetDimParam() != "N" || in[1].GetDimValue() != 28 {
		t.Errorf("input dims = %v; want [N 28 28]", in)
	}
}

// TestExportTorchCNN writes the PyTorch CNN (Conv, BatchNormalization,
// MaxPool, GlobalAveragePool) at opsets 13, 17 and 21; ORT on each export
// must match the engine and torch's own output.
func TestExportTorchCNN(t *testing.T) {
	m, err := onnximp.ReadFile("../../fixtures/torch/cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensorio.ReadFile("../../fixtures/torch/cnn_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile("../../fixtures/torch/cnn_y.npy")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*model.Tensor{"input": x}
	for _, opset := range []int{13, 17, 21} {
		path := exportAndCompare(t, m, opset, in)
		got, rt := runExport(t, path, in)
		closeTo(t, fmt.Sprintf("%s(export at %d) vs torch", rt, opset), got["output"], want, 1e-5)
	}
}

// TestWriteFileIsMarshal: WriteFile streams Marshal's bytes for a model with
// a large initializer (raw data whose length takes a 3-byte varint) and a
// zero one (the golden test covers small ones, attributes and metadata).
func TestWriteFileIsMarshal(t *testing.T) {
	k := make([]float32, 300*200)
	for i := range k {
		k[i] = float32(i%97) / 31
	}
	d, err := layers.Dense(layers.DenseSpec{Name: "big", Input: "x", InFeatures: 300, Units: 200, Activation: "relu", UseBias: true, Trainable: true, Kernel: k, Bias: make([]float32, 200)})
	if err != nil {
		t.Fatal(err)
	}
	m := &model.Model{Name: "big", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 300}}},
		Outputs: d.Outputs, Layers: []*model.Layer{d}}
	want, err := Marshal(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.onnx")
	if err := WriteFile(path, m, Options{}); err != nil {
		t.Fatalf("WriteFile = %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("WriteFile wrote %d bytes; want Marshal's %d bytes, identical", len(got), len(want))
	}
}
