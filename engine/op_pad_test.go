package engine

import (
	"testing"

	"github.com/xferml/xfer/model"
)

func TestPad(t *testing.T) { runCases(t, padCases) }

func TestPadErrors(t *testing.T) {
	runError(t, opCase{name: "wrap", op: "Pad", opset: 19, attrs: map[string]model.Attr{"mode": model.String("wrap")},
		ins: []*model.Tensor{f32([]int{2}, 1, 2), i64([]int{2}, 1, 1)}, want: []*model.Tensor{nil}}, "wrap")
	runError(t, opCase{name: "pads length", op: "Pad", opset: 13,
		ins: []*model.Tensor{f32([]int{2}, 1, 2), i64([]int{3}, 1, 1, 1)}, consts: []int{1}, want: []*model.Tensor{nil}}, "pads")
}

// Cases computed with numpy 1.24 np.pad (/usr/bin/python3, engine/testdata/gencases/g4.py, seed 7).
var padCases = []opCase{
	{name: "pad constant opset 11", op: "Pad", opset: 11, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3}, 1.096, -0.912, -0.854, 0.205, -0.702, 0.675), i64([]int{4}, 0, 1, 1, 2), f32([]int{}, 2.5)},
		consts: []int{1},
		want:   []*model.Tensor{f32([]int{3, 6}, 2.5, 1.096, -0.912, -0.854, 2.5, 2.5, 2.5, 0.205, -0.702, 0.675, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5)}},
	{name: "pad reflect", op: "Pad", opset: 13, attrs: map[string]model.Attr{"mode": model.String("reflect")},
		ins:  []*model.Tensor{f32([]int{2, 3}, 1.096, -0.912, -0.854, 0.205, -0.702, 0.675), i64([]int{4}, 1, 2, 1, 0)},
		want: []*model.Tensor{f32([]int{4, 5}, 0.675, -0.702, 0.205, -0.702, 0.675, -0.854, -0.912, 1.096, -0.912, -0.854, 0.675, -0.702, 0.205, -0.702, 0.675, -0.854, -0.912, 1.096, -0.912, -0.854)}},
	{name: "pad edge", op: "Pad", opset: 13, attrs: map[string]model.Attr{"mode": model.String("edge")},
		ins:  []*model.Tensor{f32([]int{2, 3}, 1.096, -0.912, -0.854, 0.205, -0.702, 0.675), i64([]int{4}, 0, 2, 1, 1)},
		want: []*model.Tensor{f32([]int{3, 6}, 1.096, 1.096, 1.096, -0.912, -0.854, -0.854, 0.205, 0.205, 0.205, -0.702, 0.675, 0.675, 0.205, 0.205, 0.205, -0.702, 0.675, 0.675)}},
	{name: "pad attrs opset 2", op: "Pad", opset: 2, attrs: map[string]model.Attr{"pads": model.Ints(1, 0, 0, 1), "value": model.Float(-1.0)},
		ins:  []*model.Tensor{f32([]int{2, 3}, 1.096, -0.912, -0.854, 0.205, -0.702, 0.675)},
		want: []*model.Tensor{f32([]int{3, 4}, -1.0, -1.0, -1.0, -1.0, 1.096, -0.912, -0.854, -1.0, 0.205, -0.702, 0.675, -1.0)}},
	{name: "pad negative crops", op: "Pad", opset: 13, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3}, 1.096, -0.912, -0.854, 0.205, -0.702, 0.675), i64([]int{4}, 0, -1, 0, 1)},
		want: []*model.Tensor{f32([]int{2, 3}, -0.912, -0.854, 0.0, -0.702, 0.675, 0.0)}},
	{name: "pad axes opset 18", op: "Pad", opset: 18, attrs: nil,
		ins:    []*model.Tensor{f32([]int{2, 3}, 1.096, -0.912, -0.854, 0.205, -0.702, 0.675), i64([]int{2}, 2, 1), nil, i64([]int{1}, -1)},
		consts: []int{1, 3},
		want:   []*model.Tensor{f32([]int{2, 6}, 0.0, 0.0, 1.096, -0.912, -0.854, 0.0, 0.0, 0.0, 0.205, -0.702, 0.675, 0.0)}},
	{name: "pad int64", op: "Pad", opset: 13, attrs: nil,
		ins:  []*model.Tensor{i64([]int{3}, 1, 2, 3), i64([]int{2}, 1, 1)},
		want: []*model.Tensor{i64([]int{5}, 0, 1, 2, 3, 0)}},
}
