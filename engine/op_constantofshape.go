package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// constantOfShapeKernel is ConstantOfShape: a tensor of the shape input's
// dims filled with the one element of attribute value (float32 0 when
// absent), in value's dtype.
func constantOfShapeKernel(s *step) error {
	st, err := s.need(0)
	if err != nil {
		return err
	}
	spec, err := ints(st)
	if err != nil {
		return fmt.Errorf("shape: %w", err)
	}
	shape := make([]int, len(spec))
	for i, d := range spec {
		if d < 0 || d > 1<<31 {
			return fmt.Errorf("shape %v has a negative or huge dim", spec)
		}
		shape[i] = int(d)
	}
	v := &model.Tensor{DType: model.Float32, Shape: []int{1}, F32: []float32{0}}
	if a, ok := s.node.Attrs["value"]; ok {
		if a.Tensor == nil || len(a.Tensor.F32)+len(a.Tensor.I64) != 1 {
			return fmt.Errorf("attribute value must hold one element")
		}
		v = a.Tensor
	}
	setDType(s.out[0], v.DType, shape)
	o := s.out[0]
	for i := range o.F32 {
		o.F32[i] = v.F32[0]
	}
	for i := range o.I64 {
		o.I64[i] = v.I64[0]
	}
	return nil
}
