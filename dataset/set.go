package dataset

import (
	"fmt"
	"math/rand"

	"github.com/xferml/xfer/model"
)

// Set is a data set: inputs X, batch first, and one label per example.
// A Set is read-only once made; Head shares its memory.
type Set struct {
	// X holds the inputs, float32, shape [N, ...] (Fashion-MNIST: [N, 28, 28]).
	X *model.Tensor
	// Y holds one label per example: a class index for classification, a
	// target value for regression.
	Y []float32
	// Classes is the number of classes (8 for task A, 2 for task B), or 0 when
	// the labels are not class indices.
	Classes int
	// Name says where the set came from ("fashion-mnist:A:train").
	Name string
}

// NewSet checks x and y and returns a set. x must be float32 and batch first
// with as many rows as y has labels.
func NewSet(name string, x *model.Tensor, y []float32, classes int) (*Set, error) {
	if x == nil || x.DType != model.Float32 || len(x.Shape) < 1 {
		return nil, fmt.Errorf("dataset: %s: inputs must be a float32 tensor with a batch dim", name)
	}
	if n := model.NumElements(x.Shape); n < 0 || n != len(x.F32) {
		return nil, fmt.Errorf("dataset: %s: inputs of shape %v hold %d values", name, x.Shape, len(x.F32))
	}
	if x.Shape[0] != len(y) {
		return nil, fmt.Errorf("dataset: %s: %d inputs but %d labels", name, x.Shape[0], len(y))
	}
	return &Set{X: x, Y: y, Classes: classes, Name: name}, nil
}

// Len returns the number of examples.
func (s *Set) Len() int { return len(s.Y) }

// RowSize returns the number of input values per example.
func (s *Set) RowSize() int {
	if len(s.Y) == 0 {
		n := 1
		for _, d := range s.X.Shape[1:] {
			n *= d
		}
		return n
	}
	return len(s.X.F32) / len(s.Y)
}

// Head returns the first n examples (all when n >= Len) sharing s's memory.
func (s *Set) Head(n int) *Set {
	n = min(max(n, 0), s.Len())
	rs := s.RowSize()
	shape := append([]int{n}, s.X.Shape[1:]...)
	x := &model.Tensor{Name: s.X.Name, DType: model.Float32, Shape: shape, F32: s.X.F32[: n*rs : n*rs]}
	return &Set{X: x, Y: s.Y[:n:n], Classes: s.Classes, Name: s.Name}
}

// Order returns the example indices of one epoch: 0..N-1, or a permutation
// drawn from rng when rng is not nil.
func (s *Set) Order(rng *rand.Rand) []int {
	if rng == nil {
		idx := make([]int, s.Len())
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(s.Len())
}

// Batch copies the examples at indices idx into x (len(idx)*RowSize values)
// and y (len(idx) values). Only the batch is copied, never the whole set.
func (s *Set) Batch(idx []int, x, y []float32) {
	rs := s.RowSize()
	for i, j := range idx {
		copy(x[i*rs:(i+1)*rs], s.X.F32[j*rs:(j+1)*rs])
		y[i] = s.Y[j]
	}
}
