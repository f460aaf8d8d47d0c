package engine

import (
	"testing"

	"github.com/xferml/xfer/model"
)

// Tests of op_compare.go, op_where.go, op_expand.go, op_tile.go,
// op_split.go, op_constantofshape.go, op_range.go and the three
// normalisations.

func TestCompare(t *testing.T) { runCases(t, compareCases) }
func TestDataOps(t *testing.T) { runCases(t, dataCases) }
func TestNorms(t *testing.T)   { runCases(t, normCases) }

func TestDataOpErrors(t *testing.T) {
	x := f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	b := ti(model.Bool, []int{1}, 1)
	for _, c := range []struct {
		c    opCase
		want string
	}{
		{opCase{name: "and on floats", op: "And", opset: 7, ins: []*model.Tensor{x, x}, want: []*model.Tensor{nil}}, "bool"},
		{opCase{name: "equal mixed", op: "Equal", opset: 13, ins: []*model.Tensor{x, i64([]int{1}, 1)}, want: []*model.Tensor{nil}}, "dtypes"},
		{opCase{name: "where float condition", op: "Where", opset: 16, ins: []*model.Tensor{x, x, x}, want: []*model.Tensor{nil}}, "bool"},
		{opCase{name: "where X Y dtypes", op: "Where", opset: 16, ins: []*model.Tensor{b, x, i64([]int{1}, 1)}, want: []*model.Tensor{nil}}, "dtypes"},
		{opCase{name: "expand mismatch", op: "Expand", opset: 13, ins: []*model.Tensor{x, i64([]int{2}, 2, 4)}, consts: []int{1}, want: []*model.Tensor{nil}}, "broadcast"},
		{opCase{name: "tile repeats rank", op: "Tile", opset: 13, ins: []*model.Tensor{x, i64([]int{1}, 2)}, consts: []int{1}, want: []*model.Tensor{nil}}, "repeats"},
		{opCase{name: "split sizes sum", op: "Split", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(1)}, ins: []*model.Tensor{x, i64([]int{2}, 1, 1)}, consts: []int{1}, want: []*model.Tensor{nil, nil}}, "adds up"},
		{opCase{name: "split uneven before 18", op: "Split", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(1)}, ins: []*model.Tensor{x}, want: []*model.Tensor{nil, nil}}, "equal parts"},
		{opCase{name: "constantofshape negative", op: "ConstantOfShape", opset: 9, ins: []*model.Tensor{i64([]int{2}, 2, -1)}, want: []*model.Tensor{nil}}, "negative"},
		{opCase{name: "range zero delta", op: "Range", opset: 11, ins: []*model.Tensor{i64([]int{}, 0), i64([]int{}, 5), i64([]int{}, 0)}, want: []*model.Tensor{nil}}, "delta"},
		{opCase{name: "range too long", op: "Range", opset: 11, ins: []*model.Tensor{f32([]int{}, 0), f32([]int{}, 1e30), f32([]int{}, 1)}, want: []*model.Tensor{nil}}, "memory"},
		{opCase{name: "groupnorm groups", op: "GroupNormalization", opset: 18, attrs: map[string]model.Attr{"num_groups": model.Int(4)},
			ins: []*model.Tensor{f32([]int{1, 3, 1}, 1, 2, 3), f32([]int{4}, 1, 1, 1, 1), f32([]int{4}, 0, 0, 0, 0)}, want: []*model.Tensor{nil}}, "num_groups"},
	} {
		runError(t, c.c, c.want)
	}
}

