package model

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// nestedModel is the shape of the Keras transfer-learning model:
//
//	x -> base [ base/in (InputLayer), base/a (Relu), base/b (Dense) ] -> head (Relu)
//
// with a shared Dense called twice at the top level ("sh", "sh@1").
func nestedModel() *Model {
	f := false
	relu := func(name, scope, in, out string) *Layer {
		return &Layer{Name: name, Kind: "ReLU", Scope: scope, Inputs: []string{in}, Outputs: []string{out}, Trainable: true,
			Nodes: []*Node{{Name: name + "/n", Op: "Relu", Inputs: []string{in}, Outputs: []string{out}}}}
	}
	dense := func(name, scope, in, out, kernel string, own bool) *Layer {
		l := &Layer{Name: name, Kind: "Dense", Scope: scope, Inputs: []string{in}, Outputs: []string{out}, Trainable: true,
			Nodes: []*Node{{Name: name + "/mm", Op: "MatMul", Inputs: []string{in, kernel}, Outputs: []string{out}}}}
		if own {
			l.Params = []*Param{{Name: kernel, Role: "kernel", Shape: []int{4, 4}, Data: make([]float32, 16), Trainable: true}}
		}
		return l
	}
	m := &Model{
		Name: "transfer", Opset: DefaultOpset,
		Inputs: []*Value{{Name: "x", DType: Float32, Shape: []int{-1, 4}}},
		Layers: []*Layer{
			{Name: "x", Kind: "InputLayer", Inputs: []string{"x"}, Outputs: []string{"x"}, Trainable: true},
			{Name: "base/in", Kind: "InputLayer", Scope: "base", Inputs: []string{"x"}, Outputs: []string{"x"}, Trainable: true},
			relu("base/a", "base", "x", "a"),
			dense("base/b", "base", "a", "b", "base/b/kernel", true),
			relu("head", "", "b", "h"),
			dense("sh", "", "h", "s0", "sh/kernel", true),
			dense("sh@1", "", "s0", "s1", "sh/kernel", false),
		},
		Outputs:   []string{"s1"},
		Submodels: []*Submodel{{Name: "base", Kind: "Functional", Trainable: true, Training: &f, Inputs: []string{"x"}, Outputs: []string{"b"}}},
	}
	m.Layers[6].Shares = "sh"
	return m
}

func TestNestedValid(t *testing.T) {
	m := nestedModel()
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate() = %v; want nil", err)
	}
	var got []string
	for _, it := range m.Items("") {
		got = append(got, it.Name())
	}
	if want := []string{"x", "base", "head", "sh"}; !slices.Equal(got, want) {
		t.Errorf("Items(\"\") = %v; want %v", got, want)
	}
	got = got[:0]
	for _, it := range m.Items("base") {
		got = append(got, it.Name())
	}
	if want := []string{"base/in", "base/a", "base/b"}; !slices.Equal(got, want) {
		t.Errorf("Items(\"base\") = %v; want %v", got, want)
	}
	if lo, hi := m.SubmodelRange("base"); lo != 1 || hi != 4 {
		t.Errorf("SubmodelRange(base) = %d, %d; want 1, 4", lo, hi)
	}
	if !m.InferenceOnly(m.Layer("base/b")) || m.InferenceOnly(m.Layer("head")) {
		t.Errorf("InferenceOnly: base/b %v, head %v; want true, false", m.InferenceOnly(m.Layer("base/b")), m.InferenceOnly(m.Layer("head")))
	}
	// Freezing the nested model freezes its layers' params, not its layers' flags.
	m.Submodels[0].Trainable = false
	m.SyncTrainable()
	if p := m.Layer("base/b").Params[0]; p.Trainable || !m.Layer("base/b").Trainable {
		t.Errorf("after freezing base: param trainable %v, layer flag %v; want false, true", p.Trainable, m.Layer("base/b").Trainable)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate() after SyncTrainable = %v; want nil", err)
	}
	if tot, tr, nt := m.SubmodelParamCounts("base"); tot != 16 || tr != 0 || nt != 16 {
		t.Errorf("SubmodelParamCounts(base) = %d, %d, %d; want 16, 0, 16", tot, tr, nt)
	}
	if tot, _, _ := m.ParamCounts(); tot != 32 {
		t.Errorf("ParamCounts() total = %d; want 32 (the shared kernel counted once)", tot)
	}
	c := m.Clone()
	c.Submodels[0].Inputs[0] = "changed"
	*c.Submodels[0].Training = true
	if m.Submodels[0].Inputs[0] != "x" || *m.Submodels[0].Training {
		t.Errorf("Clone shares memory with its source")
	}
}

