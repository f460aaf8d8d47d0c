package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// expandKernel is Expand: the input broadcast with the shape input, both
// ways (numpy: a dim of 1 in either takes the other's).
func expandKernel(s *step) error {
	x, _, spec, err := s.needInts1("")
	if err != nil {
		return err
	}
	want := make([]int, len(spec))
	for i, d := range spec {
		if d < 0 || d > 1<<31 {
			return fmt.Errorf("shape %v has a negative or huge dim", spec)
		}
		want[i] = int(d)
	}
	shape, err := broadcastShapes(x.Shape, want)
	if err != nil {
		return err
	}
	setLike(s.out[0], x, shape)
	broadcastCopy(s.out[0], x, shape)
	return nil
}

// broadcastCopy fills out (already of shape) with x broadcast to shape.
func broadcastCopy(out, x *model.Tensor, shape []int) {
	if isInt(x) {
		gatherStrided(out.I64, x.I64, shape, bstrides(x.Shape, shape), 0)
	} else {
		gatherStrided(out.F32, x.F32, shape, bstrides(x.Shape, shape), 0)
	}
}
