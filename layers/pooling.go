package layers

import (
	"fmt"
	"strings"

	"github.com/xferml/xfer/internal/pyjson"

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
	return s.done(b, y, func() *pyjson.Obj { return s.config(strides) }), nil
}

// config writes a MaxPooling/AveragePooling config.
func (s PoolSpec) config(strides []int) *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("pool_size", intList(s.PoolSize)).Set("padding", s.Padding).
		Set("strides", intList(strides)).Set("data_format", "channels_last")
}

func readPool(nd int, isMax bool) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		def := make([]int, nd)
		for i := range def {
			def[i] = 2 // Keras's default pool_size
		}
		s := PoolSpec{Common: c.common(), Max: isMax, InputSpatial: in[1 : nd+1]}
		if s.PoolSize, err = c.ints("pool_size", nd, def); err != nil {
			return nil, nil, err
		}
		if s.Strides, err = c.ints("strides", nd, nil); err != nil {
			return nil, nil, err
		}
		pad, err := c.str("padding", "valid")
		if err != nil {
			return nil, nil, err
		}
		s.Padding = strings.ToLower(pad)
		l, err := Pooling(s)
		if err != nil {
			return nil, nil, err
		}
		out := []int{-1}
		for i := 0; i < nd; i++ {
			st := s.PoolSize[i]
			if s.Strides != nil {
				st = s.Strides[i]
			}
			out = append(out, spatialOut(in[1+i], s.PoolSize[i], st, 1, s.Padding))
		}
		return l, append(out, in[nd+1]), nil
	}
}
