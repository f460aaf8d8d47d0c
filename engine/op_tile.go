package engine

import "fmt"

// tileKernel is Tile: the input repeated repeats[i] times along each axis
// (repeats is int64, one per dim; opset 6+).
func tileKernel(s *step) error {
	x, _, reps, err := s.needInts1("repeats")
	if err != nil {
		return err
	}
	r := len(x.Shape)
	if len(reps) != r {
		return fmt.Errorf("repeats %v has %d entries for rank %d", reps, len(reps), r)
	}
	// Read as [rep0, d0, rep1, d1, ...] with stride 0 on the repeat dims.
	shape := make([]int, r)
	view := make([]int, 2*r)
	st := make([]int, 2*r)
	xs := strides(x.Shape)
	for i, k := range reps {
		if k < 0 || k > 1<<31 {
			return fmt.Errorf("repeats %v: %d is not a count", reps, k)
		}
		shape[i] = x.Shape[i] * int(k)
		view[2*i], view[2*i+1] = int(k), x.Shape[i]
		st[2*i+1] = xs[i]
	}
	setLike(s.out[0], x, shape)
	allocNumel(view, 1)
	if isInt(x) {
		gatherStrided(s.out[0].I64, x.I64, view, st, 0)
	} else {
		gatherStrided(s.out[0].F32, x.F32, view, st, 0)
	}
	return nil
}
