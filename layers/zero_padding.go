package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// ZeroPaddingSpec is a Keras ZeroPadding1D or ZeroPadding2D layer on
// channels-last data.
type ZeroPaddingSpec struct {
	Common
	// Padding holds (before, after) per spatial dim: [[l, r]] for 1D,
	// [[top, bottom], [left, right]] for 2D.
	Padding [][2]int
}

// ZeroPadding returns ONNX Pad (constant 0) with pads
// [0, before..., 0, 0, after..., 0] for the channels-last tensor.
func ZeroPadding(s ZeroPaddingSpec) (*model.Layer, error) {
	n := len(s.Padding)
	b, err := s.builder(fmt.Sprintf("ZeroPadding%dD", n), 1)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 3 {
		return nil, fmt.Errorf("layers: layer %q: zero padding over %d dims is not supported", s.Name, n)
	}
	r := n + 2
	pads := make([]int64, 2*r)
	for i, p := range s.Padding {
		if p[0] < 0 || p[1] < 0 {
			return nil, fmt.Errorf("layers: layer %q: negative padding %v", s.Name, s.Padding)
		}
		pads[1+i] = int64(p[0])
		pads[r+1+i] = int64(p[1])
	}
	p := b.constInts("pads", pads...)
	return s.done(b, b.node("Pad", []string{s.Inputs[0], p}, map[string]model.Attr{"mode": model.String("constant")}), s.config), nil
}

// config writes a ZeroPadding1D/2D config: ZeroPadding1D's padding is one
// (left, right) pair and has no data_format.
func (s ZeroPaddingSpec) config() *pyjson.Obj {
	p := make([]any, len(s.Padding))
	for i, v := range s.Padding {
		p[i] = []any{v[0], v[1]}
	}
	c := baseConfig(s.Name, s.Trainable)
	if len(p) == 1 {
		return c.Set("padding", p[0])
	}
	return c.Set("padding", p).Set("data_format", "channels_last")
}

func readZeroPadding(nd int) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		pads, err := c.pairs("padding", nd, 1) // Keras's default padding=1
		if err != nil {
			return nil, nil, err
		}
		l, err := ZeroPadding(ZeroPaddingSpec{Common: c.common(), Padding: pads})
		out := append([]int(nil), in...)
		for i, p := range pads {
			if out[1+i] >= 0 {
				out[1+i] += p[0] + p[1]
			}
		}
		return l, out, err
	}
}
