package engine

import (
	"testing"

	"github.com/xferml/xfer/model"
)

func TestBatchNorm(t *testing.T) { runCases(t, batchNormCases) }

func TestBatchNormTrainingMode(t *testing.T) {
	p := f32([]int{1}, 1)
	runError(t, opCase{name: "training_mode", op: "BatchNormalization", opset: 15, attrs: map[string]model.Attr{"training_mode": model.Int(1)},
		ins: []*model.Tensor{f32([]int{1, 1}, 1), p, p, p, p}, want: []*model.Tensor{nil}}, "training_mode")
}

// Cases computed with PyTorch 1.13 F.batch_norm(training=False) in float64 (/usr/bin/python3, engine/testdata/gencases/g4.py, seed 7).
var batchNormCases = []opCase{
	{name: "batchnorm opset 15", op: "BatchNormalization", opset: 15, attrs: map[string]model.Attr{"epsilon": model.Float(0.001)},
		ins:    []*model.Tensor{f32([]int{2, 3, 2, 2}, -0.055, 0.308, -1.698, -0.365, -0.6, -0.864, -2.255, -0.335, 0.897, 0.381, -0.601, -0.015, 0.757, -2.76, -0.125, 0.543, 0.682, 1.701, 1.135, 0.313, 0.302, 0.787, -0.539, -0.04), f32([]int{3}, 0.906, 1.957, -0.159), f32([]int{3}, -0.048, 0.198, 1.343), f32([]int{3}, -0.03, 1.469, -0.967), f32([]int{3}, 0.286, 0.298, 0.887)},
		consts: []int{1, 2, 3, 4},
		want:   []*model.Tensor{f32([]int{2, 3, 2, 2}, -0.09027925, 0.5236154, -2.8688715, -0.61454195, -7.2068405, -8.151683, -13.129998, -6.25842, 1.0284885, 1.1155529, 1.2812451, 1.1823697, 1.2829508, -4.664894, -0.20866114, 0.92104036, -2.6186311, 1.0283157, -0.99736816, -3.9392624, 1.1288825, 1.0470488, 1.2707839, 1.1865879)}},
	{name: "batchnorm 2-D default epsilon", op: "BatchNormalization", opset: 9, attrs: nil,
		ins:  []*model.Tensor{f32([]int{4, 3}, 1.045, -1.509, -0.915, 0.337, -0.659, -1.522, 1.038, 0.494, 0.493, -0.475, 1.029, -0.24), f32([]int{3}, 0.906, 1.957, -0.159), f32([]int{3}, -0.048, 0.198, 1.343), f32([]int{3}, -0.03, 1.469, -0.967), f32([]int{3}, 0.286, 0.298, 0.887)},
		want: []*model.Tensor{f32([]int{4, 3}, 1.7731513, -10.477792, 1.3342212, 0.5737326, -7.4306383, 1.4366971, 1.7612927, -3.2972643, 1.0965178, -0.80187196, -1.3793498, 1.2202654)}},
}
