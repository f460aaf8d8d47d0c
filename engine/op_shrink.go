package engine

// shrinkKernel is Shrink: x+bias below -lambd, x-bias above lambd, 0
// between (lambd default 0.5, bias 0); integers computed in float64.
func shrinkKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	lambd := float64(s.node.AttrFloat("lambd", 0.5))
	bias := float64(s.node.AttrFloat("bias", 0))
	f := func(v float64) float64 {
		switch {
		case v < -lambd:
			return v + bias
		case v > lambd:
			return v - bias
		}
		return 0
	}
	setLike(s.out[0], x, x.Shape)
	for i, v := range x.F32 {
		s.out[0].F32[i] = float32(f(float64(v)))
	}
	for i, v := range x.I64 {
		s.out[0].I64[i] = int64(f(float64(v)))
	}
	return nil
}
