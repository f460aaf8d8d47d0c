package engine

import "fmt"

// groupNormKernel is GroupNormalization: X [N, C, D...] normalised per
// image over each of num_groups groups of C/num_groups channels (mean and
// variance in float64), then scaled and shifted: per group (opset 18, scale
// and bias [num_groups]) or per channel (opset 21, [C]).
func groupNormKernel(perChannel bool) kernel {
	return func(s *step) error {
		x, err := s.needF32(0)
		if err != nil {
			return err
		}
		scale, err := s.needF32(1)
		if err != nil {
			return err
		}
		b, err := s.needF32(2)
		if err != nil {
			return err
		}
		if len(x.Shape) < 2 {
			return fmt.Errorf("X %v must have rank >= 2", x.Shape)
		}
		n, c := x.Shape[0], x.Shape[1]
		g := int(s.node.AttrInt("num_groups", 0))
		if g < 1 || c%g != 0 {
			return fmt.Errorf("num_groups %d does not divide %d channels", g, c)
		}
		want := g
		if perChannel {
			want = c
		}
		if len(scale.F32) != want || len(b.F32) != want {
			return fmt.Errorf("scale %v and bias %v must be [%d]", scale.Shape, b.Shape, want)
		}
		eps := float64(s.node.AttrFloat("epsilon", 1e-5))
		setLike(s.out[0], x, x.Shape)
		y := s.out[0].F32
		size := numel(x.Shape[2:])
		cg := c / g
		for i := range n * g {
			grp := i % g
			blk := x.F32[i*cg*size : (i+1)*cg*size]
			m, is := meanInvStd(blk, eps)
			out := y[i*cg*size : (i+1)*cg*size]
			for k := range cg {
				sc, sh := scale.F32[grp], b.F32[grp]
				if perChannel {
					sc, sh = scale.F32[grp*cg+k], b.F32[grp*cg+k]
				}
				for j := k * size; j < (k+1)*size; j++ {
					out[j] = float32((float64(blk[j])-m)*is)*sc + sh
				}
			}
		}
		return nil
	}
}
