package engine

import (
	"testing"

	"github.com/xferml/xfer/model"
)

func TestBinary(t *testing.T) { runCases(t, binaryCases) }

func TestBinaryErrors(t *testing.T) {
	runError(t, opCase{name: "no broadcast", op: "Add", opset: 14,
		ins: []*model.Tensor{f32([]int{2}, 1, 2), f32([]int{3}, 1, 2, 3)}, want: []*model.Tensor{nil}}, "do not broadcast")
	runError(t, opCase{name: "int division by zero", op: "Div", opset: 14,
		ins: []*model.Tensor{i64([]int{1}, 1), i64([]int{1}, 0)}, want: []*model.Tensor{nil}}, "division by zero")
	runError(t, opCase{name: "mixed dtypes", op: "Add", opset: 14,
		ins: []*model.Tensor{i64([]int{1}, 1), f32([]int{1}, 0)}, want: []*model.Tensor{nil}}, "dtype")
}

// Cases computed with numpy 1.24 (/usr/bin/python3, engine/testdata/gencases/g1.py, seed 7).
var binaryCases = []opCase{
	{name: "add broadcast row", op: "Add", opset: 14, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -1.644, -2.11, 0.259, 0.044, -0.246, 0.039), f32([]int{3}, -0.861, -1.513, -0.167)},
		want: []*model.Tensor{f32([]int{2, 3}, -2.505, -3.623, 0.09200001, -0.81700003, -1.7590001, -0.12799999)}},
	{name: "sub outer broadcast", op: "Sub", opset: 14, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 1}, -0.972, -1.643), f32([]int{1, 3}, 0.506, -0.061, 0.407)},
		want: []*model.Tensor{f32([]int{2, 3}, -1.4779999, -0.911, -1.379, -2.149, -1.582, -2.05)}},
	{name: "mul int64", op: "Mul", opset: 14, attrs: nil,
		ins:  []*model.Tensor{i64([]int{2, 3}, 1, 2, 3, 4, 5, 6), i64([]int{3}, 10, -2, 3)},
		want: []*model.Tensor{i64([]int{2, 3}, 10, -4, 9, 40, -10, 18)}},
	{name: "div int64 truncates", op: "Div", opset: 14, attrs: nil,
		ins:  []*model.Tensor{i64([]int{3}, 7, -7, 9), i64([]int{3}, 2, 2, -4)},
		want: []*model.Tensor{i64([]int{3}, 3, -3, -2)}},
	{name: "div float", op: "Div", opset: 14, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -0.989, -0.658, -0.999, -0.887, 0.195, -0.783), f32([]int{3}, 0.5, -2.0, 4.0)},
		want: []*model.Tensor{f32([]int{2, 3}, -1.978, 0.329, -0.24975, -1.774, -0.0975, -0.19575)}},
	{name: "pow float", op: "Pow", opset: 15, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, 0.456, 0.44, 2.125, 1.493, 0.98800004, 0.18900001), f32([]int{2, 3}, -0.014, -1.45, -0.46, 0.743, -0.082, 0.081)},
		want: []*model.Tensor{f32([]int{2, 3}, 1.0110543, 3.2884681, 0.7069926, 1.3468724, 1.0009904, 0.87376255)}},
	{name: "pow int64 exponent", op: "Pow", opset: 15, attrs: nil,
		ins:  []*model.Tensor{f32([]int{4}, -0.291, 1.155, -0.021, -2.2), i64([]int{1}, 2)},
		want: []*model.Tensor{f32([]int{4}, 0.084681004, 1.3340249, 0.00044099998, 4.84)}},
	{name: "max three broadcast", op: "Max", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -0.692, -1.969, -3.251, -0.53, 1.334, 0.047), f32([]int{3}, -1.173, -0.941, 1.131), f32([]int{1, 1}, 0.158)},
		want: []*model.Tensor{f32([]int{2, 3}, 0.158, 0.158, 1.131, 0.158, 1.334, 1.131)}},
	{name: "min two", op: "Min", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -0.692, -1.969, -3.251, -0.53, 1.334, 0.047), f32([]int{3}, -1.173, -0.941, 1.131)},
		want: []*model.Tensor{f32([]int{2, 3}, -1.173, -1.969, -3.251, -1.173, -0.941, 0.047)}},
	{name: "sum three", op: "Sum", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -0.692, -1.969, -3.251, -0.53, 1.334, 0.047), f32([]int{3}, -1.173, -0.941, 1.131), f32([]int{1, 1}, 0.158)},
		want: []*model.Tensor{f32([]int{2, 3}, -1.707, -2.7519999, -1.9619999, -1.545, 0.551, 1.3360001)}},
	{name: "sum one", op: "Sum", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -0.692, -1.969, -3.251, -0.53, 1.334, 0.047)},
		want: []*model.Tensor{f32([]int{2, 3}, -0.692, -1.969, -3.251, -0.53, 1.334, 0.047)}},
	{name: "mean three", op: "Mean", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -0.692, -1.969, -3.251, -0.53, 1.334, 0.047), f32([]int{3}, -1.173, -0.941, 1.131), f32([]int{1, 1}, 0.158)},
		want: []*model.Tensor{f32([]int{2, 3}, -0.569, -0.9173333, -0.654, -0.515, 0.18366666, 0.44533336)}},
	{name: "prelu channel slope", op: "PRelu", opset: 16, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 2}, 0.048, -0.053, 0.038, 0.805, 0.553, 0.216, -1.043, 0.511, -0.684, 1.094, -1.271, -0.138), f32([]int{3, 1}, -0.007, -1.325, 1.722)},
		want: []*model.Tensor{f32([]int{2, 3, 2}, 0.048, 0.000371, 0.038, 0.805, 0.553, 0.216, 0.007301, 0.511, 0.90630007, 1.094, -2.188662, -0.237636)}},
}
