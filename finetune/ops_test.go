package finetune

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// opCase is a training lowering under test: nodes of one layer reading
// "ops/in" (the model input times a trainable scale of the input's shape,
// so that the gradient with respect to the nodes' input is checked too)
// and writing "ops/out", with params "ops/<role>" of the given shapes
// (random) and consts.
type opCase struct {
	name   string
	in     []int // input shape without the batch
	params map[string][]int
	// positive lists params drawn positive (variances, divisors).
	positive []string
	consts   []*model.Tensor
	nodes    []*model.Node
	// bnBatch trains BatchNormalization on batch statistics (Config.BNMode
	// "batch"); otherwise on the moving statistics ("inference").
	bnBatch bool
	// noEngine says the engine does not run the op yet, so the agreement
	// with it is not checked (the PyTorch and finite-difference checks
	// are).
	noEngine bool
}

func ints(v ...int64) model.Attr { return model.Ints(v...) }

// opModel builds c's model: scale, the nodes, Flatten, a MatMul head of 3
// units and a Softmax.
func opModel(t testing.TB, seed int64, c opCase) *model.Model {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	m := &model.Model{Name: "op", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: append([]int{-1}, c.in...)}}}
	scale := &model.Layer{Name: "scale", Kind: "Raw", Inputs: []string{"x"}, Outputs: []string{"ops/in"}, Trainable: true,
		Params: []*model.Param{{Name: "scale/s", Role: "kernel", Shape: c.in, Data: make([]float32, model.NumElements(c.in)), Trainable: true}},
		Nodes:  []*model.Node{{Name: "scale/mul", Op: "Mul", Inputs: []string{"x", "scale/s"}, Outputs: []string{"ops/in"}}}}
	for i := range scale.Params[0].Data {
		scale.Params[0].Data[i] = float32(1 + 0.3*rng.NormFloat64())
	}
	ops := &model.Layer{Name: "ops", Kind: "Raw", Inputs: []string{"ops/in"}, Outputs: []string{"ops/out"}, Trainable: true, Nodes: c.nodes, Consts: c.consts}
	roles := make([]string, 0, len(c.params))
	for role := range c.params {
		roles = append(roles, role)
	}
	slicesSort(roles)
	for _, role := range roles {
		shape := c.params[role]
		d := make([]float32, model.NumElements(shape))
		pos := false
		for _, p := range c.positive {
			pos = pos || p == role
		}
		for i := range d {
			d[i] = float32(rng.NormFloat64() * 0.5)
			if pos {
				d[i] = float32(0.5 + rng.Float64())
			}
		}
		state := role == "mean" || role == "var"
		ops.Params = append(ops.Params, &model.Param{Name: "ops/" + role, Role: role, Shape: shape, Data: d, Trainable: !state, State: state})
	}
	m.Layers = []*model.Layer{scale, ops}
	m.Outputs = []string{"ops/out"}
	vals, err := m.InferShapes()
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	feat := model.NumElements(vals["ops/out"].Shape[1:])
	flat := &model.Layer{Name: "f", Kind: "Flatten", Inputs: []string{"ops/out"}, Outputs: []string{"f/y"},
		Nodes: []*model.Node{{Name: "f/flat", Op: "Flatten", Inputs: []string{"ops/out"}, Outputs: []string{"f/y"}}}}
	head := rawLayer(rng, "head", "f/y", "head/s", map[string][]int{"kernel": {feat, 3}},
		&model.Node{Name: "head/mm", Op: "MatMul", Inputs: []string{"f/y", "head/kernel"}, Outputs: []string{"head/z"}},
		&model.Node{Name: "head/softmax", Op: "Softmax", Inputs: []string{"head/z"}, Outputs: []string{"head/s"}, Attrs: map[string]model.Attr{"axis": model.Int(-1)}})
	m.Layers = append(m.Layers, flat, head)
	m.Outputs = []string{"head/s"}
	if err := m.Validate(); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	return m
}

