package layers

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// PoolSpec is a Keras MaxPooling1D/2D or AveragePooling1D/2D layer on
// channels-last data.
type PoolSpec struct {
	Common
	Max          bool  // MaxPooling, else AveragePooling
	InputSpatial []int // spatial sizes, -1 unknown; needed for "same"
	PoolSize     []int
	Strides      []int // nil: Keras's default, the pool size
	Padding      string
}

// Pooling returns the layer: Transpose to channels-first, MaxPool or
// AveragePool with explicit TensorFlow "same" pads, Transpose back. Keras's
// "same" average pooling divides by the number of real (unpadded) inputs:
// count_include_pad = 0.
func Pooling(s PoolSpec) (*model.Layer, error) {
	n := len(s.PoolSize)
	kind := fmt.Sprintf("AveragePooling%dD", n)
	op := "AveragePool"
	if s.Max {
		kind = fmt.Sprintf("MaxPooling%dD", n)
		op = "MaxPool"
	}
	b, err := s.builder(kind, 1)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 3 {
		return nil, fmt.Errorf("layers: layer %q: pooling over %d dims is not supported", s.Name, n)
	}
	strides := s.Strides
	if len(strides) == 0 {
		strides = s.PoolSize
	}
	strides, dil, err := convDefaults(s.Name, n, strides, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range s.PoolSize {
		if k <= 0 {
			return nil, fmt.Errorf("layers: layer %q: pool_size %v must be positive", s.Name, s.PoolSize)
		}
	}
	attrs := map[string]model.Attr{
		"kernel_shape": model.Ints(int64s(s.PoolSize)...),
		"strides":      model.Ints(int64s(strides)...),
	}
	pads, err := convPads(s.Name, s.Padding, s.InputSpatial, s.PoolSize, strides, dil, false)
	if err := padAttrs(attrs, pads, err); err != nil {
		return nil, err
	}
	if !s.Max {
		attrs["count_include_pad"] = model.Int(0)
	}
	x := b.transposeChannelsFirst(s.Inputs[0], n+2)
	y := b.transposeChannelsLast(b.node(op, []string{x}, attrs), n+2)
	return s.done(b, y), nil
}

// GlobalPoolSpec is a Keras GlobalAveragePooling1D/2D or
// GlobalMaxPooling1D/2D layer on channels-last data.
type GlobalPoolSpec struct {
	Common
	Max      bool
	Rank     int // input rank, batch included: 3 for 1D, 4 for 2D
	KeepDims bool
}

// GlobalPooling returns ReduceMean or ReduceMax over the spatial axes
// 1..rank-2 (opset 17: axes is an attribute), keeping them as size-1 dims
// when KeepDims.
func GlobalPooling(s GlobalPoolSpec) (*model.Layer, error) {
	n := s.Rank - 2
	kind := fmt.Sprintf("GlobalAveragePooling%dD", n)
	op := "ReduceMean"
	if s.Max {
		kind = fmt.Sprintf("GlobalMaxPooling%dD", n)
		op = "ReduceMax"
	}
	b, err := s.builder(kind, 1)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("layers: layer %q: global pooling needs an input of rank >= 3, got %d", s.Name, s.Rank)
	}
	axes := make([]int64, n)
	for i := range axes {
		axes[i] = int64(i + 1)
	}
	keep := int64(0)
	if s.KeepDims {
		keep = 1
	}
	return s.done(b, b.node(op, []string{s.Inputs[0]}, map[string]model.Attr{"axes": model.Ints(axes...), "keepdims": model.Int(keep)})), nil
}
