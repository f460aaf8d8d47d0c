package model

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// flatModel is x [-1 4] -> dense (MatMul by kernel [4 3], Add bias [3]) ->
// relu -> reshape (by a const shape [-1 3]), valid.
func flatModel() *Model {
	return &Model{
		Name: "flat", Opset: DefaultOpset,
		Inputs: []*Value{{Name: "x", DType: Float32, Shape: []int{-1, 4}}},
		Layers: []*Layer{
			{Name: "dense", Kind: "Dense", Trainable: true, Inputs: []string{"x"}, Outputs: []string{"d"},
				Params: []*Param{
					{Name: "dense/kernel", Role: "kernel", Shape: []int{4, 3}, Data: make([]float32, 12), Trainable: true},
					{Name: "dense/bias", Role: "bias", Shape: []int{3}, Data: make([]float32, 3), Trainable: true},
				},
				Nodes: []*Node{
					{Name: "dense/mm", Op: "MatMul", Inputs: []string{"x", "dense/kernel"}, Outputs: []string{"h"}},
					{Name: "dense/add", Op: "Add", Inputs: []string{"h", "dense/bias"}, Outputs: []string{"d"}},
				}},
			{Name: "relu", Kind: "ReLU", Trainable: true, Inputs: []string{"d"}, Outputs: []string{"r"},
				Nodes: []*Node{{Name: "relu/n", Op: "Relu", Inputs: []string{"d"}, Outputs: []string{"r"}}}},
			{Name: "reshape", Kind: "Reshape", Trainable: true, Inputs: []string{"r"}, Outputs: []string{"y"},
				Consts: []*Tensor{{Name: "reshape/shape", DType: Int64, Shape: []int{2}, I64: []int64{-1, 3}}},
				Nodes:  []*Node{{Name: "reshape/n", Op: "Reshape", Inputs: []string{"r", "reshape/shape"}, Outputs: []string{"y"}}}},
		},
		Outputs: []string{"y"},
	}
}

