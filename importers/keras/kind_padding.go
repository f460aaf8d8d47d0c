package keras

import (
	"encoding/json"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func zeroPadding(nd int) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		pads, err := c.pairs("padding", nd, 1) // Keras's default padding=1
		if err != nil {
			return nil, nil, err
		}
		l, err := layers.ZeroPadding(layers.ZeroPaddingSpec{Common: c.common(), Padding: pads})
		out := append([]int(nil), in...)
		for i, p := range pads {
			if out[1+i] >= 0 {
				out[1+i] += p[0] + p[1]
			}
		}
		return l, out, err
	}
}

// pairs reads a ZeroPadding or Cropping size: an int (every side), nd
// ints (both sides of each dim; a (left, right) pair for nd 1), or nd
// (before, after) pairs; absent means def on every side.
func (c *lctx) pairs(key string, nd, def int) ([][2]int, error) {
	raw := c.e.cfg[key]
	out := make([][2]int, nd)
	var one int
	var flat []int
	var nested [][]int
	switch {
	case !c.has(key):
		for i := range out {
			out[i] = [2]int{def, def}
		}
	case json.Unmarshal(raw, &one) == nil:
		for i := range out {
			out[i] = [2]int{one, one}
		}
	case json.Unmarshal(raw, &flat) == nil && nd == 1 && len(flat) == 2:
		out[0] = [2]int{flat[0], flat[1]}
	case json.Unmarshal(raw, &flat) == nil && nd >= 2 && len(flat) == nd:
		for i, v := range flat {
			out[i] = [2]int{v, v}
		}
	case json.Unmarshal(raw, &nested) == nil && len(nested) == nd:
		for i, p := range nested {
			if len(p) != 2 {
				return nil, c.errf(key, "want (before, after) pairs, got %s", clip(raw))
			}
			out[i] = [2]int{p[0], p[1]}
		}
	default:
		return nil, c.errf(key, "unreadable: %s", clip(raw))
	}
	for _, p := range out {
		if p[0] < 0 || p[1] < 0 || p[0] > 1<<20 || p[1] > 1<<20 {
			return nil, c.errf(key, "out of range: %s", clip(raw))
		}
	}
	return out, nil
}
