package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// gatherElementsKernel is GatherElements: out[i...] = data[i... with
// indices[i...] at axis]; the output has indices' shape (which must not
// exceed data's outside the axis); negative indices count from the end.
func gatherElementsKernel(s *step) error {
	x, it, idx, err := s.needInts1("indices")
	if err != nil {
		return err
	}
	_, pos, err := elementIndex(x.Shape, it.Shape, idx, s.node.AttrInt("axis", 0))
	if err != nil {
		return err
	}
	setLike(s.out[0], x, it.Shape)
	for i, p := range pos {
		if isInt(x) {
			s.out[0].I64[i] = x.I64[p]
		} else {
			s.out[0].F32[i] = x.F32[p]
		}
	}
	return nil
}

// elementIndex maps each element of indices (of shape ishape) to the flat
// offset in data (of shape dshape) it names along axis (GatherElements,
// ScatterElements): same rank, indices' dims no larger than data's, each
// index in [-dim, dim).
func elementIndex(dshape, ishape []int, idx []int64, axisAttr int64) (int, []int, error) {
	r := len(dshape)
	if len(ishape) != r || r == 0 {
		return 0, nil, fmt.Errorf("indices %v must have data's rank %d (> 0)", ishape, r)
	}
	axis, err := model.NormAxis(axisAttr, r)
	if err != nil {
		return 0, nil, err
	}
	for d := range r {
		if d != axis && ishape[d] > dshape[d] {
			return 0, nil, fmt.Errorf("indices %v exceed data %v outside axis %d", ishape, dshape, axis)
		}
	}
	ds := strides(dshape)
	pos := make([]int, len(idx))
	cur := make([]int, r)
	dim := int64(dshape[axis])
	for i, v := range idx {
		if v < 0 {
			v += dim
		}
		if v < 0 || v >= dim {
			return 0, nil, fmt.Errorf("index %d out of range for axis %d of size %d", idx[i], axis, dim)
		}
		off := 0
		for d := range r {
			c := cur[d]
			if d == axis {
				c = int(v)
			}
			off += c * ds[d]
		}
		pos[i] = off
		odometer(cur, ishape)
	}
	return axis, pos, nil
}