// Cases computed with numpy 1.24 (/usr/bin/python3, engine/testdata/gencases/data.py, seed 7).
var compareCases = []opCase{
	{name: "equal float broadcast", op: "Equal", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992), f32([]int{3}, 0.06, 0.299, -0.492)},
		want: []*model.Tensor{ti(model.Bool, []int{2, 3}, 0, 1, 0, 0, 0, 0)}},
	{name: "less int32 broadcast both", op: "Less", opset: 13, attrs: nil,
		ins:  []*model.Tensor{ti(model.Int32, []int{1, 3}, 1, 5, -3), ti(model.Int32, []int{2, 1}, 1, 5)},
		want: []*model.Tensor{ti(model.Bool, []int{2, 3}, 0, 0, 1, 1, 0, 1)}},
	{name: "greater_or_equal float", op: "GreaterOrEqual", opset: 16, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992), f32([]int{3}, 0.06, 0.299, -0.492)},
		want: []*model.Tensor{ti(model.Bool, []int{2, 3}, 0, 1, 1, 0, 0, 0)}},
	{name: "less_or_equal int64", op: "LessOrEqual", opset: 16, attrs: nil,
		ins:  []*model.Tensor{i64([]int{3}, 1, 2, 3), i64([]int{1}, 2)},
		want: []*model.Tensor{ti(model.Bool, []int{3}, 1, 1, 0)}},
	{name: "greater uint64 unsigned", op: "Greater", opset: 13, attrs: nil,
		ins:  []*model.Tensor{ti(model.Uint64, []int{2}, -9223372036854775808, 3), ti(model.Uint64, []int{2}, 5, 2)},
		want: []*model.Tensor{ti(model.Bool, []int{2}, 1, 1)}},
	{name: "and bool broadcast", op: "And", opset: 7, attrs: nil,
		ins:  []*model.Tensor{ti(model.Bool, []int{1, 3}, 1, 0, 1), ti(model.Bool, []int{2, 1}, 1, 0)},
		want: []*model.Tensor{ti(model.Bool, []int{2, 3}, 1, 0, 1, 0, 0, 0)}},
	{name: "or bool", op: "Or", opset: 7, attrs: nil,
		ins:  []*model.Tensor{ti(model.Bool, []int{1, 3}, 1, 0, 1), ti(model.Bool, []int{2, 1}, 1, 0)},
		want: []*model.Tensor{ti(model.Bool, []int{2, 3}, 1, 1, 1, 1, 0, 1)}},
	{name: "xor bool", op: "Xor", opset: 7, attrs: nil,
		ins:  []*model.Tensor{ti(model.Bool, []int{1, 3}, 1, 0, 1), ti(model.Bool, []int{2, 1}, 1, 0)},
		want: []*model.Tensor{ti(model.Bool, []int{2, 3}, 0, 1, 0, 1, 0, 1)}},
	{name: "not bool", op: "Not", opset: 1, attrs: nil,
		ins:  []*model.Tensor{ti(model.Bool, []int{1, 3}, 1, 0, 1)},
		want: []*model.Tensor{ti(model.Bool, []int{1, 3}, 0, 1, 0)}},
}

