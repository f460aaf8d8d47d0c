package engine

import (
	"fmt"
	"slices"

	"github.com/xferml/xfer/model"
)

// Ops that move or reinterpret data without arithmetic. Reshape-like ops
// (Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout) alias their
// input's storage; the others copy.

func flattenKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	axis := int(s.node.AttrInt("axis", 1))
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis > r {
		return fmt.Errorf("axis %d out of range for rank %d", s.node.AttrInt("axis", 1), r)
	}
	alias(s.out[0], x, []int{numel(x.Shape[:axis]), numel(x.Shape[axis:])})
	return nil
}

// reshapeKernel is Reshape from opset 5: the shape is input 1; 0 copies the
// input's dim (or, with allowzero=1 from opset 14, means 0) and one -1 is
// inferred.
func reshapeKernel(s *step) error {
	x, _, spec, err := s.needInts1("shape")
	if err != nil {
		return err
	}
	return reshapeTo(s, x, spec, s.opset >= 14 && s.node.AttrInt("allowzero", 0) != 0)
}

// reshapeTo sets the output to x (shared storage) in the shape spec
// describes (model.ReshapeDims).
func reshapeTo(s *step, x *model.Tensor, spec []int64, allowZero bool) error {
	shape, err := model.ReshapeDims(x.Shape, spec, allowZero)
	if err != nil {
		return err
	}
	alias(s.out[0], x, shape)
	return nil
}

// reshapeKernel1 is Reshape before opset 5: the shape is attribute shape.
func reshapeKernel1(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	spec := s.node.AttrInts("shape", nil)
	if spec == nil {
		return fmt.Errorf("missing attribute shape")
	}
	return reshapeTo(s, x, spec, false)
}

func transposeKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	perm := s.node.AttrInts("perm", nil)
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != r {
		return fmt.Errorf("perm %v has %d entries for rank %d", perm, len(perm), r)
	}
	shape := make([]int, r)
	ist := strides(x.Shape)
	pst := make([]int, r)
	seen := make([]bool, r)
	for i, p := range perm {
		if p < 0 || int(p) >= r || seen[p] {
			return fmt.Errorf("perm %v is not a permutation of rank %d", perm, r)
		}
		seen[p] = true
		shape[i] = x.Shape[p]
		pst[i] = ist[p]
	}
	setLike(s.out[0], x, shape)
	if isInt(x) {
		permute(s.out[0].I64, x.I64, shape, pst)
	} else {
		permute(s.out[0].F32, x.F32, shape, pst)
	}
	return nil
}

// permute copies src read with strides st into dst laid out as shape.
func permute[T float32 | int64](dst, src []T, shape, st []int) {
	p := newLoopPlan(shape, strides(shape), st)
	p.each(func(offs []int, n int, inner []int) {
		d := dst[offs[0] : offs[0]+n]
		if inner[1] == 1 {
			copy(d, src[offs[1]:offs[1]+n])
			return
		}
		o, sx := offs[1], inner[1]
		for i := range d {
			d[i] = src[o+i*sx]
		}
	})
}

// squeezeKernel: axes attribute before opset 13 (fromInput false), optional
// input 1 from 13; no axes removes every dim of size 1.
func squeezeKernel(fromInput bool) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		axes, err := axesArg(s, fromInput, false)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		drop := make([]bool, r)
		if axes == nil {
			for i, d := range x.Shape {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			ax, err := model.NormAxis(a, r)
			if err != nil {
				return err
			}
			if x.Shape[ax] != 1 {
				return fmt.Errorf("axis %d of shape %v is not 1", a, x.Shape)
			}
			drop[ax] = true
		}
		var shape []int
		for i, d := range x.Shape {
			if !drop[i] {
				shape = append(shape, d)
			}
		}
		alias(s.out[0], x, shape)
		return nil
	}
}

// axesArg reads Squeeze's and Unsqueeze's axes: the axes attribute
// before opset 13, input 1 from 13 (fromInput; required or optional).
func axesArg(s *step, fromInput, required bool) ([]int64, error) {
	if !fromInput {
		return s.node.AttrInts("axes", nil), nil
	}
	t := s.opt(1)
	if t == nil {
		if required {
			return nil, fmt.Errorf("axes: missing input 1")
		}
		return nil, nil
	}
	axes, err := ints(t)
	if err != nil {
		return nil, fmt.Errorf("axes: %w", err)
	}
	return axes, nil
}

