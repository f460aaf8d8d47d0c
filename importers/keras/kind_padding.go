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
		raw := c.e.cfg["padding"]
		pads := make([][2]int, nd)
		var one int
		var flat []int
		var nested [][]int
		switch {
		case !c.has("padding"):
			for i := range pads {
				pads[i] = [2]int{1, 1} // Keras's default padding=1
			}
		case json.Unmarshal(raw, &one) == nil:
			for i := range pads {
				pads[i] = [2]int{one, one}
			}
		case json.Unmarshal(raw, &flat) == nil && nd == 1 && len(flat) == 2:
			pads[0] = [2]int{flat[0], flat[1]}
		case json.Unmarshal(raw, &flat) == nil && nd == 2 && len(flat) == 2:
			pads[0], pads[1] = [2]int{flat[0], flat[0]}, [2]int{flat[1], flat[1]}
		case json.Unmarshal(raw, &nested) == nil && len(nested) == nd:
			for i, p := range nested {
				if len(p) != 2 {
					return nil, nil, c.errf("padding", "want (before, after) pairs, got %s", clip(raw))
				}
				pads[i] = [2]int{p[0], p[1]}
			}
		default:
			return nil, nil, c.errf("padding", "unreadable: %s", clip(raw))
		}
		for _, p := range pads {
			if p[0] < 0 || p[1] < 0 || p[0] > 1<<20 || p[1] > 1<<20 {
				return nil, nil, c.errf("padding", "out of range: %s", clip(raw))
			}
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
