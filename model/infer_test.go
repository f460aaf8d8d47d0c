package model

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// shapeCase is a one-node model: graph inputs (shapes with -1 for unknown
// dims), consts, the node, and the expected output shape or error.
type shapeCase struct {
	name   string
	opset  int
	inputs []*Value
	consts []*Tensor
	node   *Node
	want   [][]int // per output; nil when wantErr is set
	// wantErr is a substring of the expected error.
	wantErr string
	// wantDType, when set, gives each output's dtype.
	wantDType []DType
}

func v(name string, dt DType, shape ...int) *Value {
	return &Value{Name: name, DType: dt, Shape: shape}
}

func ci(name string, vals ...int64) *Tensor {
	return &Tensor{Name: name, DType: Int64, Shape: []int{len(vals)}, I64: vals}
}

func nd(op string, ins []string, attrs map[string]Attr, outs ...string) *Node {
	if len(outs) == 0 {
		outs = []string{"y"}
	}
	return &Node{Name: "n", Op: op, Inputs: ins, Outputs: outs, Attrs: attrs}
}

func (c shapeCase) model() *Model {
	var outs []string
	for _, o := range c.node.Outputs {
		if o != "" {
			outs = append(outs, o)
		}
	}
	m := &Model{Name: c.name, Opset: c.opset, Inputs: c.inputs, Outputs: outs[:1]}
	l := &Layer{Name: "l", Kind: c.node.Op, Consts: c.consts, Nodes: []*Node{c.node}, Outputs: outs}
	for _, in := range c.inputs {
		l.Inputs = append(l.Inputs, in.Name)
	}
	m.Layers = []*Layer{l}
	return m
}