// unsqueezeKernel: axes attribute before opset 13, input 1 from 13; axes
// index the output shape.
func unsqueezeKernel(fromInput bool) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		axes, err := axesArg(s, fromInput, true)
		if err != nil {
			return err
		}
		shape, err := model.UnsqueezeDims(x.Shape, axes)
		if err != nil {
			return err
		}
		alias(s.out[0], x, shape)
		return nil
	}
}

func concatKernel(s *step) error {
	var ins []*model.Tensor
	for _, t := range s.in {
		if t != nil {
			ins = append(ins, t)
		}
	}
	if len(ins) == 0 {
		return fmt.Errorf("needs at least one input")
	}
	first := ins[0]
	r := len(first.Shape)
	if r == 0 {
		return fmt.Errorf("cannot concatenate scalars")
	}
	def := int64(0)
	if s.opset < 4 {
		def = 1 // Concat-1: axis defaults to 1
	}
	axis, err := model.NormAxis(s.node.AttrInt("axis", def), r)
	if err != nil {
		return err
	}
	shape := slices.Clone(first.Shape)
	shape[axis] = 0
	for i, t := range ins {
		if t.DType != first.DType {
			return fmt.Errorf("input %d has dtype %v, input 0 has %v", i, t.DType, first.DType)
		}
		if len(t.Shape) != r {
			return fmt.Errorf("input %d has shape %v, input 0 has %v", i, t.Shape, first.Shape)
		}
		for d := range r {
			if d != axis && t.Shape[d] != first.Shape[d] {
				return fmt.Errorf("input %d has shape %v, input 0 has %v (axis %d)", i, t.Shape, first.Shape, axis)
			}
		}
		shape[axis] += t.Shape[axis]
	}
	setLike(s.out[0], first, shape)
	outer, inner := numel(shape[:axis]), numel(shape[axis+1:])
	off := 0
	for _, t := range ins {
		w := t.Shape[axis] * inner
		if isInt(first) {
			concatInto(s.out[0].I64, t.I64, outer, w, shape[axis]*inner, off)
		} else {
			concatInto(s.out[0].F32, t.F32, outer, w, shape[axis]*inner, off)
		}
		off += w
	}
	return nil
}

func concatInto[T float32 | int64](dst, src []T, outer, w, stride, off int) {
	for o := range outer {
		copy(dst[o*stride+off:o*stride+off+w], src[o*w:(o+1)*w])
	}
}

func identityKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	alias(s.out[0], x, x.Shape)
	return nil
}

// dropoutKernel is Dropout in inference: the identity; the optional mask
// output is all ones (ONNX's all-true bool mask, carried as float32 since
// xfer's tensors have no bool dtype). Opset >= 12 training_mode=true is
// refused: the engine runs inference only.
func dropoutKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	if s.opset < 7 && s.node.AttrInt("is_test", 0) == 0 {
		return fmt.Errorf("engine: %w: Dropout with is_test=0 (opset %d: training mode, random masks; the engine runs inference only)", model.ErrUnsupported, s.opset)
	}
	if tm := s.opt(2); tm != nil && s.opset >= 12 {
		on := (len(tm.I64) == 1 && tm.I64[0] != 0) || (len(tm.F32) == 1 && tm.F32[0] != 0)
		if on {
			return fmt.Errorf("engine: %w: training_mode=true (the engine runs inference only)", model.ErrUnsupported)
		}
	}
	alias(s.out[0], x, x.Shape)
	if len(s.out) > 1 && s.outs[1] >= 0 {
		// Inference keeps every element: the mask is all true (bool from
		// opset 10, the input's type before).
		m := s.out[1]
		if s.opset >= 10 {
			setDType(m, model.Bool, x.Shape)
		} else {
			setLike(m, x, x.Shape)
		}
		for i := range m.F32 {
			m.F32[i] = 1
		}
		for i := range m.I64 {
			m.I64[i] = 1
		}
	}
	return nil
}

