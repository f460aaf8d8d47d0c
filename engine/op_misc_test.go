package engine

import (
	"math"
	"testing"

	"github.com/xferml/xfer/model"
)

// Tests of the reductions beyond Sum/Mean/Max (op_reduce.go) and of
// op_argmax.go, op_size.go, op_gatherelements.go, op_scatterelements.go,
// op_trilu.go, op_mod.go, op_cumsum.go, op_hardmax.go, op_topk.go,
// op_castlike.go, op_eyelike.go, op_onehot.go, op_depthtospace.go,
// op_isnan.go, op_shrink.go, op_bitshift.go, the math rows of the
// activation table and op_loss.go.

func TestReduceMore(t *testing.T) { runCases(t, reduceMoreCases) }
func TestMiscOps(t *testing.T)    { runCases(t, miscCases) }
func TestLosses(t *testing.T)     { runCases(t, lossCases) }

func TestMiscOpErrors(t *testing.T) {
	x := f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	for _, c := range []struct {
		c    opCase
		want string
	}{
		{opCase{name: "gatherelements index", op: "GatherElements", opset: 13, ins: []*model.Tensor{x, i64([]int{1, 1}, 3)}, want: []*model.Tensor{nil}}, "out of range"},
		{opCase{name: "mod by zero", op: "Mod", opset: 13, ins: []*model.Tensor{i64([]int{1}, 3), i64([]int{1}, 0)}, want: []*model.Tensor{nil}}, "zero"},
		{opCase{name: "mod float without fmod", op: "Mod", opset: 13, ins: []*model.Tensor{x, x}, want: []*model.Tensor{nil}}, "fmod"},
		{opCase{name: "topk k too large", op: "TopK", opset: 11, ins: []*model.Tensor{x, i64([]int{1}, 4)}, consts: []int{1}, want: []*model.Tensor{nil, nil}}, "exceeds"},
		{opCase{name: "nll target outside", op: "NegativeLogLikelihoodLoss", opset: 13, ins: []*model.Tensor{x, i64([]int{2}, 0, 7)}, want: []*model.Tensor{nil}}, "outside"},
		{opCase{name: "bitshift signed", op: "BitShift", opset: 11, attrs: map[string]model.Attr{"direction": model.String("LEFT")}, ins: []*model.Tensor{i64([]int{1}, 1), i64([]int{1}, 1)}, want: []*model.Tensor{nil}}, "unsigned"},
		{opCase{name: "depthtospace channels", op: "DepthToSpace", opset: 13, attrs: map[string]model.Attr{"blocksize": model.Int(2)}, ins: []*model.Tensor{f32([]int{1, 3, 1, 1}, 1, 2, 3)}, want: []*model.Tensor{nil}}, "divide"},
	} {
		runError(t, c.c, c.want)
	}
}

