package model

import (
	"fmt"
	"math"
	"slices"
)

// SliceAxis is the resolved slice of one axis: the first index, the step
// and the number of elements taken.
type SliceAxis struct {
	Start, Step, Count int
}

// SliceDims resolves ONNX Slice on an input of shape in (opset 10+:
// starts, ends, optional axes and steps, as numpy's slicing): per axis of
// in, the first index, step and count (an axis not sliced is 0, 1, dim).
// Negative starts and ends count from the end; both are clamped (to
// [0, dim] for a positive step, [-1, dim-1] for a negative one), so
// INT64_MAX and INT64_MIN mean "to the end". axes may be negative and must
// not repeat; a step must not be 0. Unknown dims (-1) of in give Count -1
// on the axes sliced. The engine and shape inference share it.
func SliceDims(in []int, starts, ends, axes, steps []int64) ([]SliceAxis, error) {
	r := len(in)
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		if len(starts) > r {
			return nil, fmt.Errorf("starts %v has more entries than rank %d", starts, r)
		}
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if len(axes) != len(starts) || steps != nil && len(steps) != len(starts) {
		return nil, fmt.Errorf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	out := make([]SliceAxis, r)
	for i, d := range in {
		out[i] = SliceAxis{0, 1, d}
	}
	seen := make([]bool, r)
	for i, a := range axes {
		ax, err := NormAxis(a, r)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axes %v repeat axis %d", axes, ax)
		}
		seen[ax] = true
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return nil, fmt.Errorf("steps %v has a 0", steps)
		}
		dim := int64(in[ax])
		if dim < 0 {
			out[ax] = SliceAxis{0, int(max(min(step, math.MaxInt32), math.MinInt32)), -1}
			continue
		}
		s, e := starts[i], ends[i]
		if s < 0 {
			s = satAdd(s, dim)
		}
		if e < 0 {
			e = satAdd(e, dim)
		}
		var n int64
		if step > 0 {
			s, e = min(max(s, 0), dim), min(max(e, 0), dim)
			if e > s {
				n = (e - s + step - 1) / step
			}
		} else {
			s, e = min(max(s, -1), dim-1), min(max(e, -1), dim-1)
			if s > e {
				n = (s - e + (-step) - 1) / (-step)
			}
		}
		if n == 0 {
			s = 0
		}
		// |step| beyond the dim takes at most one element: keep it small.
		step = max(min(step, dim+1), -(dim + 1))
		out[ax] = SliceAxis{int(s), int(step), int(n)}
	}
	return out, nil
}

// satAdd adds two int64s, saturating instead of wrapping.
func satAdd(a, b int64) int64 {
	c := a + b
	if (c > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return c
}

// sliceShape is Slice: attributes starts, ends, axes before opset 10,
// inputs (data, starts, ends, axes, steps) from 10.
func sliceShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	var starts, ends, axes, steps []int64
	known := true
	if c.opsetOf() < 10 {
		starts, ends, axes = c.node.AttrInts("starts", nil), c.node.AttrInts("ends", nil), c.node.AttrInts("axes", nil)
		if starts == nil || ends == nil {
			return nil, fmt.Errorf("missing attribute starts or ends")
		}
	} else {
		for i := 1; i <= 4; i++ {
			v := c.in(i)
			if v == nil {
				if i <= 2 {
					return nil, fmt.Errorf("missing input %d (starts, ends)", i)
				}
				continue
			}
			if (v.DType != Int64 && v.DType != Int32) || len(v.Shape) != 1 {
				return nil, fmt.Errorf("input %d must be a 1-D int64 or int32 tensor, got %v %v", i, v.DType, v.Shape)
			}
			vals, ok := c.constInts(i)
			if !ok {
				known = false
				continue
			}
			switch i {
			case 1:
				starts = vals
			case 2:
				ends = vals
			case 3:
				axes = vals
			case 4:
				steps = vals
			}
		}
	}
	if !known {
		// Bounds computed at run time: the rank is known, the sliced dims
		// are not (all of them when the axes are not known either).
		out := slices.Clone(x.Shape)
		if ax, ok := c.constInts(3); ok || c.in(3) == nil {
			if c.in(3) == nil {
				n := axesLen(c.in(1))
				if n < 0 {
					n = r
				}
				for i := range min(n, r) {
					out[i] = -1
				}
			}
			for _, a := range ax {
				if i, err := NormAxis(a, r); err == nil {
					out[i] = -1
				}
			}
		} else {
			for i := range out {
				out[i] = -1
			}
		}
		return []*Value{{DType: x.DType, Shape: out}}, nil
	}
	sl, err := SliceDims(x.Shape, starts, ends, axes, steps)
	if err != nil {
		return nil, err
	}
	out := make([]int, r)
	for i, s := range sl {
		out[i] = s.Count
	}
	if t, ok := c.knownTensor(0); ok && NumElements(out) >= 0 {
		c.fold(0, foldInts(out, sliceInts(t, sl)))
	}
	return []*Value{{DType: x.DType, Shape: out}}, nil
}

// sliceInts applies a resolved slice to known int64 contents (shape
// arithmetic: Slice of a Shape).
func sliceInts(t *Tensor, sl []SliceAxis) []int64 {
	var out []int64
	st := make([]int, len(t.Shape))
	acc := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= t.Shape[i]
	}
	idx := make([]int, len(sl))
	for {
		for _, s := range sl {
			if s.Count == 0 {
				return out
			}
		}
		off := 0
		for d, s := range sl {
			off += (s.Start + idx[d]*s.Step) * st[d]
		}
		out = append(out, t.I64[off])
		d := len(sl) - 1
		for ; d >= 0; d-- {
			idx[d]++
			if idx[d] < sl[d].Count {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			return out
		}
	}
}
