package keras

import (
	"fmt"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func merge(kind string) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		out := append([]int(nil), c.inShapes[0]...)
		for _, s := range c.inShapes[1:] {
			if len(s) != len(out) {
				return nil, nil, fmt.Errorf("%w: layer %q (%s): inputs have ranks %d and %d", ErrFormat, c.e.name, kind, len(out), len(s))
			}
			for i, d := range s {
				if out[i] < 0 || (d > out[i]) {
					out[i] = d
				}
			}
		}
		l, err := layers.Merge(layers.MergeSpec{Common: c.common(), Kind: kind})
		return l, out, err
	}
}

func concatenate(c *lctx) (*model.Layer, []int, error) {
	axis, err := c.int("axis", -1)
	if err != nil {
		return nil, nil, err
	}
	out := append([]int(nil), c.inShapes[0]...)
	r := len(out)
	a := axis
	if a < 0 {
		a += r
	}
	if a <= 0 || a >= r {
		return nil, nil, c.errf("axis", "%d out of range for rank %d", axis, r)
	}
	for _, s := range c.inShapes[1:] {
		if len(s) != r {
			return nil, nil, fmt.Errorf("%w: layer %q (Concatenate): inputs have ranks %d and %d", ErrFormat, c.e.name, r, len(s))
		}
		if out[a] < 0 || s[a] < 0 {
			out[a] = -1
		} else {
			out[a] += s[a]
		}
	}
	l, err := layers.Concatenate(layers.ConcatenateSpec{Common: c.common(), Axis: a})
	return l, out, err
}
