package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// sliceKernel is ONNX Slice: starts, ends, axes attributes before opset 10
// (fromInput false); from 10, inputs starts, ends and optional axes and
// steps (int64 or int32), negative steps included. model.SliceDims
// resolves the bounds as numpy does.
func sliceKernel(fromInput bool) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		var starts, ends, axes, steps []int64
		if !fromInput {
			starts, ends, axes = s.node.AttrInts("starts", nil), s.node.AttrInts("ends", nil), s.node.AttrInts("axes", nil)
			if starts == nil || ends == nil {
				return fmt.Errorf("missing attribute starts or ends")
			}
		} else {
			for i, dst := range []*[]int64{&starts, &ends, &axes, &steps} {
				t := s.opt(i + 1)
				if t == nil {
					if i < 2 {
						return fmt.Errorf("missing input %d (starts, ends)", i+1)
					}
					continue
				}
				v, err := ints(t)
				if err != nil {
					return fmt.Errorf("input %d: %w", i+1, err)
				}
				*dst = v
			}
		}
		sl, err := model.SliceDims(x.Shape, starts, ends, axes, steps)
		if err != nil {
			return err
		}
		shape := make([]int, len(sl))
		base := 0
		st := strides(x.Shape)
		sst := make([]int, len(sl))
		for i, a := range sl {
			shape[i] = a.Count
			if a.Count > 0 {
				base += a.Start * st[i]
			}
			sst[i] = a.Step * st[i]
		}
		setLike(s.out[0], x, shape)
		if numel(shape) == 0 {
			return nil
		}
		if isInt(x) {
			gatherStrided(s.out[0].I64, x.I64, shape, sst, base)
		} else {
			gatherStrided(s.out[0].F32, x.F32, shape, sst, base)
		}
		return nil
	}
}

// gatherStrided copies into dst, laid out as shape, the elements of src at
// base + sum(i_d * st[d]) (strides may be negative or 0).
func gatherStrided[T float32 | int64](dst, src []T, shape, st []int, base int) {
	p := newLoopPlan(shape, strides(shape), st)
	p.each(func(offs []int, n int, inner []int) {
		d := dst[offs[0] : offs[0]+n]
		o, sx := base+offs[1], inner[1]
		if sx == 1 {
			copy(d, src[o:o+n])
			return
		}
		for i := range d {
			d[i] = src[o+i*sx]
		}
	})
}
