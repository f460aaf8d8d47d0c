package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// scatterElementsKernel is ScatterElements (and the deprecated Scatter,
// opsets 9-10): a copy of data with updates written at indices along axis;
// reduction (opset 16, 18) none, add, mul, max or min combines them with
// what is there.
func scatterElementsKernel(s *step) error {
	x, it, err := s.need2()
	if err != nil {
		return err
	}
	u, err := s.need(2)
	if err != nil {
		return err
	}
	if u.DType != x.DType {
		return fmt.Errorf("updates have dtype %v, data %v", u.DType, x.DType)
	}
	idx, err := ints(it)
	if err != nil {
		return fmt.Errorf("indices: %w", err)
	}
	if !equalShapes(it.Shape, u.Shape) {
		return fmt.Errorf("indices %v and updates %v differ in shape", it.Shape, u.Shape)
	}
	_, pos, err := elementIndex(x.Shape, it.Shape, idx, s.node.AttrInt("axis", 0))
	if err != nil {
		return err
	}
	red := s.node.AttrString("reduction", "none")
	switch red {
	case "none", "add", "mul", "max", "min":
	default:
		return fmt.Errorf("%w: reduction %q", model.ErrUnsupported, red)
	}
	setLike(s.out[0], x, x.Shape)
	o := s.out[0]
	copy(o.F32, x.F32)
	copy(o.I64, x.I64)
	if isInt(x) {
		scatter(o.I64, u.I64, pos, red)
	} else {
		scatter(o.F32, u.F32, pos, red)
	}
	return nil
}

func scatter[T float32 | int64](dst, upd []T, pos []int, red string) {
	for i, p := range pos {
		v := upd[i]
		switch red {
		case "add":
			dst[p] += v
		case "mul":
			dst[p] *= v
		case "max":
			dst[p] = max(dst[p], v)
		case "min":
			dst[p] = min(dst[p], v)
		default:
			dst[p] = v
		}
	}
}

func equalShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