// Cases computed with numpy 1.24 (/usr/bin/python3, engine/testdata/gencases/data.py, seed 7).
var dataCases = []opCase{
	{name: "where broadcast three", op: "Where", opset: 16, attrs: nil,
		ins:  []*model.Tensor{ti(model.Bool, []int{2, 1}, 1, 0), f32([]int{2, 3}, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029), f32([]int{3}, 0.695, -1.344, -0.458)},
		want: []*model.Tensor{f32([]int{2, 3}, -0.62, 0.49, 0.357, 0.695, -1.344, -0.458)}},
	{name: "where int64", op: "Where", opset: 9, attrs: nil,
		ins:  []*model.Tensor{ti(model.Bool, []int{3}, 1, 0, 1), i64([]int{3}, 1, 2, 3), i64([]int{1}, -1)},
		want: []*model.Tensor{i64([]int{3}, 1, -1, 3)}},
	{name: "expand both ways", op: "Expand", opset: 13, attrs: nil,
		ins:    []*model.Tensor{f32([]int{3, 1}, -1.901, -1.29, -1.842), i64([]int{3}, 2, 1, 4)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 3, 4}, -1.901, -1.901, -1.901, -1.901, -1.29, -1.29, -1.29, -1.29, -1.842, -1.842, -1.842, -1.842, -1.901, -1.901, -1.901, -1.901, -1.29, -1.29, -1.29, -1.29, -1.842, -1.842, -1.842, -1.842)}},
	{name: "expand keeps larger input dim", op: "Expand", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{3, 1}, -1.901, -1.29, -1.842), i64([]int{2}, 1, 1)},
		want: []*model.Tensor{f32([]int{3, 1}, -1.901, -1.29, -1.842)}},
	{name: "tile", op: "Tile", opset: 13, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3}, -0.235, -1.267, 0.271, 0.157, -0.187, -2.517), i64([]int{2}, 2, 1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{4, 3}, -0.235, -1.267, 0.271, 0.157, -0.187, -2.517, -0.235, -1.267, 0.271, 0.157, -0.187, -2.517)}},
	{name: "tile zero repeats", op: "Tile", opset: 13, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3}, -0.235, -1.267, 0.271, 0.157, -0.187, -2.517), i64([]int{2}, 1, 0)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 0})}},
	{name: "split opset 13 sizes input", op: "Split", opset: 13, attrs: map[string]model.Attr{"axis": model.Int(1)},
		ins:    []*model.Tensor{f32([]int{2, 6}, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584), i64([]int{3}, 1, 2, 3)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 1}, -0.539, -0.809), f32([]int{2, 2}, -0.049, 0.113, 1.061, -0.808), f32([]int{2, 3}, -1.53, -0.478, -0.979, -0.033, 0.884, -0.584)}},
	{name: "split opset 11 equal parts", op: "Split", opset: 11, attrs: map[string]model.Attr{"axis": model.Int(-1)},
		ins:  []*model.Tensor{f32([]int{2, 6}, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584)},
		want: []*model.Tensor{f32([]int{2, 3}, -0.539, -0.049, 0.113, -0.809, 1.061, -0.808), f32([]int{2, 3}, -1.53, -0.478, -0.979, -0.033, 0.884, -0.584)}},
	{name: "split opset 2 split attribute", op: "Split", opset: 2, attrs: map[string]model.Attr{"split": model.Ints(1, 1)},
		ins:  []*model.Tensor{f32([]int{2, 6}, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584)},
		want: []*model.Tensor{f32([]int{1, 6}, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979), f32([]int{1, 6}, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584)}},
	{name: "split opset 18 num_outputs uneven", op: "Split", opset: 18, attrs: map[string]model.Attr{"axis": model.Int(1), "num_outputs": model.Int(4)},
		ins:  []*model.Tensor{f32([]int{2, 6}, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584)},
		want: []*model.Tensor{f32([]int{2, 2}, -0.539, -0.049, -0.809, 1.061), f32([]int{2, 2}, 0.113, -1.53, -0.808, -0.033), f32([]int{2, 2}, -0.478, -0.979, 0.884, -0.584), f32([]int{2, 0})}},
	{name: "constantofshape default float zero", op: "ConstantOfShape", opset: 9, attrs: nil,
		ins:  []*model.Tensor{i64([]int{2}, 2, 3)},
		want: []*model.Tensor{f32([]int{2, 3}, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)}},
	{name: "range float", op: "Range", opset: 11, attrs: nil,
		ins:  []*model.Tensor{f32([]int{}, 1.0), f32([]int{}, 2.5), f32([]int{}, 0.4)},
		want: []*model.Tensor{f32([]int{4}, 1.0, 1.4, 1.8, 2.1999998)}},
	{name: "range int64 negative delta", op: "Range", opset: 11, attrs: nil,
		ins:  []*model.Tensor{i64([]int{}, 10), i64([]int{}, 3), i64([]int{}, -3)},
		want: []*model.Tensor{i64([]int{3}, 10, 7, 4)}},
	{name: "range empty", op: "Range", opset: 11, attrs: nil,
		ins:  []*model.Tensor{ti(model.Int32, []int{}, 3), ti(model.Int32, []int{}, 1), ti(model.Int32, []int{}, 1)},
		want: []*model.Tensor{ti(model.Int32, []int{0})}},
}

