package layers

import (
	"encoding/json"
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// PermuteSpec is a Keras Permute layer.
type PermuteSpec struct {
	Common
	Dims []int // 1-based permutation of the non-batch dims, as Keras
}

// Permute returns Transpose with perm [0, dims...].
func Permute(s PermuteSpec) (*model.Layer, error) {
	b, err := s.builder("Permute", 1)
	if err != nil {
		return nil, err
	}
	perm := []int64{0}
	seen := map[int]bool{}
	for _, d := range s.Dims {
		if d < 1 || d > len(s.Dims) || seen[d] {
			return nil, fmt.Errorf("layers: layer %q: Permute dims %v is not a permutation of 1..%d", s.Name, s.Dims, len(s.Dims))
		}
		seen[d] = true
		perm = append(perm, int64(d))
	}
	return s.done(b, b.node("Transpose", []string{s.Inputs[0]}, map[string]model.Attr{"perm": model.Ints(perm...)}), s.config), nil
}

// config writes a Permute config.
func (s PermuteSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("dims", intList(s.Dims))
}

func readPermute(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	var dims []int
	if err := json.Unmarshal(c.cfg["dims"], &dims); err != nil || len(dims) != len(in)-1 {
		return nil, nil, c.errf("dims", "want %d dims for input %v, got %s", len(in)-1, in, clip(c.cfg["dims"]))
	}
	l, err := Permute(PermuteSpec{Common: c.common(), Dims: dims})
	if err != nil {
		return nil, nil, err
	}
	out := []int{-1}
	for _, d := range dims {
		out = append(out, in[d])
	}
	return l, out, nil
}
