package engine

import (
	"slices"
	"testing"

	"github.com/xferml/xfer/model"
)

func TestShapeOps(t *testing.T) { runCases(t, shapeCases) }

func TestConstant(t *testing.T) {
	tests := []struct {
		name string
		attr string
		a    model.Attr
		want *model.Tensor
	}{
		{"value tensor", "value", model.Attr{Kind: model.AttrTensor, Tensor: f32([]int{2}, 1.5, -2)}, f32([]int{2}, 1.5, -2)},
		{"value_float", "value_float", model.Float(0.25), f32([]int{}, 0.25)},
		{"value_floats", "value_floats", model.Floats(1, 2, 3), f32([]int{3}, 1, 2, 3)},
		{"value_int", "value_int", model.Int(-4), i64([]int{}, -4)},
		{"value_ints", "value_ints", model.Ints(7, 8), i64([]int{2}, 7, 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Constant + Identity: a graph needs an input, so add the
			// constant to it (0 + value, dtype-matched).
			m := &model.Model{Name: "const", Opset: 13,
				Inputs:  []*model.Value{{Name: "x", DType: tt.want.DType, Shape: []int{1}}},
				Outputs: []string{"y"},
				Layers: []*model.Layer{{Name: "l", Kind: "Constant", Inputs: []string{"x"}, Outputs: []string{"y"},
					Nodes: []*model.Node{
						{Name: "c", Op: "Constant", Outputs: []string{"c"}, Attrs: map[string]model.Attr{tt.attr: tt.a}},
						{Name: "add", Op: "Add", Inputs: []string{"c", "x"}, Outputs: []string{"y"}},
					}}},
			}
			s, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			x := &model.Tensor{DType: tt.want.DType, Shape: []int{1}, F32: nil}
			if x.DType == model.Float32 {
				x.F32 = []float32{0}
			} else {
				x.I64 = []int64{0}
			}
			y, err := s.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			wantShape := tt.want.Shape
			if len(wantShape) == 0 {
				wantShape = []int{1}
			}
			if !slices.Equal(y.Shape, wantShape) || !slices.Equal(y.F32, tt.want.F32) || !slices.Equal(y.I64, tt.want.I64) {
				t.Errorf("Constant(%s) + 0 = %v %v%v; want %v %v%v", tt.attr, y.Shape, y.F32, y.I64, wantShape, tt.want.F32, tt.want.I64)
			}
		})
	}
}

// TestShapeArithmetic runs the PyTorch flatten pattern Shape -> Gather ->
// Unsqueeze -> Concat -> Reshape on int64 values and checks that shape
// inference folds the target while the batch is known.
func TestShapeArithmetic(t *testing.T) {
	m := &model.Model{Name: "flat", Opset: 13,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2, 3}}},
		Outputs: []string{"y"},
		Layers: []*model.Layer{{Name: "l", Kind: "Reshape", Inputs: []string{"x"}, Outputs: []string{"y"},
			Consts: []*model.Tensor{
				{Name: "zero", DType: model.Int64, Shape: []int{}, I64: []int64{0}},
				{Name: "axes", DType: model.Int64, Shape: []int{1}, I64: []int64{0}},
				{Name: "minus1", DType: model.Int64, Shape: []int{1}, I64: []int64{-1}},
			},
			Nodes: []*model.Node{
				{Name: "shape", Op: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
				{Name: "gather", Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"n"}},
				{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"n", "axes"}, Outputs: []string{"n1"}},
				{Name: "concat", Op: "Concat", Inputs: []string{"n1", "minus1"}, Outputs: []string{"target"}, Attrs: map[string]model.Attr{"axis": model.Int(0)}},
				{Name: "reshape", Op: "Reshape", Inputs: []string{"x", "target"}, Outputs: []string{"y"}},
			}}},
	}
	s, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	x := f32([]int{2, 2, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	y, err := s.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape, []int{2, 6}) || !slices.Equal(y.F32, x.F32) {
		t.Errorf("flatten pattern = %v %v; want [2 6] %v", y.Shape, y.F32, x.F32)
	}
	m.Inputs[0].Shape = []int{4, 2, 3}
	shapes, err := m.InferShapes()
	if err != nil {
		t.Fatal(err)
	}
	if got := shapes["y"].Shape; !slices.Equal(got, []int{4, 6}) {
		t.Errorf("InferShapes: y shape = %v; want [4 6] (folded Reshape target)", got)
	}
}

