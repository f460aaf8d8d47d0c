package engine

import "fmt"

// instanceNormKernel is InstanceNormalization: X [N, C, D...] normalised
// over D... per image and channel (mean and variance in float64), times
// scale[c] plus B[c].
func instanceNormKernel(s *step) error {
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
	if len(scale.F32) != c || len(b.F32) != c {
		return fmt.Errorf("scale %v and B %v must be [%d]", scale.Shape, b.Shape, c)
	}
	eps := float64(s.node.AttrFloat("epsilon", 1e-5))
	setLike(s.out[0], x, x.Shape)
	y := s.out[0].F32
	size := numel(x.Shape[2:])
	for i := range n * c {
		ch := i % c
		row := x.F32[i*size : (i+1)*size]
		m, is := meanInvStd(row, eps)
		out := y[i*size : (i+1)*size]
		for j, v := range row {
			out[j] = float32((float64(v)-m)*is)*scale.F32[ch] + b.F32[ch]
		}
	}
	return nil
}
