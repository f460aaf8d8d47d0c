package engine

import "github.com/xferml/xfer/model"

// splitKernel is Split along attribute axis: sizes from attribute split
// (opsets 1-12; opset 1 also takes them as input 1) or input 1 (13+); without
// sizes, equal parts, one per output (opset 18: num_outputs parts of
// ceil(dim/n), the last smaller).
func splitKernel(version int) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		axis, err := model.NormAxis(s.node.AttrInt("axis", 0), r)
		if err != nil {
			return err
		}
		sizes, err := model.SplitSizes(s.node, version, x.Shape[axis], len(s.out), splitInput(s, version))
		if err != nil {
			return err
		}
		outer, inner := numel(x.Shape[:axis]), numel(x.Shape[axis+1:])
		dim := x.Shape[axis]
		off := 0
		for i, n := range sizes {
			shape := append([]int{}, x.Shape...)
			shape[axis] = n
			o := s.out[i]
			setLike(o, x, shape)
			for k := range outer {
				src := (k*dim + off) * inner
				dst := k * n * inner
				if isInt(x) {
					copy(o.I64[dst:dst+n*inner], x.I64[src:])
				} else {
					copy(o.F32[dst:dst+n*inner], x.F32[src:])
				}
			}
			off += n
		}
		return nil
	}
}

// splitInput returns the sizes given as input 1, or nil.
func splitInput(s *step, version int) []int64 {
	if version != 1 && version < 13 {
		return nil
	}
	t := s.opt(1)
	if t == nil || !isInt(t) {
		return nil
	}
	return t.I64
}