// Cases computed with numpy 1.24 in float64 (/usr/bin/python3, engine/testdata/gencases/misc.py, seed 7).
var reduceMoreCases = []opCase{
	{name: "reducemin opset 13 attr", op: "ReduceMin", opset: 13, attrs: map[string]model.Attr{"axes": model.Ints(1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{2, 1, 4}, -0.492, -0.992, -0.274, -0.891, -1.842, -0.93, -1.901, -1.29)}},
	{name: "reduceprod opset 18 input", op: "ReduceProd", opset: 18, attrs: map[string]model.Attr{"keepdims": model.Int(0)},
		ins:    []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), i64([]int{2}, 0, 2)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{3}, 1.4366616e-07, 0.0547792, -0.007930936)}},
	{name: "reducel1", op: "ReduceL1", opset: 13, attrs: map[string]model.Attr{"axes": model.Ints(-1), "keepdims": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{2, 3}, 1.4649999, 2.8470001, 1.959, 1.759, 4.993, 3.615)}},
	{name: "reducel2", op: "ReduceL2", opset: 13, attrs: map[string]model.Attr{"axes": model.Ints(0, 1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{1, 1, 4}, 2.3789525, 1.6086497, 2.3534458, 2.2220478)}},
	{name: "reducelogsum", op: "ReduceLogSum", opset: 13, attrs: map[string]model.Attr{"axes": model.Ints(2)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.101, 0.399, 0.37399998, 0.991, 0.555, 1.092, 0.16, 1.44, 0.592, 0.72, 0.59000003, 0.457, 0.205, 1.03, 0.12900001, 0.795, 1.444, 0.558, 2.001, 1.39, 1.942, 0.335, 1.367, 0.371)},
		want: []*model.Tensor{f32([]int{2, 3, 1}, 0.62326103, 1.1777315, 0.8582378, 0.76964515, 1.6851017, 1.3900373)}},
	{name: "reducelogsumexp large values", op: "ReduceLogSumExp", opset: 13, attrs: map[string]model.Attr{"axes": model.Ints(1), "keepdims": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.030000001, 8.97, -8.219999, -26.73, -13.650001, -29.76, 1.8, 40.2, -14.76, -18.6, 14.700001, 10.71, 3.1499999, -27.9, -0.87, 20.85, -40.32, -13.74, -57.03, -38.699997, -55.260002, -7.05, -38.01, 8.13)},
		want: []*model.Tensor{f32([]int{2, 4}, 0.030001523, 8.97, 14.700004, 40.2, 3.1499999, -7.0487576, -0.87, 20.850004)}},
	{name: "reducesumsquare all", op: "ReduceSumSquare", opset: 13, attrs: map[string]model.Attr{"keepdims": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{f32([]int{}, 18.723372)}},
	{name: "reducemin int32", op: "ReduceMin", opset: 13, attrs: map[string]model.Attr{"axes": model.Ints(1), "keepdims": model.Int(0)},
		ins:  []*model.Tensor{ti(model.Int32, []int{2, 3}, 3, -1, 4, 1, -5, 9)},
		want: []*model.Tensor{ti(model.Int32, []int{2}, -1, -5)}},
	{name: "reduceprod int64", op: "ReduceProd", opset: 13, attrs: map[string]model.Attr{"keepdims": model.Int(0)},
		ins:  []*model.Tensor{i64([]int{3}, 2, -3, 4)},
		want: []*model.Tensor{i64([]int{}, -24)}},
}