func TestNestedInvalid(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(m *Model)
		want   string
	}{
		{"unknown scope", func(m *Model) { m.Layers[2].Scope = "nope"; m.Layers[2].Name = "nope/a" }, `scope "nope" names no nested model`},
		{"name without scope prefix", func(m *Model) { m.Layers[2].Name = "a" }, `must be called "base/a"`},
		{"slash without scope", func(m *Model) { m.Layers[4].Name = "x/head" }, `has no scope`},
		{"duplicate nested model", func(m *Model) { m.Submodels = append(m.Submodels, m.Submodels[0].Clone()) }, `two nested models`},
		{"bad kind", func(m *Model) { m.Submodels[0].Kind = "Model" }, `kind "Model"`},
		{"parent missing", func(m *Model) { m.Submodels[0].Name = "outer/base" }, `parent "outer"`},
		{"not contiguous", func(m *Model) {
			m.Layers[3], m.Layers[4] = m.Layers[4], m.Layers[3]
			m.Layers[3].Inputs = []string{"a"}
			m.Layers[3].Nodes[0].Inputs = []string{"a"}
			m.Submodels[0].Outputs = []string{"b"}
		}, `must be contiguous`},
		{"reads an inner value", func(m *Model) { m.Layers[4].Inputs = []string{"a"}; m.Layers[4].Nodes[0].Inputs = []string{"a"} }, `from inside nested model "base", which does not return it`},
		{"reads an outside value", func(m *Model) { m.Submodels[0].Inputs = []string{"y"} }, `input "y" is not defined`},
		{"output not inside", func(m *Model) { m.Submodels[0].Outputs = []string{"h"} }, `output "h" is not produced by its layers`},
		{"no inputs", func(m *Model) { m.Submodels[0].Inputs = nil }, `needs inputs and outputs`},
		{"nested model without a name", func(m *Model) { m.Submodels[0].Name = "" }, `a nested model has no name`},
		{"nested model without layers", func(m *Model) {
			m.Submodels = append(m.Submodels, &Submodel{Name: "empty", Kind: "Sequential", Trainable: true, Inputs: []string{"x"}, Outputs: []string{"x"}})
		}, `nested model "empty" has no layers`},
		{"input produced inside", func(m *Model) { m.Submodels[0].Inputs = []string{"a"} }, `input "a" is not produced before its layers`},
		{"shares a later layer", func(m *Model) { m.Layers[6].Shares = "nope" }, `not an earlier layer`},
		{"call site with params", func(m *Model) {
			m.Layers[6].Params = []*Param{{Name: "sh@1/bias", Role: "bias", Shape: []int{4}, Data: make([]float32, 4), Trainable: true}}
		}, `no params or config of its own`},
		{"call site of another kind", func(m *Model) { m.Layers[6].Kind = "Conv2D" }, `must have its kind`},
		{"shares a call site", func(m *Model) {
			// sh@2 calls sh@1, itself a call site of sh: only the owner may be shared.
			m.Layers = append(m.Layers, &Layer{Name: "sh@2", Kind: "Dense", Shares: "sh@1", Inputs: []string{"s1"}, Outputs: []string{"s2"}, Trainable: true,
				Nodes: []*Node{{Name: "sh@2/n", Op: "Relu", Inputs: []string{"s1"}, Outputs: []string{"s2"}}}})
			m.Outputs = []string{"s2"}
		}, `shares the weights of "sh@1", itself a call site of "sh"`},
		{"reads a value it is not called on", func(m *Model) {
			// base/a reads a second graph input, which base is not called on.
			m.Inputs = append(m.Inputs, &Value{Name: "x2", DType: Float32, Shape: []int{-1, 4}})
			m.Layers[2].Inputs = []string{"x2"}
			m.Layers[2].Nodes[0].Inputs = []string{"x2"}
		}, `layer "base/a" of nested model "base" reads "x2", which is not an input of "base"`},
		{"param flag ignores frozen base", func(m *Model) { m.Submodels[0].Trainable = false }, `nested in a frozen model: true`},
		{"ordinary layer reads another's kernel", func(m *Model) { m.Layers[6].Shares = "" }, `neither an input of the layer nor its own`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := nestedModel()
			tc.break_(m)
			err := m.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v; want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}
