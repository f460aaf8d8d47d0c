package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// layerNormKernel is LayerNormalization (opset 17): X normalised over the
// dims from axis on (mean and variance in float64), times Scale plus B
// (both broadcast to those dims); optional outputs Mean and InvStdDev have
// X's shape with those dims set to 1.
func layerNormKernel(s *step) error {
	x, scale, err := s.need2F32()
	if err != nil {
		return err
	}
	r := len(x.Shape)
	axis, err := model.NormAxis(s.node.AttrInt("axis", -1), r)
	if err != nil {
		return err
	}
	eps := float64(s.node.AttrFloat("epsilon", 1e-5))
	norm := x.Shape[axis:]
	rows, n := numel(x.Shape[:axis]), numel(norm)
	sc, err := broadcastTo(scale, norm, "Scale")
	if err != nil {
		return err
	}
	var bias []float32
	if b := s.opt(2); b != nil {
		if bias, err = broadcastTo(b, norm, "B"); err != nil {
			return err
		}
	}
	setLike(s.out[0], x, x.Shape)
	y := s.out[0].F32
	stat := append(append([]int{}, x.Shape[:axis]...), make([]int, r-axis)...)
	for i := axis; i < r; i++ {
		stat[i] = 1
	}
	var mean, inv []float32
	if len(s.out) > 1 && s.outs[1] >= 0 {
		mean = setF32(s.out[1], stat)
	}
	if len(s.out) > 2 && s.outs[2] >= 0 {
		inv = setF32(s.out[2], stat)
	}
	for i := range rows {
		row := x.F32[i*n : (i+1)*n]
		m, is := meanInvStd(row, eps)
		out := y[i*n : (i+1)*n]
		for j, v := range row {
			o := float32((float64(v)-m)*is) * sc[j]
			if bias != nil {
				o += bias[j]
			}
			out[j] = o
		}
		if mean != nil {
			mean[i] = float32(m)
		}
		if inv != nil {
			inv[i] = float32(is)
		}
	}
	return nil
}

// meanInvStd returns the mean of v and 1/sqrt(variance + eps), in float64
// (two passes, the variance of the centred values).
func meanInvStd(v []float32, eps float64) (mean, invStd float64) {
	if len(v) == 0 {
		return 0, 1 / math.Sqrt(eps)
	}
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	var ss float64
	for _, x := range v {
		d := float64(x) - mean
		ss += d * d
	}
	return mean, 1 / math.Sqrt(ss/float64(len(v))+eps)
}

// broadcastTo returns t's values broadcast to shape (t's own slice when it
// already has shape's element count and broadcasts without repeating).
func broadcastTo(t *model.Tensor, shape []int, what string) ([]float32, error) {
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("%s has dtype %v, want a float type", what, t.DType)
	}
	b, err := broadcastShapes(t.Shape, shape)
	if err != nil || len(b) != len(shape) || numel(b) != numel(shape) {
		return nil, fmt.Errorf("%s %v does not broadcast to %v", what, t.Shape, shape)
	}
	if len(t.F32) == numel(shape) {
		return t.F32, nil
	}
	out := make([]float32, numel(shape))
	gatherStrided(out, t.F32, shape, bstrides(t.Shape, shape), 0)
	return out, nil
}