func TestShapeErrors(t *testing.T) {
	x := f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	runError(t, opCase{name: "reshape size", op: "Reshape", opset: 14, ins: []*model.Tensor{x, i64([]int{1}, 4)}, want: []*model.Tensor{nil}}, "does not fit")
	runError(t, opCase{name: "gather range", op: "Gather", opset: 13, ins: []*model.Tensor{x, i64([]int{1}, 2)}, want: []*model.Tensor{nil}}, "out of range")
	runError(t, opCase{name: "squeeze non-1", op: "Squeeze", opset: 11, attrs: map[string]model.Attr{"axes": model.Ints(0)}, ins: []*model.Tensor{x}, want: []*model.Tensor{nil}}, "not 1")
	runError(t, opCase{name: "cast string", op: "Cast", opset: 13, attrs: map[string]model.Attr{"to": model.Int(8)}, ins: []*model.Tensor{x}, want: []*model.Tensor{nil}}, "data type 8")
	runError(t, opCase{name: "dropout training", op: "Dropout", opset: 13, ins: []*model.Tensor{x, f32([]int{}, 0.5), i64([]int{}, 1)}, consts: []int{1, 2}, want: []*model.Tensor{nil}}, "training_mode")
}

// Cases computed with numpy 1.24 (/usr/bin/python3, engine/testdata/gencases/g3.py, seed 7).
var shapeCases = []opCase{
	{name: "flatten axis 2", op: "Flatten", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(2)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{6, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)}},
	{name: "flatten axis 0", op: "Flatten", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{1, 24}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)}},
	{name: "flatten axis -1", op: "Flatten", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(-1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{6, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)}},
	{name: "reshape 0 and -1", op: "Reshape", opset: 14, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), i64([]int{2}, 0, -1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 12}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)}},
	{name: "reshape input shape", op: "Reshape", opset: 14, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), i64([]int{3}, 4, -1, 2)},
		want: []*model.Tensor{f32([]int{4, 3, 2}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)}},
	{name: "transpose perm", op: "Transpose", opset: 13, attrs: map[string]model.Attr{"perm": model.Ints(2, 0, 1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{4, 2, 3}, 0.001, -0.455, -0.492, 0.105, -1.344, -1.842, 0.299, -0.992, -0.62, -0.93, -0.458, -0.235, -0.274, 0.06, 0.49, -0.029, -1.901, -1.267, -0.891, 1.34, 0.357, 0.695, -1.29, 0.271)}},
	{name: "transpose default reverses", op: "Transpose", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{4, 3, 2}, 0.001, 0.105, -0.455, -1.344, -0.492, -1.842, 0.299, -0.93, -0.992, -0.458, -0.62, -0.235, -0.274, -0.029, 0.06, -1.901, 0.49, -1.267, -0.891, 0.695, 1.34, -1.29, 0.357, 0.271)}},
	{name: "transpose int64", op: "Transpose", opset: 13, attrs: map[string]model.Attr{"perm": model.Ints(1, 0)},
		ins:  []*model.Tensor{i64([]int{2, 3}, 1, 2, 3, 4, 5, 6)},
		want: []*model.Tensor{i64([]int{3, 2}, 1, 4, 2, 5, 3, 6)}},
	{name: "squeeze opset 11 axes attr", op: "Squeeze", opset: 11, attrs: map[string]model.Attr{"axes": model.Ints(1)},
		ins:  []*model.Tensor{f32([]int{2, 1, 3, 1}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113)},
		want: []*model.Tensor{f32([]int{2, 3, 1}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113)}},
	{name: "squeeze opset 13 axes input", op: "Squeeze", opset: 13, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 1, 3, 1}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113), i64([]int{2}, -1, 1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 3}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113)}},
	{name: "squeeze no axes", op: "Squeeze", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 1, 3, 1}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113)},
		want: []*model.Tensor{f32([]int{2, 3}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113)}},
	{name: "unsqueeze opset 11 attr", op: "Unsqueeze", opset: 11, attrs: map[string]model.Attr{"axes": model.Ints(0, 3)},
		ins:  []*model.Tensor{f32([]int{2, 3}, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808)},
		want: []*model.Tensor{f32([]int{1, 2, 3, 1}, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808)}},
	{name: "unsqueeze opset 13 input", op: "Unsqueeze", opset: 13, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3}, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808), i64([]int{1}, -1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 3, 1}, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808)}},
	{name: "concat float axis 1", op: "Concat", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 1, 2}, -0.033, 0.884, -0.584, -0.112), f32([]int{2, 3, 2}, 0.11, 0.064, -1.225, 0.076, 1.359, -1.547, 0.859, 0.119, -0.641, 2.0, 0.762, -1.199)},
		want: []*model.Tensor{f32([]int{2, 4, 2}, -0.033, 0.884, 0.11, 0.064, -1.225, 0.076, 1.359, -1.547, -0.584, -0.112, 0.859, 0.119, -0.641, 2.0, 0.762, -1.199)}},
	{name: "concat int64 axis -1", op: "Concat", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(-1)},
		ins:  []*model.Tensor{i64([]int{2}, 1, 2), i64([]int{1}, 3), i64([]int{1}, -1)},
		want: []*model.Tensor{i64([]int{4}, 1, 2, 3, -1)}},
	{name: "shape", op: "Shape", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{i64([]int{3}, 2, 3, 4)}},
	{name: "shape start", op: "Shape", opset: 15, attrs: map[string]model.Attr{"start": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{i64([]int{2}, 3, 4)}},
	{name: "shape end -1", op: "Shape", opset: 15, attrs: map[string]model.Attr{"end": model.Int(-1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{i64([]int{2}, 2, 3)}},
	{name: "gather axis 1 negative index", op: "Gather", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), i64([]int{1, 3}, 0, -1, 1)},
		want: []*model.Tensor{f32([]int{2, 1, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.492, -0.62, 0.49, 0.357, -0.455, -0.992, 0.06, 1.34, 0.105, -0.93, -0.029, 0.695, -1.842, -0.235, -1.267, 0.271, -1.344, -0.458, -1.901, -1.29)}},
	{name: "gather scalar index", op: "Gather", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), i64([]int{}, 1)},
		want: []*model.Tensor{f32([]int{3, 4}, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)}},
	{name: "gather int64", op: "Gather", opset: 13, attrs: nil,
		ins:  []*model.Tensor{i64([]int{3}, 5, 6, 7), i64([]int{2}, 2, 0)},
		want: []*model.Tensor{i64([]int{2}, 7, 5)}},
	{name: "cast float to int64 truncates", op: "Cast", opset: 13, attrs: map[string]model.Attr{"to": model.Int(7)},
		ins:  []*model.Tensor{f32([]int{5}, 1.7, -1.7, 0.2, -0.0, 3.0)},
		want: []*model.Tensor{i64([]int{5}, 1, -1, 0, 0, 3)}},
	{name: "cast int64 to float", op: "Cast", opset: 13, attrs: map[string]model.Attr{"to": model.Int(1)},
		ins:  []*model.Tensor{i64([]int{3}, 3, -2, 7)},
		want: []*model.Tensor{f32([]int{3}, 3.0, -2.0, 7.0)}},
	{name: "dropout opset 12 with mask", op: "Dropout", opset: 12, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808)},
		want: []*model.Tensor{f32([]int{2, 3}, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808), ti(model.Bool, []int{2, 3}, 1, 1, 1, 1, 1, 1)}},
	{name: "dropout opset 7 ratio attr", op: "Dropout", opset: 7, attrs: map[string]model.Attr{"ratio": model.Float(0.5)},
		ins:  []*model.Tensor{f32([]int{2, 3}, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808)},
		want: []*model.Tensor{f32([]int{2, 3}, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808)}},
	{name: "identity int64", op: "Identity", opset: 16, attrs: nil,
		ins:  []*model.Tensor{i64([]int{2}, 4, 5)},
		want: []*model.Tensor{i64([]int{2}, 4, 5)}},
}
