package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// groupNormKernel is GroupNormalization: X [N, C, D...] normalised per
// image over each of num_groups groups of C/num_groups channels (mean and
// variance in float64), then scaled and shifted: per group (opset 18, scale
// and bias [num_groups]) or per channel (opset 21, [C]).
func groupNormKernel(perChannel bool) kernel {
	return func(s *step) error {
		x, scale, b, err := needNormInputs(s)
		if err != nil {
			return err
		}
		c := x.Shape[1]
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
		groupNorm(s.out[0], x, scale.F32, b.F32, g, perChannel, float64(s.node.AttrFloat("epsilon", 1e-5)))
		return nil
	}
}

// needNormInputs returns the inputs of GroupNormalization and
// InstanceNormalization: X [N, C, D...], scale and bias.
func needNormInputs(s *step) (x, scale, b *model.Tensor, err error) {
	if x, scale, err = s.need2F32(); err != nil {
		return nil, nil, nil, err
	}
	if b, err = s.needF32(2); err != nil {
		return nil, nil, nil, err
	}
	if len(x.Shape) < 2 {
		return nil, nil, nil, fmt.Errorf("X %v must have rank >= 2", x.Shape)
	}
	return x, scale, b, nil
}

// groupNorm sets out to x [N, C, D...] normalised per image over each of g
// groups of C/g channels (mean and variance in float64), times scale plus
// b: per group ([g]) or, with perChannel, per channel ([C]).
// InstanceNormalization is g = C.
func groupNorm(out, x *model.Tensor, scale, b []float32, g int, perChannel bool, eps float64) {
	setLike(out, x, x.Shape)
	if g == 0 {
		return // C = 0: no channels, nothing to normalise
	}
	y := out.F32
	n, c := x.Shape[0], x.Shape[1]
	size := numel(x.Shape[2:])
	cg := c / g
	for i := range n * g {
		grp := i % g
		blk := x.F32[i*cg*size : (i+1)*cg*size]
		m, is := meanInvStd(blk, eps)
		dst := y[i*cg*size : (i+1)*cg*size]
		for k := range cg {
			sc, sh := scale[grp], b[grp]
			if perChannel {
				sc, sh = scale[grp*cg+k], b[grp*cg+k]
			}
			for j := k * size; j < (k+1)*size; j++ {
				dst[j] = float32((float64(blk[j])-m)*is)*sc + sh
			}
		}
	}
}
