package engine

import "fmt"

// depthToSpaceKernel is DepthToSpace (toSpace true; mode DCR, the default,
// or CRD) and SpaceToDepth on [N, C, H, W] with blocksize b.
func depthToSpaceKernel(toSpace bool) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		if len(x.Shape) != 4 {
			return fmt.Errorf("input %v must be 4-D", x.Shape)
		}
		b := int(s.node.AttrInt("blocksize", 0))
		if b < 1 {
			return fmt.Errorf("blocksize %d must be positive", b)
		}
		n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		var view, st, shape []int
		xs := strides(x.Shape)
		if toSpace {
			if c%(b*b) != 0 {
				return fmt.Errorf("%d channels do not divide by blocksize² %d", c, b*b)
			}
			oc := c / (b * b)
			shape = []int{n, oc, h * b, w * b}
			// Output index (n, oc, h, b1, w, b2) reads channel
			// DCR: (b1*b + b2)*oc + oc_i;  CRD: oc_i*b*b + b1*b + b2.
			view = []int{n, oc, h, b, w, b}
			if s.node.AttrString("mode", "DCR") == "CRD" {
				st = []int{xs[0], b * b * xs[1], xs[2], b * xs[1], xs[3], xs[1]}
			} else {
				st = []int{xs[0], xs[1], xs[2], b * oc * xs[1], xs[3], oc * xs[1]}
			}
		} else {
			if h%b != 0 || w%b != 0 {
				return fmt.Errorf("spatial dims %dx%d do not divide by blocksize %d", h, w, b)
			}
			shape = []int{n, c * b * b, h / b, w / b}
			// Output channel (b1*b + b2)*c + ci at (h', w') reads
			// (ci, h'*b + b1, w'*b + b2).
			view = []int{n, b, b, c, h / b, w / b}
			st = []int{xs[0], xs[2], xs[3], xs[1], b * xs[2], b * xs[3]}
		}
		setLike(s.out[0], x, shape)
		if isInt(x) {
			gatherStrided(s.out[0].I64, x.I64, view, st, 0)
		} else {
			gatherStrided(s.out[0].F32, x.F32, view, st, 0)
		}
		return nil
	}
}