// Cases computed with numpy 1.24 (/usr/bin/python3, engine/testdata/gencases/misc.py, seed 7).
var miscCases = []opCase{
	{name: "argmax keepdims", op: "ArgMax", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 3}, 1.0, 5.0, 5.0, 7.0, 2.0, 7.0)},
		want: []*model.Tensor{i64([]int{2, 1}, 1, 0)}},
	{name: "argmax select_last_index", op: "ArgMax", opset: 12, attrs: map[string]model.Attr{"axis": model.Int(1), "keepdims": model.Int(0), "select_last_index": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 3}, 1.0, 5.0, 5.0, 7.0, 2.0, 7.0)},
		want: []*model.Tensor{i64([]int{2}, 2, 2)}},
	{name: "argmin axis 0", op: "ArgMin", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(0), "keepdims": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{2, 3}, 1.0, 5.0, 5.0, 7.0, 2.0, 7.0)},
		want: []*model.Tensor{i64([]int{3}, 0, 1, 0)}},
	{name: "size", op: "Size", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271)},
		want: []*model.Tensor{i64([]int{}, 24)}},
	{name: "gatherelements axis 0 negative index", op: "GatherElements", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{3, 3}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979), i64([]int{2, 3}, 1, -1, 0, 2, 0, 1)},
		want: []*model.Tensor{f32([]int{2, 3}, -0.539, -0.478, -2.517, -1.53, -0.187, 0.113)}},
	{name: "scatterelements add", op: "ScatterElements", opset: 16, attrs: map[string]model.Attr{"axis": model.Int(0), "reduction": model.String("add")},
		ins:  []*model.Tensor{f32([]int{3, 3}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979), i64([]int{2, 3}, 1, -1, 0, 2, 0, 1), f32([]int{2, 3}, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584)},
		want: []*model.Tensor{f32([]int{3, 3}, 0.157, 0.697, -3.325, -1.348, -0.049, -0.471, -1.563, 0.583, -0.979)}},
	{name: "scatterelements none", op: "ScatterElements", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{3, 3}, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979), i64([]int{2, 3}, 1, -1, 0, 2, 0, 1), f32([]int{2, 3}, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584)},
		want: []*model.Tensor{f32([]int{3, 3}, 0.157, 0.884, -0.808, -0.809, -0.049, -0.584, -0.033, 1.061, -0.979)}},
	{name: "trilu upper k 1", op: "Trilu", opset: 14, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3, 4}, -0.112, 0.11, 0.064, -1.225, 0.076, 1.359, -1.547, 0.859, 0.119, -0.641, 2.0, 0.762, -1.199, 0.075, 0.577, -0.189, 0.683, -0.067, 0.667, 1.439, -0.676, 0.203, -0.463, 0.127), i64([]int{1}, 1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 3, 4}, 0.0, 0.11, 0.064, -1.225, 0.0, 0.0, -1.547, 0.859, 0.0, 0.0, 0.0, 0.762, 0.0, 0.075, 0.577, -0.189, 0.0, 0.0, 0.667, 1.439, 0.0, 0.0, 0.0, 0.127)}},
	{name: "trilu lower k -1", op: "Trilu", opset: 14, attrs: map[string]model.Attr{"upper": model.Int(0)},
		ins:    []*model.Tensor{f32([]int{2, 3, 4}, -0.112, 0.11, 0.064, -1.225, 0.076, 1.359, -1.547, 0.859, 0.119, -0.641, 2.0, 0.762, -1.199, 0.075, 0.577, -0.189, 0.683, -0.067, 0.667, 1.439, -0.676, 0.203, -0.463, 0.127), i64([]int{1}, -1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 3, 4}, 0.0, 0.0, 0.0, 0.0, 0.076, 0.0, 0.0, 0.0, 0.119, -0.641, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.683, 0.0, 0.0, 0.0, -0.676, 0.203, 0.0, 0.0)}},
	{name: "mod python sign", op: "Mod", opset: 13, attrs: nil,
		ins:  []*model.Tensor{ti(model.Int32, []int{4}, -7, 7, -7, 7), ti(model.Int32, []int{4}, 3, -3, -3, 3)},
		want: []*model.Tensor{ti(model.Int32, []int{4}, 2, -2, -1, 1)}},
	{name: "mod fmod", op: "Mod", opset: 13, attrs: map[string]model.Attr{"fmod": model.Int(1)},
		ins:  []*model.Tensor{ti(model.Int32, []int{4}, -7, 7, -7, 7), ti(model.Int32, []int{4}, 3, -3, -3, 3)},
		want: []*model.Tensor{ti(model.Int32, []int{4}, -1, 1, -1, 1)}},
	{name: "mod fmod float", op: "Mod", opset: 13, attrs: map[string]model.Attr{"fmod": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{4}, -1.187, -0.579, -0.196, 0.899), f32([]int{4}, 0.7, -0.3, 0.5, -2.0)},
		want: []*model.Tensor{f32([]int{4}, -0.48700005, -0.27899998, -0.196, 0.899)}},
	{name: "cumsum axis 1", op: "CumSum", opset: 14, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3}, 1.145, -1.324, -0.795, 0.647, -1.992, -0.463), i64([]int{1}, 1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 3}, 1.145, -0.17900002, -0.97400004, 0.647, -1.345, -1.8080001)}},
	{name: "cumsum exclusive reverse", op: "CumSum", opset: 14, attrs: map[string]model.Attr{"exclusive": model.Int(1), "reverse": model.Int(1)},
		ins:    []*model.Tensor{f32([]int{2, 3}, 1.145, -1.324, -0.795, 0.647, -1.992, -0.463), i64([]int{1}, 1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 3}, -2.119, -0.79499996, 0.0, -2.455, -0.46299994, 0.0)}},
	{name: "hardmax opset 13 axis 1", op: "Hardmax", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 2, 2}, 1.0, 3.0, 2.0, 2.0, 0.0, 5.0, 7.0, 1.0)},
		want: []*model.Tensor{f32([]int{2, 2, 2}, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0)}},
	{name: "hardmax opset 11 flattened at axis 1", op: "Hardmax", opset: 11, attrs: map[string]model.Attr{"axis": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 2, 2}, 1.0, 3.0, 2.0, 2.0, 0.0, 5.0, 7.0, 1.0)},
		want: []*model.Tensor{f32([]int{2, 2, 2}, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0)}},
	{name: "topk largest ties by index", op: "TopK", opset: 11, attrs: map[string]model.Attr{"axis": model.Int(1)},
		ins:    []*model.Tensor{f32([]int{2, 4}, 3.0, 1.0, 3.0, 2.0, 0.0, 4.0, 4.0, -1.0), i64([]int{1}, 3)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 3}, 3.0, 3.0, 2.0, 4.0, 4.0, 0.0), i64([]int{2, 3}, 0, 2, 3, 1, 2, 0)}},
	{name: "topk smallest", op: "TopK", opset: 11, attrs: map[string]model.Attr{"largest": model.Int(0), "axis": model.Int(1)},
		ins:    []*model.Tensor{f32([]int{2, 4}, 3.0, 1.0, 3.0, 2.0, 0.0, 4.0, 4.0, -1.0), i64([]int{1}, 2)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 2}, 1.0, 2.0, -1.0, 0.0), i64([]int{2, 2}, 1, 3, 3, 0)}},
	{name: "castlike float to int32", op: "CastLike", opset: 15, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2}, 1.7, -2.2), ti(model.Int32, []int{1}, 0)},
		want: []*model.Tensor{ti(model.Int32, []int{2}, 1, -2)}},
	{name: "eyelike k 1", op: "EyeLike", opset: 9, attrs: map[string]model.Attr{"k": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{3, 4}, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)},
		want: []*model.Tensor{f32([]int{3, 4}, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)}},
	{name: "onehot negative and out of range", op: "OneHot", opset: 11, attrs: map[string]model.Attr{"axis": model.Int(0)},
		ins:  []*model.Tensor{i64([]int{3}, 1, -1, 5), i64([]int{}, 4), f32([]int{2}, 0.0, 3.0)},
		want: []*model.Tensor{f32([]int{4, 3}, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0)}},
	{name: "depthtospace DCR", op: "DepthToSpace", opset: 13, attrs: map[string]model.Attr{"blocksize": model.Int(2)},
		ins:  []*model.Tensor{f32([]int{1, 8, 2, 3}, -0.097, 1.257, 0.689, -0.327, -0.369, -0.25, 1.524, -0.428, -0.304, 0.353, -0.121, -0.197, -1.114, -0.012, -0.444, 1.166, 0.653, -0.024, 0.668, -0.34, 1.052, -0.005, 0.583, -1.291, 0.347, -1.688, -2.035, -0.304, -0.9, 0.164, 2.245, -0.832, -0.624, 0.205, 0.493, -0.176, -0.206, 0.702, 0.52, -1.034, -0.079, 0.035, -1.054, 0.26, -0.858, 0.972, 0.193, 0.089)},
		want: []*model.Tensor{f32([]int{1, 2, 4, 6}, -0.097, -1.114, 1.257, -0.012, 0.689, -0.444, 0.347, -0.206, -1.688, 0.702, -2.035, 0.52, -0.327, 1.166, -0.369, 0.653, -0.25, -0.024, -0.304, -1.034, -0.9, -0.079, 0.164, 0.035, 1.524, 0.668, -0.428, -0.34, -0.304, 1.052, 2.245, -1.054, -0.832, 0.26, -0.624, -0.858, 0.353, -0.005, -0.121, 0.583, -0.197, -1.291, 0.205, 0.972, 0.493, 0.193, -0.176, 0.089)}},
	{name: "depthtospace CRD", op: "DepthToSpace", opset: 13, attrs: map[string]model.Attr{"blocksize": model.Int(2), "mode": model.String("CRD")},
		ins:  []*model.Tensor{f32([]int{1, 8, 2, 3}, -0.097, 1.257, 0.689, -0.327, -0.369, -0.25, 1.524, -0.428, -0.304, 0.353, -0.121, -0.197, -1.114, -0.012, -0.444, 1.166, 0.653, -0.024, 0.668, -0.34, 1.052, -0.005, 0.583, -1.291, 0.347, -1.688, -2.035, -0.304, -0.9, 0.164, 2.245, -0.832, -0.624, 0.205, 0.493, -0.176, -0.206, 0.702, 0.52, -1.034, -0.079, 0.035, -1.054, 0.26, -0.858, 0.972, 0.193, 0.089)},
		want: []*model.Tensor{f32([]int{1, 2, 4, 6}, -0.097, 1.524, 1.257, -0.428, 0.689, -0.304, -1.114, 0.668, -0.012, -0.34, -0.444, 1.052, -0.327, 0.353, -0.369, -0.121, -0.25, -0.197, 1.166, -0.005, 0.653, 0.583, -0.024, -1.291, 0.347, 2.245, -1.688, -0.832, -2.035, -0.624, -0.206, -1.054, 0.702, 0.26, 0.52, -0.858, -0.304, 0.205, -0.9, 0.493, 0.164, -0.176, -1.034, 0.972, -0.079, 0.193, 0.035, 0.089)}},
	{name: "spacetodepth", op: "SpaceToDepth", opset: 13, attrs: map[string]model.Attr{"blocksize": model.Int(2)},
		ins:  []*model.Tensor{f32([]int{1, 2, 4, 6}, -0.591, -0.119, -1.998, -1.131, 0.363, -2.129, 0.847, -1.746, 0.757, -0.845, 0.779, 0.131, -1.537, 1.249, 1.442, -0.066, -0.274, -0.16, -0.975, 1.099, -0.543, -0.051, -0.793, -0.626, -1.278, 1.257, -0.154, 0.966, 0.013, -0.694, -0.327, -0.56, 0.008, -0.375, -0.3, -1.379, -0.807, 1.654, -0.671, -1.054, 0.337, 1.407, -1.454, -0.209, -0.632, -1.761, 0.735, -0.023)},
		want: []*model.Tensor{f32([]int{1, 8, 2, 3}, -0.591, -1.998, 0.363, -1.537, 1.442, -0.274, -1.278, -0.154, 0.013, -0.807, -0.671, 0.337, -0.119, -1.131, -2.129, 1.249, -0.066, -0.16, 1.257, 0.966, -0.694, 1.654, -1.054, 1.407, 0.847, 0.757, 0.779, -0.975, -0.543, -0.793, -0.327, 0.008, -0.3, -1.454, -0.632, 0.735, -1.746, -0.845, 0.131, 1.099, -0.051, -0.626, -0.56, -0.375, -1.379, -0.209, -1.761, -0.023)}},
	{name: "isnan", op: "IsNaN", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{4}, 1.0, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)))},
		want: []*model.Tensor{ti(model.Bool, []int{4}, 0, 1, 0, 0)}},
	{name: "isinf positive only", op: "IsInf", opset: 10, attrs: map[string]model.Attr{"detect_negative": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{4}, 1.0, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)))},
		want: []*model.Tensor{ti(model.Bool, []int{4}, 0, 0, 1, 0)}},
	{name: "shrink", op: "Shrink", opset: 9, attrs: map[string]model.Attr{"lambd": model.Float(0.5), "bias": model.Float(0.25)},
		ins:  []*model.Tensor{f32([]int{4}, -2.0, -0.3, 0.3, 2.0)},
		want: []*model.Tensor{f32([]int{4}, -1.75, 0.0, 0.0, 1.75)}},
	{name: "bitshift left uint8 wraps", op: "BitShift", opset: 11, attrs: map[string]model.Attr{"direction": model.String("LEFT")},
		ins:  []*model.Tensor{ti(model.Uint8, []int{2}, 16, 200), ti(model.Uint8, []int{2}, 2, 1)},
		want: []*model.Tensor{ti(model.Uint8, []int{2}, 64, 144)}},
	{name: "bitshift right uint64", op: "BitShift", opset: 11, attrs: map[string]model.Attr{"direction": model.String("RIGHT")},
		ins:  []*model.Tensor{ti(model.Uint64, []int{2}, -9223372036854775808, 7), ti(model.Uint64, []int{2}, 62, 1)},
		want: []*model.Tensor{ti(model.Uint64, []int{2}, 2, 3)}},
	{name: "round halves to even", op: "Round", opset: 11, attrs: nil,
		ins:  []*model.Tensor{f32([]int{5}, -1.2, 0.5, 2.5, -2.5, 3.5)},
		want: []*model.Tensor{f32([]int{5}, -1.0, 0.0, 2.0, -2.0, 4.0)}},
	{name: "sign int32", op: "Sign", opset: 13, attrs: nil,
		ins:  []*model.Tensor{ti(model.Int32, []int{3}, -4, 0, 9)},
		want: []*model.Tensor{ti(model.Int32, []int{3}, -1, 0, 1)}},
	{name: "sin", op: "Sin", opset: 7, attrs: nil,
		ins:  []*model.Tensor{f32([]int{5}, 0.071, -0.752, 0.455, -0.539, -0.143)},
		want: []*model.Tensor{f32([]int{5}, 0.07094037, -0.68310076, 0.43946233, -0.513278, -0.14251314)}},
	{name: "atanh", op: "Atanh", opset: 9, attrs: nil,
		ins:  []*model.Tensor{f32([]int{5}, 0.0355, -0.376, 0.2275, -0.2695, -0.0715)},
		want: []*model.Tensor{f32([]int{5}, 0.035514925, -0.3953928, 0.23155144, -0.27632457, -0.07162222)}},
}

