package engine

import "github.com/xferml/xfer/model"

// hardmaxKernel is Hardmax: 1 at the first maximum along the axis, 0
// elsewhere. Before opset 13 the input is flattened to 2-D at axis
// (default 1) and the maximum taken over each row; from 13 along axis
// (default -1) alone.
func hardmaxKernel(perAxis bool) kernel {
	return func(s *step) error {
		x, err := s.needF32(0)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		axis, err := model.NormAxis(softmaxAxis(s, perAxis), max(r, 1))
		if err != nil {
			return err
		}
		outer, dim, inner := numel(x.Shape[:axis]), numel(x.Shape[axis:]), 1
		if perAxis {
			dim, inner = x.Shape[axis], numel(x.Shape[axis+1:])
		}
		setLike(s.out[0], x, x.Shape)
		y := s.out[0].F32
		clear(y)
		for a := range outer {
			for c := range inner {
				best := -1
				for k := range dim {
					p := (a*dim+k)*inner + c
					if best < 0 || x.F32[p] > x.F32[best] {
						best = p
					}
				}
				if best >= 0 {
					y[best] = 1
				}
			}
		}
		return nil
	}
}
