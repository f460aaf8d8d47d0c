package engine

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// close32 reports whether got is within atol + rtol*|want| of want, the
// ONNX node-test tolerance (rtol 1e-3, atol 1e-7) unless the caller asks for
// a tighter one.
func close32(got, want []float32, atol, rtol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) && math.IsNaN(g) {
			continue
		}
		if math.IsInf(w, 0) && g == w {
			continue
		}
		if math.Abs(g-w) > atol+rtol*math.Abs(w) {
			return false
		}
	}
	return true
}

// smallDense is Dense(4, selu) then Dense(2, softmax) on 3 features.
func smallDense(t testing.TB) *model.Model {
	t.Helper()
	k1 := make([]float32, 12)
	for i := range k1 {
		k1[i] = (float32(i) - 5.5) / 10
	}
	k2 := make([]float32, 8)
	for i := range k2 {
		k2[i] = (float32(i) - 3.5) / 5
	}
	l1, err := layers.Dense(layers.DenseSpec{Name: "d1", Input: "x", InFeatures: 3, Units: 4, Activation: "selu", UseBias: true, Trainable: true, Kernel: k1, Bias: []float32{0.1, -0.2, 0.3, -0.4}})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := layers.Dense(layers.DenseSpec{Name: "d2", Input: l1.Outputs[0], InFeatures: 4, Units: 2, Activation: "softmax", UseBias: true, Trainable: true, Kernel: k2, Bias: []float32{0.05, -0.05}})
	if err != nil {
		t.Fatal(err)
	}
	return &model.Model{
		Name: "small", Opset: model.DefaultOpset,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 3}}},
		Outputs: []string{l2.Outputs[0]}, Layers: []*model.Layer{l1, l2},
	}
}

func TestPredictDense(t *testing.T) {
	s, err := New(smallDense(t))
	if err != nil {
		t.Fatal(err)
	}
	x := &model.Tensor{DType: model.Float32, Shape: []int{2, 3}, F32: []float32{0.5, -1, 2, -0.25, 0.75, -1.5}}
	// Computed with numpy 1.24 (/usr/bin/python3): x@k1+b1, SELU, @k2+b2, softmax.
	want := []float32{0.4104009, 0.58959913, 0.65750355, 0.3424964}
	for run := range 3 { // repeated runs reuse buffers and must agree
		y, err := s.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y.Shape, []int{2, 2}) || !close32(y.F32, want, 1e-6, 1e-6) {
			t.Fatalf("run %d: Predict(x) = %v %v; want [2 2] %v", run, y.Shape, y.F32, want)
		}
	}
	// Batch 1 takes the one-row product path.
	y, err := s.Predict(&model.Tensor{DType: model.Float32, Shape: []int{1, 3}, F32: x.F32[3:]})
	if err != nil {
		t.Fatal(err)
	}
	if !close32(y.F32, want[2:], 1e-6, 1e-6) {
		t.Errorf("Predict(x[1:]) = %v; want %v", y.F32, want[2:])
	}
}

func TestRunOutputsDoNotAlias(t *testing.T) {
	s, err := New(smallDense(t))
	if err != nil {
		t.Fatal(err)
	}
	x1 := &model.Tensor{DType: model.Float32, Shape: []int{1, 3}, F32: []float32{1, 2, 3}}
	x2 := &model.Tensor{DType: model.Float32, Shape: []int{1, 3}, F32: []float32{-3, 0, 1}}
	y1, err := s.Predict(x1)
	if err != nil {
		t.Fatal(err)
	}
	keep := slices.Clone(y1.F32)
	if _, err := s.Predict(x2); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y1.F32, keep) {
		t.Errorf("second Run changed the first result: %v, was %v", y1.F32, keep)
	}
	if !slices.Equal(x1.F32, []float32{1, 2, 3}) {
		t.Errorf("Run modified its input: %v", x1.F32)
	}
}