// Cases computed with PyTorch 1.13 F.nll_loss and F.cross_entropy in float64 (/usr/bin/python3, engine/testdata/gencases/misc.py, seed 7).
var lossCases = []opCase{
	{name: "nll mean with weights", op: "NegativeLogLikelihoodLoss", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{3, 4, 2}, -2.918992, -2.1189957, -0.47499207, -1.4099958, -1.5189921, -0.93699574, -2.251992, -1.4109957, -1.3780478, -1.7620938, -2.1590478, -1.4380938, -0.83104783, -0.77909374, -1.6250479, -2.0240939, -3.3125854, -1.1479756, -0.9645855, -2.2389755, -1.3885854, -1.3169756, -1.0995855, -1.1769756), i64([]int{3, 2}, 1, 3, 0, 2, 1, 1), f32([]int{4}, 0.556, 1.615, 1.347, 0.962)},
		want: []*model.Tensor{f32([]int{}, 1.1820849)}},
	{name: "nll sum ignore_index", op: "NegativeLogLikelihoodLoss", opset: 13, attrs: map[string]model.Attr{"reduction": model.String("sum"), "ignore_index": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{3, 4, 2}, -2.918992, -2.1189957, -0.47499207, -1.4099958, -1.5189921, -0.93699574, -2.251992, -1.4109957, -1.3780478, -1.7620938, -2.1590478, -1.4380938, -0.83104783, -0.77909374, -1.6250479, -2.0240939, -3.3125854, -1.1479756, -0.9645855, -2.2389755, -1.3885854, -1.3169756, -1.0995855, -1.1769756), i64([]int{3, 2}, 1, 3, 0, 2, 1, 1)},
		want: []*model.Tensor{f32([]int{}, 3.5681374)}},
	{name: "nll none 2-D", op: "NegativeLogLikelihoodLoss", opset: 13, attrs: map[string]model.Attr{"reduction": model.String("none")},
		ins:  []*model.Tensor{f32([]int{3, 4}, -2.918992, -0.47499207, -1.5189921, -2.251992, -1.3780478, -2.1590478, -0.83104783, -1.6250479, -3.3125854, -0.9645855, -1.3885854, -1.0995855), i64([]int{3}, 1, 0, 1)},
		want: []*model.Tensor{f32([]int{3}, 0.47499207, 1.3780478, 0.9645855)}},
	{name: "softmax cross entropy with log_prob", op: "SoftmaxCrossEntropyLoss", opset: 13, attrs: map[string]model.Attr{"ignore_index": model.Int(3)},
		ins:  []*model.Tensor{f32([]int{3, 4, 2}, -1.108, -1.216, 1.336, -0.507, 0.292, -0.034, -0.441, -0.508, 0.63, -0.302, -0.151, 0.022, 1.177, 0.681, 0.383, -0.564, -1.382, 0.95, 0.966, -0.141, 0.542, 0.781, 0.831, 0.921), i64([]int{3, 2}, 1, 3, 0, 2, 1, 1)},
		want: []*model.Tensor{f32([]int{}, 1.1671389), f32([]int{3, 4, 2}, -2.918992, -2.1189957, -0.47499207, -1.4099958, -1.5189921, -0.93699574, -2.251992, -1.4109957, -1.3780478, -1.7620938, -2.1590478, -1.4380938, -0.83104783, -0.77909374, -1.6250479, -2.0240939, -3.3125854, -1.1479756, -0.9645855, -2.2389755, -1.3885854, -1.3169756, -1.0995855, -1.1769756)}},
}
