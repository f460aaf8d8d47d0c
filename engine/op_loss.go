package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// nllKernel is NegativeLogLikelihoodLoss and softmaxCEKernel is
// SoftmaxCrossEntropyLoss (its log_softmax over axis 1 in float64, then
// the same loss; the optional second output is that log-probability): the
// losses of exported PyTorch training graphs, as ONNX's reference computes
// them. Input [N, C] or [N, C, d...], integer target [N] or [N, d...],
// optional weight [C]; each element's loss is -input[n, t, d...] times
// w = weight[t] (1 without weights, 0 where t = ignore_index); reduction
// none keeps the target's shape, sum adds, mean (the default) divides the
// sum by the sum of w.
func nllKernel(s *step) error {
	x, err := s.needF32(0)
	if err != nil {
		return err
	}
	return lossFrom(s, x.F32, x.Shape)
}

func softmaxCEKernel(s *step) error {
	x, err := s.needF32(0)
	if err != nil {
		return err
	}
	if len(x.Shape) < 2 {
		return fmt.Errorf("scores %v must be [N, C, ...]", x.Shape)
	}
	n, c := x.Shape[0], x.Shape[1]
	d := numel(x.Shape[2:])
	lp := make([]float32, len(x.F32))
	for i := range n {
		for k := range d {
			peak := math.Inf(-1)
			for j := range c {
				peak = math.Max(peak, float64(x.F32[(i*c+j)*d+k]))
			}
			var sum float64
			for j := range c {
				sum += math.Exp(float64(x.F32[(i*c+j)*d+k]) - peak)
			}
			ls := math.Log(sum) + peak
			for j := range c {
				p := (i*c+j)*d + k
				lp[p] = float32(float64(x.F32[p]) - ls)
			}
		}
	}
	if len(s.out) > 1 && s.outs[1] >= 0 {
		copy(setF32(s.out[1], x.Shape), lp)
	}
	return lossFrom(s, lp, x.Shape)
}

// lossFrom computes the loss of log-probabilities (or NLL's input) lp of
// shape [N, C, d...] into s.out[0].
func lossFrom(s *step, lp []float32, shape []int) error {
	if len(shape) < 2 {
		return fmt.Errorf("input %v must be [N, C, ...]", shape)
	}
	tt, err := s.need(1)
	if err != nil {
		return err
	}
	target, err := ints(tt)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	n, c := shape[0], shape[1]
	d := numel(shape[2:])
	tshape := append([]int{n}, shape[2:]...)
	if !equalShapes(tt.Shape, tshape) {
		return fmt.Errorf("target %v must be %v", tt.Shape, tshape)
	}
	var weight []float32
	if w := s.opt(2); w != nil {
		if !w.DType.IsFloat() || len(w.F32) != c {
			return fmt.Errorf("weight %v %v must be float [%d]", w.DType, w.Shape, c)
		}
		weight = w.F32
	}
	ignore, hasIgnore := int64(0), false
	if a, ok := s.node.Attrs["ignore_index"]; ok && a.Kind == model.AttrInt {
		ignore, hasIgnore = a.Int, true
	}
	red := s.node.AttrString("reduction", "mean")
	loss := make([]float64, n*d)
	var wsum float64
	for i := range n {
		for k := range d {
			t := target[i*d+k]
			if hasIgnore && t == ignore {
				continue
			}
			if t < 0 || t >= int64(c) {
				return fmt.Errorf("target %d at %d is outside [0, %d) and not ignore_index", t, i*d+k, c)
			}
			w := 1.0
			if weight != nil {
				w = float64(weight[t])
			}
			loss[i*d+k] = -float64(lp[(i*c+int(t))*d+k]) * w
			wsum += w
		}
	}
	switch red {
	case "none":
		o := setF32(s.out[0], tshape)
		for i, v := range loss {
			o[i] = float32(v)
		}
	case "sum", "mean":
		var sum float64
		for _, v := range loss {
			sum += v
		}
		if red == "mean" {
			sum /= wsum
		}
		setF32(s.out[0], []int{})[0] = float32(sum)
	default:
		return fmt.Errorf("reduction %q (want none, sum or mean)", red)
	}
	return nil
}
