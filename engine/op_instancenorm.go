package engine

import "fmt"

// instanceNormKernel is InstanceNormalization: X [N, C, D...] normalised
// over D... per image and channel (mean and variance in float64), times
// scale[c] plus B[c]: GroupNormalization with one group per channel.
func instanceNormKernel(s *step) error {
	x, scale, b, err := needNormInputs(s)
	if err != nil {
		return err
	}
	c := x.Shape[1]
	if len(scale.F32) != c || len(b.F32) != c {
		return fmt.Errorf("scale %v and B %v must be [%d]", scale.Shape, b.Shape, c)
	}
	groupNorm(s.out[0], x, scale.F32, b.F32, c, true, float64(s.node.AttrFloat("epsilon", 1e-5)))
	return nil
}
