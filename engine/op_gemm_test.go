package engine

import (
	"testing"

	"github.com/xferml/xfer/model"
)

func TestGemmMatMul(t *testing.T) { runCases(t, gemmCases) }

func TestGemmErrors(t *testing.T) {
	runError(t, opCase{name: "inner dims", op: "MatMul", opset: 13,
		ins: []*model.Tensor{f32([]int{2, 3}, 1, 2, 3, 4, 5, 6), f32([]int{2, 1}, 1, 2)}, want: []*model.Tensor{nil}}, "inner dims differ")
	runError(t, opCase{name: "gemm rank", op: "Gemm", opset: 13,
		ins: []*model.Tensor{f32([]int{3}, 1, 2, 3), f32([]int{3, 1}, 1, 2, 3)}, want: []*model.Tensor{nil}}, "must be 2-D")
}

// TestFusedGemmRelu checks the fused Gemm(transB) + Relu path against numpy:
// y = relu(x @ W.T + C) with W [2, 3], C [2], as PyTorch Linear exports it.
func TestFusedGemmRelu(t *testing.T) {
	m := &model.Model{
		Name: "linear", Opset: 13,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 3}}},
		Outputs: []string{"y"},
		Layers: []*model.Layer{{
			Name: "fc", Kind: "Gemm", Inputs: []string{"x"}, Outputs: []string{"y"},
			Params: []*model.Param{
				{Name: "W", Role: "kernel", Shape: []int{2, 3}, Data: []float32{1, -2, 0.5, 0.25, 1, -1}},
				{Name: "C", Role: "bias", Shape: []int{2}, Data: []float32{0.1, -0.3}},
			},
			Nodes: []*model.Node{
				{Name: "gemm", Op: "Gemm", Inputs: []string{"x", "W", "C"}, Outputs: []string{"h"}, Attrs: map[string]model.Attr{"transB": model.Int(1)}},
				{Name: "relu", Op: "Relu", Inputs: []string{"h"}, Outputs: []string{"y"}},
			},
		}},
	}
	s, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.steps) != 1 || s.steps[0].fused == nil {
		t.Fatalf("plan has %d steps (fused %v); want one fused step", len(s.steps), s.steps[0].fused != nil)
	}
	x := f32([]int{3, 3}, 1, -2, 3, 2, 0.5, -2, 0, 0, 0)
	// numpy: np.maximum(x @ W.T + C, 0)
	want := []float32{6.6, 0, 0.1, 2.7, 0.1, 0}
	y, err := s.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	if !close32(y.F32, want, 1e-6, 1e-6) {
		t.Errorf("Predict(x) = %v; want %v", y.F32, want)
	}
}