func slicesSort(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

// opCases are the lowerings issue 12 asks for (and their neighbours).
func opCases() []opCase {
	f := func(v ...float32) []float32 { return v }
	return []opCase{
		{name: "depthwise conv", in: []int{3, 6, 6}, params: map[string][]int{"kernel": {3, 1, 3, 3}, "bias": {3}},
			nodes: []*model.Node{{Name: "c", Op: "Conv", Inputs: []string{"ops/in", "ops/kernel", "ops/bias"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"group": model.Int(3), "pads": ints(1, 1, 1, 1), "strides": ints(2, 1)}}}},
		{name: "grouped dilated conv", in: []int{4, 7, 7}, params: map[string][]int{"kernel": {6, 2, 2, 3}},
			nodes: []*model.Node{{Name: "c", Op: "Conv", Inputs: []string{"ops/in", "ops/kernel"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"group": model.Int(2), "dilations": ints(2, 1), "pads": ints(0, 1, 1, 0)}}}},
		{name: "depthwise multiplier 2 same", in: []int{2, 5, 5}, params: map[string][]int{"kernel": {4, 1, 3, 3}},
			nodes: []*model.Node{{Name: "c", Op: "Conv", Inputs: []string{"ops/in", "ops/kernel"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"group": model.Int(2), "auto_pad": model.String("SAME_UPPER"), "strides": ints(2, 2)}}}},
		{name: "maxpool ceil_mode", in: []int{2, 6, 7}, nodes: []*model.Node{{Name: "p", Op: "MaxPool", Inputs: []string{"ops/in"}, Outputs: []string{"ops/out"},
			Attrs: map[string]model.Attr{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "ceil_mode": model.Int(1)}}}},
		{name: "maxpool ceil_mode pads", in: []int{2, 7, 7}, nodes: []*model.Node{{Name: "p", Op: "MaxPool", Inputs: []string{"ops/in"}, Outputs: []string{"ops/out"},
			Attrs: map[string]model.Attr{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "pads": ints(1, 1, 1, 1), "ceil_mode": model.Int(1)}}}},
		{name: "avgpool ceil_mode include pad", in: []int{2, 6, 6}, nodes: []*model.Node{{Name: "p", Op: "AveragePool", Inputs: []string{"ops/in"}, Outputs: []string{"ops/out"},
			Attrs: map[string]model.Attr{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "pads": ints(1, 1, 1, 1), "ceil_mode": model.Int(1), "count_include_pad": model.Int(1)}}}},
		{name: "avgpool ceil_mode exclude pad", in: []int{2, 5, 5}, nodes: []*model.Node{{Name: "p", Op: "AveragePool", Inputs: []string{"ops/in"}, Outputs: []string{"ops/out"},
			Attrs: map[string]model.Attr{"kernel_shape": ints(2, 2), "strides": ints(2, 2), "ceil_mode": model.Int(1)}}}},
		{name: "se block", in: []int{4, 3, 3}, params: map[string][]int{"kernel": {2, 4, 1, 1}, "bias": {2}, "kernel2": {4, 2, 1, 1}, "bias2": {4}},
			nodes: []*model.Node{
				{Name: "gap", Op: "GlobalAveragePool", Inputs: []string{"ops/in"}, Outputs: []string{"ops/g"}},
				{Name: "fc1", Op: "Conv", Inputs: []string{"ops/g", "ops/kernel", "ops/bias"}, Outputs: []string{"ops/f1"}},
				{Name: "relu", Op: "Relu", Inputs: []string{"ops/f1"}, Outputs: []string{"ops/r"}},
				{Name: "fc2", Op: "Conv", Inputs: []string{"ops/r", "ops/kernel2", "ops/bias2"}, Outputs: []string{"ops/f2"}},
				{Name: "hs", Op: "HardSigmoid", Inputs: []string{"ops/f2"}, Outputs: []string{"ops/s"}, Attrs: map[string]model.Attr{"alpha": model.Float(1.0 / 6)}},
				{Name: "mul", Op: "Mul", Inputs: []string{"ops/in", "ops/s"}, Outputs: []string{"ops/m"}},
				{Name: "add", Op: "Add", Inputs: []string{"ops/m", "ops/in"}, Outputs: []string{"ops/out"}}}},
		{name: "layer scale sub div", in: []int{3, 2, 4}, params: map[string][]int{"kernel": {3, 1, 1}, "bias": {4}, "var": {1, 2, 1}}, positive: []string{"var"},
			nodes: []*model.Node{
				{Name: "sub", Op: "Sub", Inputs: []string{"ops/in", "ops/bias"}, Outputs: []string{"ops/a"}},
				{Name: "mul", Op: "Mul", Inputs: []string{"ops/kernel", "ops/a"}, Outputs: []string{"ops/b"}},
				{Name: "div", Op: "Div", Inputs: []string{"ops/b", "ops/var"}, Outputs: []string{"ops/out"}}}},
		{name: "concat", in: []int{2, 3, 3}, params: map[string][]int{"kernel": {3, 2, 1, 1}},
			nodes: []*model.Node{
				{Name: "c", Op: "Conv", Inputs: []string{"ops/in", "ops/kernel"}, Outputs: []string{"ops/c"}},
				{Name: "cat", Op: "Concat", Inputs: []string{"ops/in", "ops/c", "ops/in"}, Outputs: []string{"ops/out"}, Attrs: map[string]model.Attr{"axis": model.Int(1)}}}},
		{name: "global average pool", in: []int{3, 4, 5}, nodes: []*model.Node{{Name: "g", Op: "GlobalAveragePool", Inputs: []string{"ops/in"}, Outputs: []string{"ops/out"}}}},
		{name: "batchnorm inference", in: []int{3, 2, 2}, params: map[string][]int{"gamma": {3}, "beta": {3}, "mean": {3}, "var": {3}}, positive: []string{"var"},
			nodes: []*model.Node{{Name: "bn", Op: "BatchNormalization", Inputs: []string{"ops/in", "ops/gamma", "ops/beta", "ops/mean", "ops/var"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"epsilon": model.Float(1e-3)}}}},
		{name: "batchnorm batch statistics", in: []int{3, 2, 2}, params: map[string][]int{"gamma": {3}, "beta": {3}, "mean": {3}, "var": {3}}, positive: []string{"var"}, bnBatch: true,
			nodes: []*model.Node{{Name: "bn", Op: "BatchNormalization", Inputs: []string{"ops/in", "ops/gamma", "ops/beta", "ops/mean", "ops/var"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"epsilon": model.Float(1e-3)}}}},
		{name: "resize linear half_pixel", in: []int{2, 3, 4},
			consts: []*model.Tensor{{Name: "ops/scales", DType: model.Float32, Shape: []int{4}, F32: f(1, 1, 2, 1.5)}},
			nodes: []*model.Node{{Name: "r", Op: "Resize", Inputs: []string{"ops/in", "", "ops/scales"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"mode": model.String("linear")}}}},
		{name: "resize nearest asymmetric floor", in: []int{2, 3, 3},
			consts: []*model.Tensor{{Name: "ops/scales", DType: model.Float32, Shape: []int{4}, F32: f(1, 1, 2, 2)}},
			nodes: []*model.Node{{Name: "r", Op: "Resize", Inputs: []string{"ops/in", "", "ops/scales"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"mode": model.String("nearest"), "coordinate_transformation_mode": model.String("asymmetric"), "nearest_mode": model.String("floor")}}}},
		{name: "layer normalization", in: []int{3, 5}, params: map[string][]int{"gamma": {5}, "beta": {5}},
			nodes: []*model.Node{{Name: "ln", Op: "LayerNormalization", Inputs: []string{"ops/in", "ops/gamma", "ops/beta"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"axis": model.Int(-1), "epsilon": model.Float(1e-5)}}}},
		{name: "layer normalization two axes", in: []int{2, 3, 2}, params: map[string][]int{"gamma": {3, 2}},
			nodes: []*model.Node{{Name: "ln", Op: "LayerNormalization", Inputs: []string{"ops/in", "ops/gamma"}, Outputs: []string{"ops/out"},
				Attrs: map[string]model.Attr{"axis": model.Int(1), "epsilon": model.Float(1e-3)}}}},
	}
}

// opGrads returns the float64 gradients of the lowering of m (sparse
// categorical cross-entropy from the Softmax head's input) by param name,
// and the loss.
func opGrads(t *testing.T, m *model.Model, x, y []float64, batch int, bnMode string) (map[string][]float64, float64) {
	t.Helper()
	st := newStore(m, tensor.Float64)
	loss := lossKind{name: LossSparseCategoricalCrossentropy, logits: true, skipHead: true, width: 1}
	g, err := build(m, st, buildOpts{batch: batch, training: true, loss: &loss, grads: true, rng: rand.New(rand.NewSource(1)), bnMode: bnMode})
	if err != nil {
		t.Fatal(err)
	}
	copy(g.xbuf.([]float64), x)
	copy(g.ybuf.([]float64), y)
	if err := g.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	defer g.vm.Reset()
	out := map[string][]float64{}
	for i, n := range g.grads {
		out[g.wrtParams[i].Name] = append([]float64(nil), n.Value().Data().([]float64)...)
	}
	return out, g.loss.loss
}

// TestOpsGradients checks each lowering's gradients against central
// finite differences (float64) and its inference against the engine.
func TestOpsGradients(t *testing.T) {
	const batch = 3
	for i, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			m := opModel(t, int64(40+i), c)
			rng := rand.New(rand.NewSource(int64(i)))
			x := randVec(rng, batch*model.NumElements(c.in))
			gradCheck(t, m, lossKind{name: LossSparseCategoricalCrossentropy, logits: true, skipHead: true, width: 1}, x, []float64{0, 2, 1}, batch)
			if c.noEngine {
				return
			}
			s, err := engine.New(m)
			if err != nil {
				t.Fatal(err)
			}
			set := randomSet(t, 5, 3, c.in)
			want, err := s.Predict(set.X)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Predict(m, set.X)
			if err != nil {
				t.Fatal(err)
			}
			for j := range got.F32 {
				if d := math.Abs(float64(got.F32[j] - want.F32[j])); d > 1e-5 {
					t.Fatalf("Predict[%d] = %v; engine %v", j, got.F32[j], want.F32[j])
				}
			}
		})
	}
}