func TestShapeRules(t *testing.T) {
	f, i := Float32, Int64
	tests := []shapeCase{
		// Conv: (5 + 1 + 2 - 3)/2 + 1 = 3 and (5 + 0 + 1 - 3)/2 + 1 = 2.
		{name: "conv asymmetric pads", opset: 13, inputs: []*Value{v("x", f, -1, 4, 5, 5), v("w", f, 6, 2, 3, 3)},
			node: nd("Conv", []string{"x", "w"}, map[string]Attr{"group": Int(2), "strides": Ints(2, 2), "pads": Ints(1, 0, 2, 1)}),
			want: [][]int{{-1, 6, 3, 2}}},
		{name: "conv same upper", opset: 13, inputs: []*Value{v("x", f, 1, 3, 7), v("w", f, 2, 3, 3)},
			node: nd("Conv", []string{"x", "w"}, map[string]Attr{"auto_pad": String("SAME_UPPER"), "strides": Ints(2)}),
			want: [][]int{{1, 2, 4}}},
		{name: "conv channel mismatch", opset: 13, inputs: []*Value{v("x", f, 1, 3, 5, 5), v("w", f, 2, 4, 3, 3)},
			node: nd("Conv", []string{"x", "w"}, nil), wantErr: "X has 3 channels"},
		{name: "conv channels-last input", opset: 13, inputs: []*Value{v("x", f, 1, 5, 5, 3), v("w", f, 2, 3, 3, 3)},
			node: nd("Conv", []string{"x", "w"}, nil), wantErr: "channels"},
		// MaxPool ceil: (5 + 2 - 3)/2 = 2 exactly, so ceil changes nothing: 3.
		{name: "maxpool ceil", opset: 13, inputs: []*Value{v("x", f, 2, 3, 6, 5)},
			node: nd("MaxPool", []string{"x"}, map[string]Attr{"kernel_shape": Ints(3, 3), "strides": Ints(2, 2), "pads": Ints(1, 1, 1, 1), "ceil_mode": Int(1)}),
			want: [][]int{{2, 3, 4, 3}}},
		{name: "pool kernel rank", opset: 13, inputs: []*Value{v("x", f, 2, 3, 6, 5)},
			node: nd("AveragePool", []string{"x"}, map[string]Attr{"kernel_shape": Ints(3)}), wantErr: "kernel_shape"},
		{name: "global pool", opset: 13, inputs: []*Value{v("x", f, -1, 3, 6, 5)},
			node: nd("GlobalAveragePool", []string{"x"}, nil), want: [][]int{{-1, 3, 1, 1}}},
		{name: "batchnorm", opset: 15, inputs: []*Value{v("x", f, -1, 3, 4), v("s", f, 3), v("b", f, 3), v("m", f, 3), v("v", f, 3)},
			node: nd("BatchNormalization", []string{"x", "s", "b", "m", "v"}, nil), want: [][]int{{-1, 3, 4}}},
		{name: "batchnorm channels", opset: 15, inputs: []*Value{v("x", f, -1, 3, 4), v("s", f, 4), v("b", f, 4), v("m", f, 4), v("v", f, 4)},
			node: nd("BatchNormalization", []string{"x", "s", "b", "m", "v"}, nil), wantErr: "must be [C]"},
		{name: "reshape folds -1", opset: 13, inputs: []*Value{v("x", f, 2, 3, 4)}, consts: []*Tensor{ci("s", 0, -1)},
			node: nd("Reshape", []string{"x", "s"}, nil), want: [][]int{{2, 12}}},
		{name: "reshape bad size", opset: 13, inputs: []*Value{v("x", f, 2, 3, 4)}, consts: []*Tensor{ci("s", 5, -1)},
			node: nd("Reshape", []string{"x", "s"}, nil), wantErr: "does not fit"},
		{name: "reshape unknown target keeps rank", opset: 13, inputs: []*Value{v("x", f, 2, 3, 4), v("s", i, 3)},
			node: nd("Reshape", []string{"x", "s"}, nil), want: [][]int{{-1, -1, -1}}},
		{name: "squeeze attr", opset: 11, inputs: []*Value{v("x", f, 1, 3, 1)},
			node: nd("Squeeze", []string{"x"}, map[string]Attr{"axes": Ints(0)}), want: [][]int{{3, 1}}},
		{name: "squeeze not 1", opset: 13, inputs: []*Value{v("x", f, 2, 3)}, consts: []*Tensor{ci("a", 1)},
			node: nd("Squeeze", []string{"x", "a"}, nil), wantErr: "is not 1"},
		{name: "unsqueeze input", opset: 13, inputs: []*Value{v("x", f, 2, 3)}, consts: []*Tensor{ci("a", 0, -1)},
			node: nd("Unsqueeze", []string{"x", "a"}, nil), want: [][]int{{1, 2, 3, 1}}},
		{name: "concat", opset: 13, inputs: []*Value{v("a", f, -1, 2), v("b", f, -1, 3)},
			node: nd("Concat", []string{"a", "b"}, map[string]Attr{"axis": Int(-1)}), want: [][]int{{-1, 5}}},
		{name: "concat mismatch", opset: 13, inputs: []*Value{v("a", f, 4, 2), v("b", f, 3, 3)},
			node: nd("Concat", []string{"a", "b"}, map[string]Attr{"axis": Int(1)}), wantErr: "input 1 has shape"},
		{name: "gather", opset: 13, inputs: []*Value{v("x", f, 5, 4, 3)}, consts: []*Tensor{{Name: "i", DType: Int64, Shape: []int{2, 2}, I64: []int64{0, 1, -1, 2}}},
			node: nd("Gather", []string{"x", "i"}, map[string]Attr{"axis": Int(1)}), want: [][]int{{5, 2, 2, 3}}},
		{name: "gather out of range", opset: 13, inputs: []*Value{v("x", f, 5, 4)}, consts: []*Tensor{ci("i", 4)},
			node: nd("Gather", []string{"x", "i"}, map[string]Attr{"axis": Int(1)}), wantErr: "out of range"},
		{name: "shape start end", opset: 15, inputs: []*Value{v("x", f, -1, 4, 3)},
			node: nd("Shape", []string{"x"}, map[string]Attr{"start": Int(1), "end": Int(-1)}), want: [][]int{{1}}},
		{name: "pad inputs", opset: 13, inputs: []*Value{v("x", f, -1, 4)}, consts: []*Tensor{ci("p", 0, 1, 0, 2)},
			node: nd("Pad", []string{"x", "p"}, nil), want: [][]int{{-1, 7}}},
		{name: "pad length", opset: 13, inputs: []*Value{v("x", f, 3, 4)}, consts: []*Tensor{ci("p", 1, 1)},
			node: nd("Pad", []string{"x", "p"}, nil), wantErr: "pads"},
		{name: "reducesum axes input no keepdims", opset: 13, inputs: []*Value{v("x", f, -1, 4, 3)}, consts: []*Tensor{ci("a", 1)},
			node: nd("ReduceSum", []string{"x", "a"}, map[string]Attr{"keepdims": Int(0)}), want: [][]int{{-1, 3}}},
		{name: "reducemean attr axes", opset: 13, inputs: []*Value{v("x", f, -1, 4, 3)},
			node: nd("ReduceMean", []string{"x"}, map[string]Attr{"axes": Ints(-1)}), want: [][]int{{-1, 4, 1}}},
		{name: "matmul batch", opset: 13, inputs: []*Value{v("a", f, 2, 1, 3, 4), v("b", f, 5, 4, 6)},
			node: nd("MatMul", []string{"a", "b"}, nil), want: [][]int{{2, 5, 3, 6}}},
		{name: "matmul inner", opset: 13, inputs: []*Value{v("a", f, 3, 4), v("b", f, 5, 6)},
			node: nd("MatMul", []string{"a", "b"}, nil), wantErr: "inner dims differ"},
		{name: "add dtype", opset: 13, inputs: []*Value{v("a", f, 3), v("b", i, 3)},
			node: nd("Add", []string{"a", "b"}, nil), wantErr: "dtype"},
		{name: "prelu slope too big", opset: 13, inputs: []*Value{v("x", f, 2, 3), v("s", f, 2, 2, 3)},
			node: nd("PRelu", []string{"x", "s"}, nil), wantErr: "slope"},
		{name: "softmax axis", opset: 13, inputs: []*Value{v("x", f, 2, 3)},
			node: nd("Softmax", []string{"x"}, map[string]Attr{"axis": Int(2)}), wantErr: "axis 2 out of range"},
		{name: "cast to int64", opset: 13, inputs: []*Value{v("x", f, 2)},
			node: nd("Cast", []string{"x"}, map[string]Attr{"to": Int(7)}), want: [][]int{{2}}},
		{name: "constant ints", opset: 13, inputs: []*Value{v("x", f, 2)},
			node: nd("Constant", nil, map[string]Attr{"value_ints": Ints(1, 2, 3)}), want: [][]int{{3}}},
		{name: "clip bounds", opset: 13, inputs: []*Value{v("x", f, 2), v("lo", f, 2)},
			node: nd("Clip", []string{"x", "lo"}, nil), wantErr: "scalar"},
	}
	runShapeCases(t, tests)
}

