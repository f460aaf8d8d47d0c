package keras

import (
	"encoding/json"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func flatten(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	n := model.NumElements(in[1:])
	l, err := layers.Flatten(c.common())
	return l, []int{-1, n}, err
}

func reshape(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	var target []int
	if err := json.Unmarshal(c.e.cfg["target_shape"], &target); err != nil || len(target) == 0 || len(target) > 8 {
		return nil, nil, c.errf("target_shape", "want a list of 1 to 8 dims, got %s", clip(c.e.cfg["target_shape"]))
	}
	l, err := layers.Reshape(layers.ReshapeSpec{Common: c.common(), TargetShape: target})
	if err != nil {
		return nil, nil, err
	}
	out := append([]int{-1}, target...)
	if n := model.NumElements(in[1:]); n > 0 {
		known, unknown := 1, -1
		for i, d := range target {
			if d == -1 {
				unknown = i
			} else {
				known *= d
			}
		}
		switch {
		case unknown >= 0 && n%known == 0:
			out[unknown+1] = n / known
		case unknown < 0 && known != n:
			return nil, nil, c.errf("target_shape", "%v holds %d values, the input %v holds %d", target, known, in, n)
		}
	}
	return l, out, nil
}

func permute(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	var dims []int
	if err := json.Unmarshal(c.e.cfg["dims"], &dims); err != nil || len(dims) != len(in)-1 {
		return nil, nil, c.errf("dims", "want %d dims for input %v, got %s", len(in)-1, in, clip(c.e.cfg["dims"]))
	}
	l, err := layers.Permute(layers.PermuteSpec{Common: c.common(), Dims: dims})
	if err != nil {
		return nil, nil, err
	}
	out := []int{-1}
	for _, d := range dims {
		out = append(out, in[d])
	}
	return l, out, nil
}
