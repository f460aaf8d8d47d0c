package engine

import (
	"testing"

	"github.com/xferml/xfer/model"
)

func TestReduce(t *testing.T) { runCases(t, reduceCases) }

// Cases computed with numpy 1.24 in float64 (/usr/bin/python3, engine/testdata/gencases/g4.py, seed 7).
var reduceCases = []opCase{
	{name: "reducemean axes attr keepdims", op: "ReduceMean", opset: 13, attrs: map[string]model.Attr{"axes": model.Ints(1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213)},
		want: []*model.Tensor{f32([]int{2, 1, 4}, 1.1383333, 0.14766665, -0.101, 0.35966665, 0.8833333, -0.57033336, -0.921, -0.36900002)}},
	{name: "reducemean all", op: "ReduceMean", opset: 13, attrs: map[string]model.Attr{"keepdims": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213)},
		want: []*model.Tensor{f32([]int{}, 0.07095833)}},
	{name: "reducemean opset 18 axes input", op: "ReduceMean", opset: 18, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213), i64([]int{2}, 0, 2)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{1, 3, 1}, -0.048875004, -0.30062503, 0.562375)}},
	{name: "reducesum opset 11 attr", op: "ReduceSum", opset: 11, attrs: map[string]model.Attr{"axes": model.Ints(-1), "keepdims": model.Int(0)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213)},
		want: []*model.Tensor{f32([]int{2, 3}, -0.941, 1.055, 4.52, 0.54999995, -3.46, -0.020999998)}},
	{name: "reducesum opset 13 input no keepdims", op: "ReduceSum", opset: 13, attrs: map[string]model.Attr{"keepdims": model.Int(0)},
		ins:    []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213), i64([]int{2}, 0, -1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{3}, -0.39100003, -2.4050002, 4.499)}},
	{name: "reducesum noop empty axes", op: "ReduceSum", opset: 13, attrs: map[string]model.Attr{"noop_with_empty_axes": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213)},
		want: []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213)}},
	{name: "reducesum empty axes reduces all", op: "ReduceSum", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213)},
		want: []*model.Tensor{f32([]int{1, 1, 1}, 1.703)}},
	{name: "reducemax opset 13 attr", op: "ReduceMax", opset: 13, attrs: map[string]model.Attr{"axes": model.Ints(2)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213)},
		want: []*model.Tensor{f32([]int{2, 3, 1}, 0.26, 1.211, 2.239, 1.533, 0.452, 0.665)}},
	{name: "reducemax opset 18 input", op: "ReduceMax", opset: 18, attrs: map[string]model.Attr{"keepdims": model.Int(0)},
		ins:    []*model.Tensor{f32([]int{2, 3, 4}, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213), i64([]int{1}, 1)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{2, 4}, 2.239, 1.999, 0.073, 1.211, 1.533, -0.124, -0.141, 0.213)}},
	{name: "reducesum int64", op: "ReduceSum", opset: 13, attrs: map[string]model.Attr{"keepdims": model.Int(0)},
		ins:    []*model.Tensor{i64([]int{2, 2}, 1, 2, 3, 4), i64([]int{1}, 1)},
		consts: []int{1},
		want:   []*model.Tensor{i64([]int{2}, 3, 7)}},
}

var _ = model.Float32
