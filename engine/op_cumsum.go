package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// cumSumKernel is CumSum along the axis given as input 1 (a scalar):
// exclusive=1 starts from 0 (each output omits its own element),
// reverse=1 sums from the end. Floats accumulate in float64.
func cumSumKernel(s *step) error {
	x, at, err := s.need2()
	if err != nil {
		return err
	}
	av, err := ints(at)
	if err != nil || len(av) != 1 {
		return fmt.Errorf("axis must be an integer scalar")
	}
	axis, err := model.NormAxis(av[0], len(x.Shape))
	if err != nil {
		return err
	}
	excl := s.node.AttrInt("exclusive", 0) != 0
	rev := s.node.AttrInt("reverse", 0) != 0
	setLike(s.out[0], x, x.Shape)
	o := s.out[0]
	outer, dim, inner := numel(x.Shape[:axis]), x.Shape[axis], numel(x.Shape[axis+1:])
	for a := range outer {
		for c := range inner {
			var fs float64
			var is int64
			for k := range dim {
				j := k
				if rev {
					j = dim - 1 - k
				}
				p := (a*dim+j)*inner + c
				if isInt(x) {
					if excl {
						o.I64[p] = is
						is += x.I64[p]
					} else {
						is += x.I64[p]
						o.I64[p] = is
					}
					continue
				}
				if excl {
					o.F32[p] = float32(fs)
					fs += float64(x.F32[p])
				} else {
					fs += float64(x.F32[p])
					o.F32[p] = float32(fs)
				}
			}
		}
	}
	return nil
}