// shapeKernel is Shape; start and end (opset 15) slice the dims, clamped.
func shapeKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	lo, hi := clampIndex(s.node.AttrInt("start", 0), r), r
	if _, ok := s.node.Attrs["end"]; ok {
		hi = clampIndex(s.node.AttrInt("end", int64(r)), r)
	}
	hi = max(hi, lo)
	d := setI64(s.out[0], []int{hi - lo})
	for i := range d {
		d[i] = int64(x.Shape[lo+i])
	}
	return nil
}

// clampIndex maps a possibly negative index into [0, r], clamping.
func clampIndex(i int64, r int) int {
	if i < 0 {
		i += int64(r)
	}
	return int(min(max(i, 0), int64(r)))
}

// gatherKernel is Gather: out = data.shape[:axis] + indices.shape +
// data.shape[axis+1:]; negative indices count from the end.
func gatherKernel(s *step) error {
	x, it, iv, err := s.needInts1("indices")
	if err != nil {
		return err
	}
	r := len(x.Shape)
	if r == 0 {
		return fmt.Errorf("data is a scalar")
	}
	axis, err := model.NormAxis(s.node.AttrInt("axis", 0), r)
	if err != nil {
		return err
	}
	dim := x.Shape[axis]
	idx := make([]int, len(iv))
	for i, v := range iv {
		if v < 0 {
			v += int64(dim)
		}
		if v < 0 || v >= int64(dim) {
			return fmt.Errorf("index %d out of range for axis %d of size %d", it.I64[i], axis, dim)
		}
		idx[i] = int(v)
	}
	shape := slices.Concat(x.Shape[:axis], it.Shape, x.Shape[axis+1:])
	setLike(s.out[0], x, shape)
	outer, inner := numel(x.Shape[:axis]), numel(x.Shape[axis+1:])
	if isInt(x) {
		gather(s.out[0].I64, x.I64, idx, outer, dim, inner)
	} else {
		gather(s.out[0].F32, x.F32, idx, outer, dim, inner)
	}
	return nil
}

func gather[T float32 | int64](dst, src []T, idx []int, outer, dim, inner int) {
	k := 0
	for o := range outer {
		for _, j := range idx {
			copy(dst[k:k+inner], src[(o*dim+j)*inner:(o*dim+j+1)*inner])
			k += inner
		}
	}
}

// castKernel is Cast to any element type xfer holds (model.DType), with
// model.ConvertInto's semantics (float to int truncates toward zero, as
// numpy's astype; to bool is x != 0).
func castKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	dt, err := model.CastTo(s.node)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if x.DType == dt {
		alias(s.out[0], x, x.Shape)
		return nil
	}
	setDType(s.out[0], dt, x.Shape)
	model.ConvertInto(s.out[0], x)
	return nil
}

// constantKernel is Constant: value (a tensor), value_float(s) or
// value_int(s).
func constantKernel(s *step) error {
	t, err := constantValue(s.node)
	if err != nil {
		return err
	}
	alias(s.out[0], t, t.Shape)
	return nil
}

func constantValue(n *model.Node) (*model.Tensor, error) {
	for name, a := range n.Attrs {
		switch name {
		case "value":
			if a.Tensor == nil {
				return nil, fmt.Errorf("attribute value has no tensor")
			}
			return a.Tensor, nil
		case "value_float":
			return &model.Tensor{DType: model.Float32, Shape: []int{}, F32: []float32{a.Float}}, nil
		case "value_floats":
			return &model.Tensor{DType: model.Float32, Shape: []int{len(a.Floats)}, F32: a.Floats}, nil
		case "value_int":
			return &model.Tensor{DType: model.Int64, Shape: []int{}, I64: []int64{a.Int}}, nil
		case "value_ints":
			return &model.Tensor{DType: model.Int64, Shape: []int{len(a.Ints)}, I64: a.Ints}, nil
		}
	}
	return nil, fmt.Errorf("engine: %w: Constant needs one of value, value_float(s), value_int(s)", model.ErrUnsupported)
}