// Cases computed with PyTorch 1.13 F.layer_norm, F.instance_norm, F.group_norm and numpy in float64 (/usr/bin/python3, engine/testdata/gencases/data.py, seed 7).
var normCases = []opCase{
	{name: "layernorm last axis", op: "LayerNormalization", opset: 17, attrs: map[string]model.Attr{"epsilon": model.Float(0.001)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, -0.112, 0.11, 0.064, -1.225, 0.076, 1.359, -1.547, 0.859, 0.119, -0.641, 2.0, 0.762, -1.199, 0.075, 0.577, -0.189, 0.683, -0.067, 0.667, 1.439, -0.676, 0.203, -0.463, 0.127), f32([]int{4}, -1.187, -0.579, -0.196, 0.899), f32([]int{4}, 1.145, -1.324, -0.795, 0.647)},
		want: []*model.Tensor{f32([]int{2, 3, 4}, 0.7568475, -1.7484804, -0.92219913, -0.8894851, 1.2644076, -1.9405049, -0.48634008, 1.1959443, 1.6852537, -0.60632133, -1.086291, 0.8344216, 3.0038044, -1.5553638, -1.0251218, 0.640065, 1.1394371, -0.51266974, -0.79003984, 1.9252717, 2.6359046, -1.9460875, -0.6595028, 1.4317573)}},
	{name: "layernorm axis 1 with stats", op: "LayerNormalization", opset: 17, attrs: map[string]model.Attr{"axis": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, -0.112, 0.11, 0.064, -1.225, 0.076, 1.359, -1.547, 0.859, 0.119, -0.641, 2.0, 0.762, -1.199, 0.075, 0.577, -0.189, 0.683, -0.067, 0.667, 1.439, -0.676, 0.203, -0.463, 0.127), f32([]int{3, 4}, -1.992, -0.463, -0.097, 1.257, 0.689, -0.327, -0.369, -0.25, 1.524, -0.428, -0.304, 0.353)},
		want: []*model.Tensor{f32([]int{2, 3, 4}, 0.543336, 0.020091182, 0.0088192085, -1.7883166, -0.05410134, -0.40778401, 0.64773136, -0.18261424, -0.051960588, 0.35066476, -0.58043116, 0.22247425, 3.8474772, 0.015914697, -0.06917522, -0.53735596, 0.60011166, 0.08038404, -0.3126035, -0.49918398, -1.7566755, -0.066866264, 0.25399184, 0.015199935), f32([]int{2, 1, 1}, 0.152, 0.09808334), f32([]int{2, 1, 1}, 1.0331781, 1.4890827)}},
	{name: "instancenorm", op: "InstanceNormalization", opset: 6, attrs: map[string]model.Attr{"epsilon": model.Float(0.0001)},
		ins:  []*model.Tensor{f32([]int{2, 3, 5}, -0.121, -0.197, -1.114, -0.012, -0.444, 1.166, 0.653, -0.024, 0.668, -0.34, 1.052, -0.005, 0.583, -1.291, 0.347, -1.688, -2.035, -0.304, -0.9, 0.164, 2.245, -0.832, -0.624, 0.205, 0.493, -0.176, -0.206, 0.702, 0.52, -1.034), f32([]int{3}, -0.079, 0.035, -1.054), f32([]int{3}, 0.26, -0.858, 0.972)},
		want: []*model.Tensor{f32([]int{2, 3, 5}, 0.20865339, 0.22386128, 0.40735632, 0.1868421, 0.27328688, -0.8097713, -0.8431424, -0.88718176, -0.8421666, -0.90773785, -0.24469247, 1.1611273, 0.3790819, 2.871519, 0.6929641, 0.3306277, 0.3639536, 0.19770852, 0.2549483, 0.15276185, -0.79559076, -0.89419067, -0.8875255, -0.86096084, -0.85173213, 1.206664, 1.2579753, -0.29504868, 0.016240334, 2.674169)}},
	{name: "groupnorm opset 18 per-group scale", op: "GroupNormalization", opset: 18, attrs: map[string]model.Attr{"num_groups": model.Int(2)},
		ins:  []*model.Tensor{f32([]int{2, 4, 3}, 0.193, 0.089, -0.591, -0.119, -1.998, -1.131, 0.363, -2.129, 0.847, -1.746, 0.757, -0.845, 0.779, 0.131, -1.537, 1.249, 1.442, -0.066, -0.274, -0.16, -0.975, 1.099, -0.543, -0.051), f32([]int{2}, -0.793, -0.626), f32([]int{2}, -1.278, 1.257)},
		want: []*model.Tensor{f32([]int{2, 4, 3}, -2.0857491, -1.9788487, -1.2798845, -1.7650479, 0.16635478, -0.7248246, 0.82359403, 2.1377869, 0.5683495, 1.9358063, 0.6158123, 1.4606507, -1.6327195, -1.1173422, 0.20927681, -2.006527, -2.1600268, -0.96066123, 1.3785586, 1.266199, 2.069472, 0.025314773, 1.643688, 1.1587675)}},
	{name: "groupnorm opset 21 per-channel scale", op: "GroupNormalization", opset: 21, attrs: map[string]model.Attr{"num_groups": model.Int(2)},
		ins:  []*model.Tensor{f32([]int{2, 4, 3}, 0.193, 0.089, -0.591, -0.119, -1.998, -1.131, 0.363, -2.129, 0.847, -1.746, 0.757, -0.845, 0.779, 0.131, -1.537, 1.249, 1.442, -0.066, -0.274, -0.16, -0.975, 1.099, -0.543, -0.051), f32([]int{4}, -0.154, 0.966, 0.013, -0.694), f32([]int{4}, -0.327, -0.56, 0.008, -0.375)},
		want: []*model.Tensor{f32([]int{2, 4, 3}, -0.48386425, -0.46310428, -0.32736596, 0.033301726, -2.3194537, -1.2338556, 0.017000444, -0.010291104, 0.02230105, 0.37754253, -1.0858375, -0.14922749, -0.39588624, -0.2958004, -0.038171954, 0.3274617, 0.5144488, -0.946569, 0.005475619, 0.007808966, -0.008872422, -1.7404785, 0.053692494, -0.4839032)}},
}
