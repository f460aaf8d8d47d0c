package layers

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/xferml/xfer/model"
)

// NormalizationEpsilon is Keras's backend.epsilon(), the floor of the
// standard deviation a Normalization layer divides by.
const NormalizationEpsilon = 1e-7

// NormalizationSpec is a Keras Normalization layer (a preprocessing layer:
// y = (x - mean) / max(sqrt(variance), 1e-7), or with Invert
// y = mean + x * max(sqrt(variance), 1e-7)).
type NormalizationSpec struct {
	Common
	// Rank is the input's rank, batch included.
	Rank int
	// Axis lists the kept axes (Keras's axis), non-negative, sorted; each
	// has the size given by the matching entry of Shape.
	Axis  []int
	Shape []int
	// Invert undoes a normalization (Keras's invert=True).
	Invert bool
	// Mean and Variance hold one value per element of Shape (row-major).
	Mean, Variance []float32
	// Adapted says the statistics are the layer's weights mean, variance
	// and count (Keras builds them when the config's mean and variance are
	// null: the layer was adapted or loaded); otherwise they are constants
	// from the config and the layer has no weights.
	Adapted bool
	// Count is the adapted sample count (Keras keeps it for adapt(); it does
	// not enter the computation).
	Count float32
}

// Normalization returns the layer: Sub of the mean and Div by
// Max(Sqrt(variance), 1e-7) (Mul then Add for Invert), in float32 as Keras
// computes. Mean and variance are reshaped to broadcast over the input
// unless the only kept axis is the last one. Adapted statistics are State
// params (non-trainable, as Keras counts them): mean, variance and the
// scalar count.
func Normalization(s NormalizationSpec) (*model.Layer, error) {
	b, err := s.builder("Normalization", 1)
	if err != nil {
		return nil, err
	}
	if len(s.Axis) != len(s.Shape) || s.Rank < 1 {
		return nil, fmt.Errorf("layers: layer %q: Normalization axes %v do not match mean shape %v (rank %d)", s.Name, s.Axis, s.Shape, s.Rank)
	}
	bshape := make([]int, s.Rank)
	for i := range bshape {
		bshape[i] = 1
	}
	for i, a := range s.Axis {
		if a < 0 || a >= s.Rank || (i > 0 && a <= s.Axis[i-1]) || s.Shape[i] <= 0 {
			return nil, fmt.Errorf("layers: layer %q: Normalization axis %v must be sorted, distinct, in [0, %d) with known sizes %v", s.Name, s.Axis, s.Rank, s.Shape)
		}
		bshape[a] = s.Shape[i]
	}
	n := model.NumElements(s.Shape)
	if len(s.Mean) != n || len(s.Variance) != n {
		return nil, fmt.Errorf("layers: layer %q: Normalization needs %d means and variances for shape %v, got %d and %d", s.Name, n, s.Shape, len(s.Mean), len(s.Variance))
	}
	var mean, variance string
	if s.Adapted {
		if mean, err = b.param("mean", s.Shape, slices.Clone(s.Mean), &model.Initializer{Name: "zeros"}, true); err != nil {
			return nil, err
		}
		if variance, err = b.param("variance", s.Shape, slices.Clone(s.Variance), &model.Initializer{Name: "ones"}, true); err != nil {
			return nil, err
		}
		if _, err = b.param("count", []int{}, []float32{s.Count}, &model.Initializer{Name: "zeros"}, true); err != nil {
			return nil, err
		}
	} else {
		mean = b.constFloats("mean", s.Shape, s.Mean)
		variance = b.constFloats("variance", s.Shape, s.Variance)
	}
	if !(len(s.Axis) == 1 && s.Axis[0] == s.Rank-1) {
		shape := b.constInts("broadcast_shape", int64s(bshape)...)
		mean = b.node("Reshape", []string{mean, shape}, nil)
		variance = b.node("Reshape", []string{variance, shape}, nil)
	}
	std := b.node("Max", []string{b.node("Sqrt", []string{variance}, nil), b.constScalar("epsilon", NormalizationEpsilon)}, nil)
	var y string
	if s.Invert {
		y = b.node("Add", []string{mean, b.node("Mul", []string{s.Inputs[0], std}, nil)}, nil)
	} else {
		y = b.node("Div", []string{b.node("Sub", []string{s.Inputs[0], mean}, nil), std}, nil)
	}
	return s.done(b, y), nil
}

// readNormalization reads a Keras Normalization layer. axis is an int, a list
// or null (every axis reduced: one mean); mean and variance are null (the
// layer holds the weights mean, variance, count) or numbers / nested lists
// broadcast over the kept axes, right-aligned as Keras's build does.
func readNormalization(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	r := len(in)
	s := NormalizationSpec{Common: c.common(), Rank: r}
	var axes []int
	if c.has("axis") {
		var one int
		if json.Unmarshal(c.cfg["axis"], &one) == nil {
			axes = []int{one}
		} else if err := json.Unmarshal(c.cfg["axis"], &axes); err != nil {
			return nil, nil, c.errf("axis", "want an integer, a list of integers or null, got %s", clip(c.cfg["axis"]))
		}
	} else if _, set := c.cfg["axis"]; !set {
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
	l, err := Normalization(s)
	return l, sameShape(c), err
}

// broadcastStat reads a number or nested list of numbers and broadcasts it
// to shape, aligning its dims with the last dims of shape (Keras's
// Normalization.build).
func (c *kctx) broadcastStat(key string, shape []int) ([]float32, error) {
	var vals []float32
	var dims []int
	if err := FlattenNumbers(c.cfg[key], 0, &vals, &dims); err != nil {
		return nil, c.errf(key, "want a number or a nested list of numbers, got %s", clip(c.cfg[key]))
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