// TestValidateInvalid breaks each invariant of the package documentation
// in turn: Validate must refuse the model with ErrInvalid (ErrShape for a
// shape that does not fit its op) and name what is wrong.
func TestValidateInvalid(t *testing.T) {
	if err := flatModel().Validate(); err != nil {
		t.Fatalf("Validate(flatModel) = %v; want nil", err)
	}
	tests := []struct {
		name   string
		break_ func(m *Model)
		want   error
		substr string
	}{
		{"no inputs", func(m *Model) { m.Inputs = nil }, ErrInvalid, `model "flat" has no inputs`},
		{"no outputs", func(m *Model) { m.Outputs = nil }, ErrInvalid, `model "flat" has no outputs`},
		{"input dtype", func(m *Model) { m.Inputs[0].DType = 0 }, ErrInvalid, `graph input "x" has dtype`},
		{"empty input name", func(m *Model) { m.Inputs[0].Name = "" }, ErrInvalid, `graph input defines a value with an empty name`},
		{"layer without a name", func(m *Model) { m.Layers[1].Name = "" }, ErrInvalid, `layer 1 has no name`},
		{"two layers of one name", func(m *Model) { m.Layers[1].Name = "dense" }, ErrInvalid, `two layers are called "dense"`},
		{"dangling layer input", func(m *Model) { m.Layers[1].Inputs = []string{"nope"} }, ErrInvalid, `layer "relu": input "nope" is not produced`},
		{"layers out of order", func(m *Model) { m.Layers[0], m.Layers[1] = m.Layers[1], m.Layers[0] }, ErrInvalid, `input "d" is not produced by a graph input or an earlier layer`},
		{"value defined twice", func(m *Model) { m.Layers[1].Nodes[0].Outputs = []string{"h"}; m.Layers[1].Outputs = []string{"h"} }, ErrInvalid, `value "h" is defined twice`},
		{"param named like the input", func(m *Model) { m.Layers[0].Params[1].Name = "x"; m.Layers[0].Nodes[1].Inputs[1] = "x" }, ErrInvalid, `value "x" is defined twice`},
		{"param data length", func(m *Model) { m.Layers[0].Params[0].Data = make([]float32, 11) }, ErrInvalid, `param "dense/kernel": shape [4 3] needs 12 values, has 11`},
		{"negative param dim", func(m *Model) { m.Layers[0].Params[1].Shape = []int{-3} }, ErrInvalid, `param "dense/bias": shape [-3]`},
		{"trainable param of a frozen layer", func(m *Model) { m.Layers[0].Trainable = false }, ErrInvalid, `param "dense/kernel": trainable is true but layer trainable false`},
		{"trainable state", func(m *Model) { m.Layers[0].Params[1].State = true }, ErrInvalid, `param "dense/bias": trainable is true`},
		{"const data", func(m *Model) { m.Layers[2].Consts[0].I64 = []int64{3} }, ErrInvalid, `const "reshape/shape": dtype`},
		{"const with both kinds of data", func(m *Model) { m.Layers[2].Consts[0].F32 = []float32{1, 2} }, ErrInvalid, `const "reshape/shape": dtype`},
		{"node without an op", func(m *Model) { m.Layers[1].Nodes[0].Op = "" }, ErrInvalid, `node "relu/n" has no op`},
		{"node reads another layer's param", func(m *Model) { m.Layers[1].Nodes[0].Inputs = []string{"dense/bias"} }, ErrInvalid, `node "relu/n" reads "dense/bias", which is neither an input of the layer nor its own`},
		{"node reads a later value", func(m *Model) { m.Layers[0].Nodes[0].Inputs[0] = "d" }, ErrInvalid, `node "dense/mm" reads "d", which is not produced before it`},
		{"node reads a missing value", func(m *Model) { m.Layers[1].Nodes[0].Inputs = []string{"nope"} }, ErrInvalid, `node "relu/n" reads "nope", which is not produced before it`},
		{"layer output not its own", func(m *Model) { m.Layers[1].Outputs = []string{"x"} }, ErrInvalid, `layer "relu": output "x" is not produced by the layer`},
		{"layer output undefined", func(m *Model) { m.Layers[1].Outputs = []string{"nope"} }, ErrInvalid, `layer "relu": output "nope" is not produced by the layer`},
		{"model output undefined", func(m *Model) { m.Outputs = []string{"nope"} }, ErrInvalid, `model output "nope" is not produced by any layer`},
		{"op without a shape rule", func(m *Model) { m.Layers[1].Nodes[0].Op = "NoSuchOp" }, ErrInvalid, `op NoSuchOp is not supported`},
		{"shapes that do not fit", func(m *Model) { m.Inputs[0].Shape = []int{-1, 5} }, ErrShape, `dense/mm`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := flatModel()
			tc.break_(m)
			err := m.Validate()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("Validate() = %v; want %v containing %q", err, tc.want, tc.substr)
			}
		})
	}
}

// TestAttrIntsTo: a window attribute fills dst, absent means def, and a
// list of the wrong length or with a value beyond ±2^31 is an error.
func TestAttrIntsTo(t *testing.T) {
	n := &Node{Attrs: map[string]Attr{"strides": Ints(2, 3), "pads": Ints(1, 2, 3), "dilations": Ints(1, 1<<32)}}
	tests := []struct {
		name    string
		want    []int
		wantErr string
	}{
		{"strides", []int{2, 3}, ""},
		{"kernel_shape", []int{7, 7}, ""}, // absent: def
		{"pads", nil, "pads [1 2 3] has 3 entries, want 2"},
		{"dilations", nil, "dilations [1 4294967296]: value out of range"},
	}
	for _, tc := range tests {
		got := make([]int, 2)
		err := n.AttrIntsTo(tc.name, 7, got)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("AttrIntsTo(%s) = %v; want error %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("AttrIntsTo(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestLookups finds layers, params, nodes and constants by name and gives
// nil (or -1) for a name that is not there.
func TestLookups(t *testing.T) {
	m := flatModel()
	_, bias := m.Param("dense/bias")
	_, none := m.Param("nope")
	tests := []struct {
		name      string
		got, want any
	}{
		{"layer", m.Layer("relu"), m.Layers[1]},
		{"layer index", m.LayerIndex("reshape"), 2},
		{"param", bias, m.Layers[0].Params[1]},
		{"node", m.Node("dense/add"), m.Layers[0].Nodes[1]},
		{"const", m.Const("reshape/shape"), m.Layers[2].Consts[0]},
		{"missing layer", m.Layer("nope"), (*Layer)(nil)},
		{"missing layer index", m.LayerIndex("nope"), -1},
		{"missing param", none, (*Param)(nil)},
		{"missing node", m.Node("relu"), (*Node)(nil)},
		{"a param is not a const", m.Const("dense/kernel"), (*Tensor)(nil)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}