// TestOpsAgainstPyTorch checks each lowering's loss and gradients, in
// float64, against PyTorch's autograd on the same graph, inputs and params
// (testdata/torch_grads.py, one run for every case).
func TestOpsAgainstPyTorch(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import torch, numpy").Run(); err != nil {
		t.Skipf("SKIPPING: /usr/bin/python3 with torch and numpy NOT AVAILABLE: %v", err)
	}
	const batch = 3
	type result struct {
		dir    string
		params []string
		grads  map[string][]float64
		loss   float64
	}
	cases := opCases()
	res := make([]result, len(cases))
	var dirs []string
	for i, c := range cases {
		m := opModel(t, int64(60+i), c)
		rng := rand.New(rand.NewSource(int64(100 + i)))
		x := randVec(rng, batch*model.NumElements(c.in))
		for j, v := range x {
			x[j] = float64(float32(v)) // the values PyTorch reads
		}
		bnMode := "inference"
		if c.bnBatch {
			bnMode = "batch"
		}
		grads, loss := opGrads(t, m, x, []float64{2, 0, 1}, batch, bnMode)
		dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		res[i] = result{dir: dir, grads: grads, loss: loss}
		dirs = append(dirs, dir)
		writeOpSpec(t, dir, m, c, x, batch, &res[i].params)
	}
	if out, err := exec.Command("/usr/bin/python3", append([]string{"testdata/torch_grads.py"}, dirs...)...).CombinedOutput(); err != nil {
		t.Fatalf("torch_grads.py: %v\n%s", err, out)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := res[i]
			if want := readNPY64(t, filepath.Join(r.dir, "loss.npy")); math.Abs(r.loss-want[0]) > 1e-9*(1+math.Abs(r.loss)) {
				t.Errorf("loss = %v; PyTorch %v", r.loss, want[0])
			}
			for _, name := range r.params {
				want := readNPY64(t, filepath.Join(r.dir, "grad_"+strings.ReplaceAll(name, "/", "_")+".npy"))
				got := r.grads[name]
				if len(got) != len(want) {
					t.Fatalf("gradient of %s has %d values; PyTorch %d", name, len(got), len(want))
				}
				for j := range want {
					if d := math.Abs(got[j] - want[j]); d > 1e-9+1e-7*math.Abs(want[j]) {
						t.Fatalf("d loss / d %s[%d] = %.10g; PyTorch %.10g", name, j, got[j], want[j])
					}
				}
			}
		})
	}
}

