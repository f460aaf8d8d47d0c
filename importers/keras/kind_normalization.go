package keras

import (
	"encoding/json"
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// normalization reads a Keras Normalization layer. axis is an int, a list
// or null (every axis reduced: one mean); mean and variance are null (the
// layer holds the weights mean, variance, count) or numbers / nested lists
// broadcast over the kept axes, right-aligned as Keras's build does.
func normalization(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	r := len(in)
	s := layers.NormalizationSpec{Common: c.common(), Rank: r}
	var axes []int
	if c.has("axis") {
		var one int
		if json.Unmarshal(c.e.cfg["axis"], &one) == nil {
			axes = []int{one}
		} else if err := json.Unmarshal(c.e.cfg["axis"], &axes); err != nil {
			return nil, nil, c.errf("axis", "want an integer, a list of integers or null, got %s", clip(c.e.cfg["axis"]))
		}
	} else if _, set := c.e.cfg["axis"]; !set {
		axes = []int{-1} // Keras's default
	}
	for _, a := range axes {
		if a < -r || a >= r {
			return nil, nil, c.errf("axis", "%d out of range for an input of rank %d", a, r)
		}
		if a < 0 {
			a += r
		}
		if in[a] <= 0 {
			return nil, nil, c.errf("axis", "axis %d of input shape %v is unknown; Keras needs kept axes to have known sizes", a, in)
		}
		if !slices.Contains(s.Axis, a) {
			s.Axis = append(s.Axis, a)
		}
	}
	slices.Sort(s.Axis)
	for _, a := range s.Axis {
		s.Shape = append(s.Shape, in[a])
	}
	if s.Invert, err = c.bool("invert", false); err != nil {
		return nil, nil, err
	}
	n := model.NumElements(s.Shape)
	if c.has("mean") != c.has("variance") {
		return nil, nil, c.errf("mean", "mean and variance must both be set or both be null")
	}
	if c.has("mean") {
		if s.Mean, err = c.broadcastStat("mean", s.Shape); err != nil {
			return nil, nil, err
		}
		if s.Variance, err = c.broadcastStat("variance", s.Shape); err != nil {
			return nil, nil, err
		}
	} else {
		s.Adapted = true
		if s.Mean, _, err = c.take("mean", s.Shape); err != nil {
			return nil, nil, err
		}
		if s.Variance, _, err = c.take("variance", s.Shape); err != nil {
			return nil, nil, err
		}
		count, _, err := c.takeInt("count", []int{})
		if err != nil {
			return nil, nil, err
		}
		s.Count = count[0]
	}
	if len(s.Mean) != n {
		return nil, nil, c.errf("mean", "%d values for the kept shape %v", len(s.Mean), s.Shape)
	}
	l, err := layers.Normalization(s)
	return l, sameShape(c), err
}

// broadcastStat reads a number or nested list of numbers and broadcasts it
// to shape, aligning its dims with the last dims of shape (Keras's
// Normalization.build).
func (c *lctx) broadcastStat(key string, shape []int) ([]float32, error) {
	var vals []float32
	var dims []int
	if err := flattenNumbers(c.e.cfg[key], 0, &vals, &dims); err != nil {
		return nil, c.errf(key, "want a number or a nested list of numbers, got %s", clip(c.e.cfg[key]))
	}
	if len(dims) > len(shape) || model.NumElements(dims) != len(vals) {
		return nil, c.errf(key, "shape %v does not broadcast to the kept shape %v", dims, shape)
	}
	// Right-align dims with shape; each must be 1 or equal.
	full := make([]int, len(shape))
	for i := range full {
		full[i] = 1
	}
	copy(full[len(shape)-len(dims):], dims)
	for i, d := range full {
		if d != 1 && d != shape[i] {
			return nil, c.errf(key, "shape %v does not broadcast to the kept shape %v", dims, shape)
		}
	}
	n := model.NumElements(shape)
	out := make([]float32, n)
	idx := make([]int, len(shape))
	for i := range out {
		src, stride := 0, 1
		for k := len(shape) - 1; k >= 0; k-- {
			if full[k] != 1 {
				src += idx[k] * stride
			}
			stride *= full[k]
		}
		out[i] = vals[src]
		for k := len(shape) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out, nil
}

// flattenNumbers appends the numbers of a number or rectangular nested list
// to vals and records the dims of the first visit of each depth.
func flattenNumbers(raw json.RawMessage, depth int, vals *[]float32, dims *[]int) error {
	if depth > 8 {
		return errDeep
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		if depth != len(*dims) {
			return errDeep
		}
		*vals = append(*vals, float32(f))
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return err
	}
	if depth == len(*dims) {
		*dims = append(*dims, len(items))
	} else if depth > len(*dims) || (*dims)[depth] != len(items) {
		return errDeep
	}
	for _, it := range items {
		if err := flattenNumbers(it, depth+1, vals, dims); err != nil {
			return err
		}
	}
	return nil
}

var errDeep = &unsupported{"not a rectangular nested list of at most 8 levels"}