// Cases computed with numpy 1.24 (/usr/bin/python3, engine/testdata/gencases/g1.py, seed 7).
var gemmCases = []opCase{
	{name: "gemm transB alpha beta bias row", op: "Gemm", opset: 13, attrs: map[string]model.Attr{"transB": model.Int(1), "alpha": model.Float(0.5), "beta": model.Float(2.0)},
		ins:  []*model.Tensor{f32([]int{2, 3}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992), f32([]int{4, 3}, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458), f32([]int{4}, -1.901, -1.29, -1.842, -0.235)},
		want: []*model.Tensor{f32([]int{2, 4}, -3.534236, -2.555964, -3.8190095, -0.60783446, -3.889548, -2.592337, -3.5048184, -0.24669449)}},
	{name: "gemm transA no C", op: "Gemm", opset: 13, attrs: map[string]model.Attr{"transA": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{3, 2}, -1.267, 0.271, 0.157, -0.187, -2.517, -0.539), f32([]int{3, 4}, -0.049, 0.113, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584, -0.112)},
		want: []*model.Tensor{f32([]int{2, 4}, -0.008559007, -2.495212, 3.575015, 0.760674, 0.187581, -0.29456997, -0.29826102, 0.08192601)}},
	{name: "gemm C column", op: "Gemm", opset: 11, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, 0.11, 0.064, -1.225, 0.076, 1.359, -1.547), f32([]int{3, 4}, 0.859, 0.119, -0.641, 2.0, 0.762, -1.199, 0.075, 0.577, -0.189, 0.683, -0.067, 0.667), f32([]int{2, 1}, 1.439, -0.676)},
		want: []*model.Tensor{f32([]int{2, 4}, 1.813783, 0.53867894, 1.4553651, 0.878853, 0.71722496, -3.3529983, -0.519142, -0.77170604)}},
	{name: "gemm const B and C full", op: "Gemm", opset: 13, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3}, 0.203, -0.463, 0.127, -1.187, -0.579, -0.196), f32([]int{3, 4}, 0.899, 1.145, -1.324, -0.795, 0.647, -1.992, -0.463, -0.097, 1.257, 0.689, -0.327, -0.369), f32([]int{2, 4}, -0.25, 1.524, -0.428, -0.304, 0.353, -0.121, -0.197, -1.114)},
		consts: []int{1, 2},
		want:   []*model.Tensor{f32([]int{2, 4}, -0.20742501, 2.766234, -0.523932, -0.46733698, -1.335098, -0.461791, 1.7067571, -0.041847944)}},
	{name: "matmul 2d", op: "MatMul", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, -0.012, -0.444, 1.166, 0.653, -0.024, 0.668), f32([]int{3, 4}, -0.34, 1.052, -0.005, 0.583, -1.291, 0.347, -1.688, -2.035, -0.304, -0.9, 0.164, 2.245)},
		want: []*model.Tensor{f32([]int{2, 4}, 0.22282004, -1.216092, 0.94075596, 3.514214, -0.394108, 0.07742806, 0.146799, 1.9291989)}},
	{name: "matmul 3d by 2d", op: "MatMul", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 2, 3}, -0.832, -0.624, 0.205, 0.493, -0.176, -0.206, 0.702, 0.52, -1.034, -0.079, 0.035, -1.054), f32([]int{3, 4}, 0.26, -0.858, 0.972, 0.193, 0.089, -0.591, -0.119, -1.998, -1.131, 0.363, -2.129, 0.847)},
		want: []*model.Tensor{f32([]int{2, 2, 4}, -0.50371104, 1.157055, -1.170893, 1.259811, 0.345502, -0.39375597, 0.938714, 0.27231503, 1.398254, -1.284978, 2.82185, -1.779272, 1.1746491, -0.335505, 2.163013, -0.97791505)}},
	{name: "matmul batch broadcast", op: "MatMul", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 1, 2, 3}, -1.746, 0.757, -0.845, 0.779, 0.131, -1.537, 1.249, 1.442, -0.066, -0.274, -0.16, -0.975), f32([]int{3, 3, 2}, 1.099, -0.543, -0.051, -0.793, -0.626, -1.278, 1.257, -0.154, 0.966, 0.013, -0.694, -0.327, -0.56, 0.008, -0.375, -0.3, -1.379, -0.807)},
		want: []*model.Tensor{f32([]int{2, 3, 2, 2}, -1.428491, 1.427687, 1.8116019, 1.437406, -0.87702984, 0.55504, 2.172427, 0.38433596, 1.85914, 0.44084698, 1.6341579, 1.2072909, 1.3404249, -1.737365, 0.31738403, 1.521712, 3.008769, -0.152018, 0.17767203, 0.358941, -1.149176, -0.36934602, 1.557965, 0.832633)}},
	{name: "matmul vector by batch", op: "MatMul", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{3}, 1.654, -0.671, -1.054), f32([]int{2, 3, 4}, 0.337, 1.407, -1.454, -0.209, -0.632, -1.761, 0.735, -0.023, 0.071, -0.752, 0.455, -0.539, -0.143, -1.108, -1.216, 1.336, -0.507, 0.292, -0.034, -0.441, -0.508, 0.63, -0.302, -0.151)},
		want: []*model.Tensor{f32([]int{2, 4}, 0.90663606, 4.301417, -3.3776712, 0.23785299, 0.63910705, -2.692584, -1.670142, 2.664809)}},
	{name: "matmul matrix by vector", op: "MatMul", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, 0.022, 1.177, 0.681, 0.383, -0.564, -1.382), f32([]int{3}, 0.95, 0.966, -0.141)},
		want: []*model.Tensor{f32([]int{2}, 1.061861, 0.013887957)}},
	{name: "matmul const weight", op: "MatMul", opset: 13, attrs: nil,
		ins:    []*model.Tensor{f32([]int{4, 3}, 0.542, 0.781, 0.831, 0.921, -0.456, 1.515, -1.247, 0.862, 0.494, 0.874, 1.879, 1.484), f32([]int{3, 2}, -1.145, -1.689, 0.817, -1.015, -0.012, 0.84)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{4, 2}, 0.0075150216, -1.010113, -1.4452771, 0.17987086, 2.1261408, 1.646213, 0.51660484, -2.136811)}},
}
