package layers

import (
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
