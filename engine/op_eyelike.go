package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// eyeLikeKernel is EyeLike: a 2-D tensor of the input's shape with ones
// on the diagonal shifted by k, in attribute dtype's type (the input's by
// default).
func eyeLikeKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	if len(x.Shape) != 2 {
		return fmt.Errorf("input %v must be 2-D", x.Shape)
	}
	dt := x.DType
	if a, ok := s.node.Attrs["dtype"]; ok {
		var ok2 bool
		if dt, ok2 = model.DTypeFromONNX(a.Int); !ok2 {
			return fmt.Errorf("%w: dtype %d", model.ErrUnsupported, a.Int)
		}
	}
	k := int(s.node.AttrInt("k", 0))
	setDType(s.out[0], dt, x.Shape)
	o := s.out[0]
	clear(o.F32)
	clear(o.I64)
	rows, cols := x.Shape[0], x.Shape[1]
	for i := range rows {
		if j := i + k; j >= 0 && j < cols {
			if dt.IsFloat() {
				o.F32[i*cols+j] = 1
			} else {
				o.I64[i*cols+j] = 1
			}
		}
	}
	return nil
}
