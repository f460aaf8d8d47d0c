package layers

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// constScalar adds a float32 scalar const (shape []) and returns its name.
// Roles are unique within a layer: a second call with the same role returns
// the first const.
func (b *builder) constScalar(role string, v float32) string {
	return b.constFloats(role, []int{}, []float32{v})
}

// constFloats adds a float32 const of the given shape and returns its name.
func (b *builder) constFloats(role string, shape []int, v []float32) string {
	name := b.layer.Name + "/" + role
	for _, t := range b.layer.Consts {
		if t.Name == name {
			return name
		}
	}
	t := &model.Tensor{Name: name, DType: model.Float32, Shape: append([]int{}, shape...), F32: append([]float32(nil), v...)}
	b.layer.Consts = append(b.layer.Consts, t)
	return name
}

// uniqueRole returns role, or role with a counter appended when the layer
// already has a const of that name.
func (b *builder) uniqueRole(role string) string {
	r := role
	for i := 2; ; i++ {
		taken := false
		for _, t := range b.layer.Consts {
			if t.Name == b.layer.Name+"/"+r {
				taken = true
				break
			}
		}
		if !taken {
			return r
		}
		r = fmt.Sprintf("%s_%d", role, i)
	}
}

// clip appends Clip(x, lo, hi) with float consts as opset-13+ inputs.
func (b *builder) clip(x string, lo, hi float32) string {
	l := b.constScalar(b.uniqueRole("clip_min"), lo)
	h := b.constScalar(b.uniqueRole("clip_max"), hi)
	return b.node("Clip", []string{x, l, h}, nil)
}

// transposeChannelsFirst appends a Transpose from channels-last (N, d..., C)
// to channels-first (N, C, d...) for a tensor of the given rank.
func (b *builder) transposeChannelsFirst(x string, rank int) string {
	perm := []int64{0, int64(rank - 1)}
	for i := 1; i < rank-1; i++ {
		perm = append(perm, int64(i))
	}
	return b.node("Transpose", []string{x}, map[string]model.Attr{"perm": model.Ints(perm...)})
}

// transposeChannelsLast appends the inverse of transposeChannelsFirst.
func (b *builder) transposeChannelsLast(x string, rank int) string {
	perm := []int64{0}
	for i := 2; i < rank; i++ {
		perm = append(perm, int64(i))
	}
	perm = append(perm, 1)
	return b.node("Transpose", []string{x}, map[string]model.Attr{"perm": model.Ints(perm...)})
}

// identityOut makes sure a layer has an output of its own: when x is one of
// the layer's inputs it appends an Identity node.
func (b *builder) identityOut(x string) string {
	for _, in := range b.layer.Inputs {
		if in == x {
			return b.node("Identity", []string{x}, nil)
		}
	}
	return x
}

// keep stores cfg as the layer's Keras config.
func keep(l *model.Layer, cfg []byte) *model.Layer {
	if cfg != nil {
		l.Config = append([]byte(nil), cfg...)
	}
	return l
}
