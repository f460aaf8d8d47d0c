package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// oneHotKernel is OneHot: indices (any number type; negative ones count
// from depth) become a new axis (attribute axis, default -1) of length
// depth holding values[1] at the index and values[0] elsewhere; an index
// outside [-depth, depth) gives a row of values[0].
func oneHotKernel(s *step) error {
	it, dt, err := s.need2()
	if err != nil {
		return err
	}
	vals, err := s.need(2)
	if err != nil {
		return err
	}
	if len(dt.F32)+len(dt.I64) != 1 || len(vals.F32)+len(vals.I64) != 2 {
		return fmt.Errorf("depth must be a scalar and values two elements, got %v and %v", dt.Shape, vals.Shape)
	}
	depthF := float64(0)
	if isInt(dt) {
		depthF = float64(dt.I64[0])
	} else {
		depthF = float64(dt.F32[0])
	}
	if depthF < 1 || depthF > 1<<31 {
		return fmt.Errorf("depth %v is not a positive count", depthF)
	}
	depth := int(depthF)
	r := len(it.Shape)
	axis, err := model.NormAxis(s.node.AttrInt("axis", -1), r+1)
	if err != nil {
		return err
	}
	shape := append(append(append([]int{}, it.Shape[:axis]...), depth), it.Shape[axis:]...)
	setLike(s.out[0], vals, shape)
	o := s.out[0]
	outer, inner := numel(it.Shape[:axis]), numel(it.Shape[axis:])
	for i := range numel(shape) {
		if isInt(vals) {
			o.I64[i] = vals.I64[0]
		} else {
			o.F32[i] = vals.F32[0]
		}
	}
	for a := range outer {
		for c := range inner {
			p := a*inner + c
			var v int64
			if isInt(it) {
				v = it.I64[p]
			} else {
				v = int64(it.F32[p])
			}
			if v < 0 {
				v += int64(depth)
			}
			if v < 0 || v >= int64(depth) {
				continue
			}
			q := (a*depth+int(v))*inner + c
			if isInt(vals) {
				o.I64[q] = vals.I64[1]
			} else {
				o.F32[q] = vals.F32[1]
			}
		}
	}
	return nil
}
