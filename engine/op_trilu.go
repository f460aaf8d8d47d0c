package engine

import "fmt"

// triluKernel is Trilu: the upper (upper=1, default) or lower triangle of
// the last two dims, the diagonal shifted by k (optional int64 scalar
// input 1); the rest is 0.
func triluKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	if r < 2 {
		return fmt.Errorf("input %v must have rank >= 2", x.Shape)
	}
	k := int64(0)
	if t := s.opt(1); t != nil {
		v, err := ints(t)
		if err != nil || len(v) != 1 {
			return fmt.Errorf("k must be an int64 scalar")
		}
		k = v[0]
	}
	upper := s.node.AttrInt("upper", 1) != 0
	rows, cols := x.Shape[r-2], x.Shape[r-1]
	setLike(s.out[0], x, x.Shape)
	o := s.out[0]
	copy(o.F32, x.F32)
	copy(o.I64, x.I64)
	for m := range numel(x.Shape[:r-2]) {
		for i := range rows {
			for j := range cols {
				d := int64(j - i)
				if upper && d < k || !upper && d > k {
					p := (m*rows+i)*cols + j
					if isInt(x) {
						o.I64[p] = 0
					} else {
						o.F32[p] = 0
					}
				}
			}
		}
	}
	return nil
}