// writeOpSpec writes c's graph for torch_grads.py into dir: the input,
// labels, params and consts as .npy and spec.json (every node but the
// head's Softmax: the loss reads the logits). It appends the trainable
// params' names to params.
func writeOpSpec(t *testing.T, dir string, m *model.Model, c opCase, x []float64, batch int, params *[]string) {
	t.Helper()
	x32 := make([]float32, len(x))
	for j, v := range x {
		x32[j] = float32(v)
	}
	writeNPY(t, filepath.Join(dir, "x.npy"), x32, append([]int{batch}, c.in...))
	writeNPY(t, filepath.Join(dir, "y.npy"), []float32{2, 0, 1}, []int{batch})
	spec := map[string]any{"input": "x", "output": "head/z", "bn_training": c.bnBatch}
	var nodes []map[string]any
	consts := []string{}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			writeNPY(t, filepath.Join(dir, strings.ReplaceAll(p.Name, "/", "_")+".npy"), p.Data, p.Shape)
			if p.Trainable {
				*params = append(*params, p.Name)
			} else {
				consts = append(consts, p.Name)
			}
		}
		for _, k := range l.Consts {
			writeNPY(t, filepath.Join(dir, strings.ReplaceAll(k.Name, "/", "_")+".npy"), k.F32, k.Shape)
			consts = append(consts, k.Name)
		}
		for _, n := range l.Nodes {
			if n.Op == "Softmax" && n.Outputs[0] == "head/s" {
				continue
			}
			attrs := map[string]any{}
			for k, a := range n.Attrs {
				attrs[k] = attrJSON(a)
			}
			nodes = append(nodes, map[string]any{"op": n.Op, "inputs": n.Inputs, "outputs": n.Outputs, "attrs": attrs})
		}
	}
	spec["nodes"], spec["params"], spec["consts"] = nodes, *params, consts
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func attrJSON(a model.Attr) any {
	switch a.Kind {
	case model.AttrInts:
		return a.Ints
	case model.AttrFloats:
		return a.Floats
	case model.AttrString:
		return a.String
	case model.AttrFloat:
		return a.Float
	default:
		return a.Int
	}
}

// readNPY64 reads a float64 .npy file written by numpy (little endian,
// version 1.0 header).
func readNPY64(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || string(b[1:6]) != "NUMPY" {
		t.Fatalf("%s is not a .npy file", path)
	}
	hl := int(b[8]) | int(b[9])<<8
	head := string(b[10 : 10+hl])
	if !strings.Contains(head, "'<f8'") {
		t.Fatalf("%s: header %s; want float64", path, head)
	}
	data := b[10+hl:]
	out := make([]float64, len(data)/8)
	for i := range out {
		var u uint64
		for k := 7; k >= 0; k-- {
			u = u<<8 | uint64(data[8*i+k])
		}
		out[i] = math.Float64frombits(u)
	}
	return out
}
