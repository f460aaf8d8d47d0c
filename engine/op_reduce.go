package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

type redOp int

const (
	redSum redOp = iota
	redMean
	redMax
	redMin
	redProd
	redL1
	redL2
	redLogSum
	redLogSumExp
	redSumSquare
)

// reduceKernel is ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
// ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp and ReduceSumSquare.
// Axes come from the attribute before the op's input-axes version
// (fromInput false: ReduceSum < 13, the others < 18) and from optional
// input 1 after. No axes reduces every axis, unless noop_with_empty_axes=1
// (input version only), which makes the op the identity. keepdims
// (default 1) keeps reduced axes as 1. Floats accumulate in float64
// (LogSumExp from the maximum, for stability); integers in int64 (Mean,
// L2, LogSum and LogSumExp of integers in float64, then truncated). An
// empty reduction gives the op's identity: 0, 1, -inf (Max, LogSum,
// LogSumExp) or +inf (Min).
func reduceKernel(op redOp, fromInput bool) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		axes := s.node.AttrInts("axes", nil)
		noop := false
		if fromInput {
			axes = nil
			if t := s.opt(1); t != nil {
				if axes, err = ints(t); err != nil {
					return fmt.Errorf("axes: %w", err)
				}
			}
			noop = len(axes) == 0 && s.node.AttrInt("noop_with_empty_axes", 0) != 0
		}
		if noop {
			alias(s.out[0], x, x.Shape)
			return nil
		}
		red := make([]bool, r)
		if len(axes) == 0 {
			for i := range red {
				red[i] = true
			}
		}
		for _, a := range axes {
			ax, err := model.NormAxis(a, r)
			if err != nil {
				return err
			}
			red[ax] = true
		}
		keep := s.node.AttrInt("keepdims", 1) != 0
		full := make([]int, r) // output shape with reduced axes as 1
		shape := []int{}
		for d := range r {
			full[d] = x.Shape[d]
			if red[d] {
				full[d] = 1
			}
			if !red[d] || keep {
				shape = append(shape, full[d])
			}
		}
		count := 0
		if numel(full) > 0 {
			count = numel(x.Shape) / numel(full)
		}
		ost := bstrides(full, x.Shape) // output offset of each input element
		p := newLoopPlan(x.Shape, ost, strides(x.Shape))
		exactInt := isInt(x) && (op == redSum || op == redMax || op == redMin || op == redProd || op == redL1 || op == redSumSquare)
		if exactInt {
			d := setI64(s.out[0], shape)
			init := int64(0)
			switch op {
			case redMax:
				init = math.MinInt64
			case redMin:
				init = math.MaxInt64
			case redProd:
				init = 1
			}
			for i := range d {
				d[i] = init
			}
			p.each(func(offs []int, n int, inner []int) {
				for i := range n {
					o, v := offs[0]+i*inner[0], x.I64[offs[1]+i*inner[1]]
					switch op {
					case redMax:
						d[o] = max(d[o], v)
					case redMin:
						d[o] = min(d[o], v)
					case redProd:
						d[o] *= v
					case redL1:
						d[o] += max(v, -v)
					case redSumSquare:
						d[o] += v * v
					default:
						d[o] += v
					}
				}
			})
			return nil
		}
		val := func(i int) float64 {
			if isInt(x) {
				return float64(x.I64[i])
			}
			return float64(x.F32[i])
		}
		acc := make([]float64, numel(full))
		var peak []float64
		if op == redLogSumExp {
			// First pass: the maximum of each output's inputs.
			peak = make([]float64, len(acc))
			for i := range peak {
				peak[i] = math.Inf(-1)
			}
			p.each(func(offs []int, n int, inner []int) {
				for i := range n {
					o, v := offs[0]+i*inner[0], val(offs[1]+i*inner[1])
					if v > peak[o] || v != v {
						peak[o] = v
					}
				}
			})
			for i, m := range peak {
				if math.IsInf(m, 0) {
					peak[i] = 0 // all -inf (or empty): exp(-inf) = 0; +inf stays +inf below
				}
			}
		}
		switch op {
		case redMax:
			fill(acc, math.Inf(-1))
		case redMin:
			fill(acc, math.Inf(1))
		case redProd:
			fill(acc, 1)
		}
		p.each(func(offs []int, n int, inner []int) {
			for i := range n {
				o, v := offs[0]+i*inner[0], val(offs[1]+i*inner[1])
				switch op {
				case redMax:
					if v > acc[o] || v != v {
						acc[o] = v
					}
				case redMin:
					if v < acc[o] || v != v {
						acc[o] = v
					}
				case redProd:
					acc[o] *= v
				case redL1:
					acc[o] += math.Abs(v)
				case redL2, redSumSquare:
					acc[o] += v * v
				case redLogSumExp:
					acc[o] += math.Exp(v - peak[o])
				default:
					acc[o] += v
				}
			}
		})
		for i, v := range acc {
			switch op {
			case redMean:
				v /= float64(count)
			case redL2:
				v = math.Sqrt(v)
			case redLogSum:
				v = math.Log(v)
			case redLogSumExp:
				v = math.Log(v) + peak[i]
			}
			acc[i] = v
		}
		setLike(s.out[0], x, shape)
		o := s.out[0]
		for i, v := range acc {
			if isInt(x) {
				o.I64[i] = int64(v)
			} else {
				o.F32[i] = float32(v)
			}
		}
		return nil
	}
}

func fill(v []float64, x float64) {
	for i := range v {
		v[i] = x
	}
}
