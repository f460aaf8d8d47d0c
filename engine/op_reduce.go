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
)

// reduceKernel is ReduceSum, ReduceMean or ReduceMax. Axes come from the
// attribute before the op's input-axes version (fromInput false: ReduceSum
// < 13, the others < 18) and from optional input 1 after. No axes reduces
// every axis, unless noop_with_empty_axes=1 (input version only), which
// makes the op the identity. keepdims (default 1) keeps reduced axes as 1.
// Sums accumulate in float64.
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
		var shape []int
		for d := range r {
			full[d] = x.Shape[d]
			if red[d] {
				full[d] = 1
			}
			if !red[d] || keep {
				shape = append(shape, full[d])
			}
		}
		count := numel(x.Shape) / max(numel(full), 1)
		if numel(full) == 0 {
			count = 0
		}
		ost := bstrides(full, x.Shape) // output offset of each input element
		p := newLoopPlan(x.Shape, ost, strides(x.Shape))
		if isInt(x) {
			if op == redMean {
				return fmt.Errorf("int64 input, want float32")
			}
			d := setI64(s.out[0], shape)
			init := int64(0)
			if op == redMax {
				init = math.MinInt64
			}
			for i := range d {
				d[i] = init
			}
			p.each(func(offs []int, n int, inner []int) {
				for i := range n {
					o, v := offs[0]+i*inner[0], x.I64[offs[1]+i*inner[1]]
					if op == redMax {
						d[o] = max(d[o], v)
					} else {
						d[o] += v
					}
				}
			})
			return nil
		}
		acc := make([]float64, numel(full))
		if op == redMax {
			for i := range acc {
				acc[i] = math.Inf(-1)
			}
		}
		p.each(func(offs []int, n int, inner []int) {
			for i := range n {
				o, v := offs[0]+i*inner[0], float64(x.F32[offs[1]+i*inner[1]])
				if op == redMax {
					if v > acc[o] || v != v {
						acc[o] = v
					}
				} else {
					acc[o] += v
				}
			}
		})
		d := setF32(s.out[0], shape)
		for i, v := range acc {
			if op == redMean {
				v /= float64(count)
			}
			d[i] = float32(v)
		}
		return nil
	}
}