func TestRunInputErrors(t *testing.T) {
	s, err := New(smallDense(t))
	if err != nil {
		t.Fatal(err)
	}
	f := func(shape ...int) *model.Tensor {
		return &model.Tensor{DType: model.Float32, Shape: shape, F32: make([]float32, numel(shape))}
	}
	tests := []struct {
		name   string
		inputs map[string]*model.Tensor
		want   string
	}{
		{"missing", map[string]*model.Tensor{}, `missing input "x"`},
		{"extra", map[string]*model.Tensor{"x": f(1, 3), "y": f(1)}, `no input "y"`},
		{"rank", map[string]*model.Tensor{"x": f(3)}, `input "x" has shape [3]`},
		{"dim", map[string]*model.Tensor{"x": f(2, 4)}, `input "x" has shape [2 4]`},
		{"dtype", map[string]*model.Tensor{"x": {DType: model.Int64, Shape: []int{1, 3}, I64: make([]int64, 3)}}, `input "x" has dtype int64`},
		{"data", map[string]*model.Tensor{"x": {DType: model.Float32, Shape: []int{1, 3}, F32: make([]float32, 2)}}, `needs 3 values, has 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Run(tt.inputs)
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run(%s) = %v; want ErrInput containing %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestNewUnsupportedOp(t *testing.T) {
	m := &model.Model{
		Name: "odd", Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2}}},
		Outputs: []string{"y"},
		Layers: []*model.Layer{{Name: "l", Kind: "Odd", Inputs: []string{"x"}, Outputs: []string{"y"},
			Nodes: []*model.Node{{Name: "n", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}}},
	}
	if _, err := New(m); err != nil {
		t.Fatalf("New(relu model) = %v", err)
	}
	m.Layers[0].Nodes[0].Op = "Gelu"
	m.Opset = 17 // Gelu exists from opset 20
	_, err := New(m)
	if !errors.Is(err, model.ErrUnsupported) || !strings.Contains(err.Error(), `node "n"`) || !strings.Contains(err.Error(), "opset >= 20") {
		t.Errorf("New(Gelu at opset 17) = %v; want model.ErrUnsupported naming the node and opset 20", err)
	}
}

func TestModelAShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s, err := New(modelA(t, rng))
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 5, 64} {
		y, err := s.Predict(randTensor(rng, batch, 28, 28))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y.Shape, []int{batch, 8}) {
			t.Fatalf("Predict(batch %d) shape = %v; want [%d 8]", batch, y.Shape, batch)
		}
		for i := range batch {
			var sum float64
			for _, v := range y.F32[i*8 : i*8+8] {
				sum += float64(v)
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Errorf("batch %d row %d: softmax sums to %v; want 1", batch, i, sum)
			}
		}
	}
}

func TestSupportedOpsHaveShapeRules(t *testing.T) {
	rules := model.SupportedOps()
	for _, op := range SupportedOps() {
		if !slices.Contains(rules, op) {
			t.Errorf("engine runs %s but package model has no shape rule for it", op)
		}
	}
}

// TestDeterministic runs model A twice at each thread count: results must
// be bit-identical for a fixed count and agree closely across counts.
func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	s, err := New(modelA(t, rng))
	if err != nil {
		t.Fatal(err)
	}
	defer SetThreads(0)
	x := randTensor(rng, 300, 28, 28)
	var first []float32
	for _, th := range []int{1, 2, 3} {
		SetThreads(th)
		a, err := s.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.F32, b.F32) {
			t.Errorf("threads %d: two runs differ", th)
		}
		if first == nil {
			first = a.F32
		} else if !close32(a.F32, first, 1e-6, 1e-5) {
			t.Errorf("threads %d: result differs from threads 1 beyond 1e-6", th)
		}
	}
}

// TestOutputCeiling: an output the memory ceiling cannot hold is an error
// naming the node and XFER_MAX_MEMORY, before anything is allocated: here a
// broadcasting Add of [100000,1] and [1,100000] (40 GB of float32 from
// 800 KB of input).
func TestOutputCeiling(t *testing.T) {
	defer limits.Set(1 << 30)()
	n := 100000
	a := &model.Tensor{DType: model.Float32, Shape: []int{n, 1}, F32: make([]float32, n)}
	b := &model.Tensor{DType: model.Float32, Shape: []int{1, n}, F32: make([]float32, n)}
	runError(t, opCase{name: "broadcast bomb", op: "Add", opset: 14, ins: []*model.Tensor{a, b}, want: []*model.Tensor{nil}},
		`node "n" (Add): output of shape [100000 100000] needs 37.3GiB, larger than xfer's memory ceiling of 1GiB (set XFER_MAX_MEMORY`)
	// The same model on small inputs runs.
	runCases(t, []opCase{{name: "broadcast", op: "Add", opset: 14, ins: []*model.Tensor{f32([]int{2, 1}, 1, 2), f32([]int{1, 2}, 10, 20)},
		want: []*model.Tensor{f32([]int{2, 2}, 11, 21, 12, 22)}}})
}