// runShapeCases infers each case's shapes and compares the output shapes
// (and dtypes, where the case gives them) or the error.
func runShapeCases(t *testing.T, tests []shapeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, err := tt.model().InferShapes()
			if tt.wantErr != "" {
				if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("InferShapes(%s) = %v; want ErrShape containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("InferShapes(%s) = %v", tt.name, err)
			}
			for k, want := range tt.want {
				if tt.node.Outputs[k] == "" {
					continue // an omitted optional output
				}
				got := vals[tt.node.Outputs[k]]
				if !slices.Equal(got.Shape, want) {
					t.Errorf("InferShapes(%s) output %d = %v; want %v", tt.name, k, got.Shape, want)
				}
				if k < len(tt.wantDType) && got.DType != tt.wantDType[k] {
					t.Errorf("InferShapes(%s) output %d dtype = %v; want %v", tt.name, k, got.DType, tt.wantDType[k])
				}
			}
		})
	}
}

// TestFoldShapeArithmetic checks that Shape -> Gather -> Unsqueeze -> Concat
// -> Reshape (the PyTorch flatten idiom) keeps a known Reshape shape, and
// that int64 Mul folds too.
func TestFoldShapeArithmetic(t *testing.T) {
	m := &Model{Name: "fold", Opset: 13,
		Inputs:  []*Value{v("x", Float32, 4, 2, 3)},
		Outputs: []string{"y"},
		Layers: []*Layer{{Name: "l", Kind: "Reshape", Inputs: []string{"x"}, Outputs: []string{"y"},
			Consts: []*Tensor{{Name: "zero", DType: Int64, Shape: []int{}, I64: []int64{0}}, ci("axes", 0), ci("six", 6), ci("one", 1)},
			Nodes: []*Node{
				{Name: "shape", Op: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
				{Name: "gather", Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"n"}},
				{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"n", "axes"}, Outputs: []string{"n1"}},
				{Name: "mul", Op: "Mul", Inputs: []string{"six", "one"}, Outputs: []string{"six1"}},
				{Name: "concat", Op: "Concat", Inputs: []string{"n1", "six1"}, Outputs: []string{"target"}, Attrs: map[string]Attr{"axis": Int(0)}},
				{Name: "reshape", Op: "Reshape", Inputs: []string{"x", "target"}, Outputs: []string{"y"}},
			}}},
	}
	vals, err := m.InferShapes()
	if err != nil {
		t.Fatal(err)
	}
	if got := vals["y"].Shape; !slices.Equal(got, []int{4, 6}) {
		t.Errorf("Reshape by folded target: shape %v; want [4 6]", got)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestEveryEngineOpHasARule(t *testing.T) {
	// The operators the engine runs (engine.SupportedOps); model cannot
	// import engine, so the list is repeated here and checked both ways by
	// engine's TestSupportedOpsHaveShapeRules.
	for _, op := range []string{"Abs", "Add", "AveragePool", "BatchNormalization", "Cast", "Celu", "Clip", "Concat",
		"Constant", "Conv", "Div", "Dropout", "Elu", "Erf", "Exp", "Flatten", "Gather", "Gelu", "Gemm",
		"GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "Log",
		"LogSoftmax", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mish", "Mul", "Neg", "PRelu", "Pad", "Pow",
		"Reciprocal", "ReduceMax", "ReduceMean", "ReduceSum", "Relu", "Reshape", "Selu", "Shape", "Sigmoid",
		"Softmax", "Softplus", "Softsign", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "ThresholdedRelu",
		"Transpose", "Unsqueeze"} {
		if _, ok := shapeRules[op]; !ok {
			t.Errorf("op %s has no shape rule", op)
		}
	}
}

func TestReshapeDims(t *testing.T) {
	cases := []struct {
		in        []int
		spec      []int64
		allowZero bool
		want      []int
		wantErr   string
	}{
		{[]int{2, 3, 4}, []int64{0, -1}, false, []int{2, 12}, ""},
		{[]int{2, 3, 4}, []int64{-1}, false, []int{24}, ""},
		{[]int{-1, 3, 4}, []int64{0, -1}, false, []int{-1, -1}, ""}, // the element count is unknown
		{[]int{-1, 3, 4}, []int64{-1, 12}, false, []int{-1, 12}, ""},
		{[]int{0, 3}, []int64{0, -1}, false, []int{0, 0}, ""}, // no elements: the -1 is 0
		{[]int{0, 3}, []int64{3, -1}, false, []int{3, 0}, ""},
		{[]int{0, 3}, []int64{0, 5}, true, []int{0, 5}, ""},
		{[]int{2, 3}, []int64{0, -1, 0}, true, nil, "cannot infer"},
		{[]int{2, 3}, []int64{4, -1}, false, nil, "does not fit"},
		{[]int{2, 3}, []int64{5}, false, nil, "does not fit"},
		{[]int{2, 3}, []int64{-1, -1}, false, nil, "more than one -1"},
		{[]int{2, 3}, []int64{0, 0, 0}, false, nil, "no such dim"},
		{[]int{2, 3}, []int64{-2, 3}, false, nil, "negative"},
	}
	for _, c := range cases {
		got, err := ReshapeDims(c.in, c.spec, c.allowZero)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if !slices.Equal(got, c.want) || (c.wantErr == "") != (err == nil) || !strings.Contains(msg, c.wantErr) {
			t.Errorf("ReshapeDims(%v, %v, %v) = %v, %v; want %v and an error containing %q", c.in, c.spec, c.allowZero, got, err, c.want, c.wantErr)
		}
	}
}
