package dataset

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/xferml/xfer/model"
)

// Set is a data set: inputs, batch first, and their labels. The inputs are
// either held in memory (X) or streamed from files batch by batch (an image
// folder), so that a set of 100,000 images is never loaded whole.
// A Set is read-only once made; Head shares its memory.
type Set struct {
	// X holds the inputs, float32, shape [N, ...] (Fashion-MNIST: [N, 28, 28]);
	// nil for a streamed set.
	X *model.Tensor
	// Y holds the labels: one per example (a class index for
	// classification, a target value for regression), or, when OneHot,
	// Classes values per example.
	Y []float32
	// Classes is the number of classes (8 for task A, 2 for task B), or 0 when
	// the labels are not class indices.
	Classes int
	// OneHot says Y holds one-hot (or probability) rows of Classes values.
	OneHot bool
	// ClassNames names the classes in label order when the source has
	// names (image folders, CSV string labels).
	ClassNames []string
	// Name says where the set came from ("fashion-mnist:A:train").
	Name string
	// Rescale is applied by Batch after any augmentation, as a Keras
	// Rescaling layer: x*Rescale.Scale + Rescale.Offset.
	Rescale Rescaling

	shape []int  // the shape of one example
	n     int    // examples
	src   source // streamed examples, nil for X
	// min and max of the (unscaled) input values, when known.
	lo, hi float64
}

// Rescaling is Keras's Rescaling layer: x*Scale + Offset. The zero value
// (Scale 0) leaves inputs as they are.
type Rescaling struct {
	Scale, Offset float32
}

func (r Rescaling) active() bool { return r.Scale != 0 && (r.Scale != 1 || r.Offset != 0) }

// apply rescales x in place.
func (r Rescaling) apply(x []float32) {
	if !r.active() {
		return
	}
	for i, v := range x {
		x[i] = v*r.Scale + r.Offset
	}
}

// source yields streamed examples.
type source interface {
	// fetch writes the examples at idx (indices into the source) into x,
	// rowSize values each.
	fetch(idx []int, x []float32) error
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
	return &Set{X: x, Y: y, Classes: classes, Name: name, shape: x.Shape[1:], n: x.Shape[0], lo: math.NaN(), hi: math.NaN()}, nil
}

// NewOneHotSet is NewSet for labels given as rows of classes values
// (one-hot or class probabilities), as categorical_crossentropy reads them.
func NewOneHotSet(name string, x *model.Tensor, y []float32, classes int) (*Set, error) {
	if classes < 1 || len(y)%classes != 0 {
		return nil, fmt.Errorf("dataset: %s: %d label values are not rows of %d classes", name, len(y), classes)
	}
	s, err := NewSet(name, x, make([]float32, len(y)/classes), classes)
	if err != nil {
		return nil, err
	}
	s.Y, s.OneHot = y, true
	return s, nil
}

// Len returns the number of examples.
func (s *Set) Len() int { return s.n }

// Shape returns the shape of one example ([28 28] for Fashion-MNIST).
func (s *Set) Shape() []int { return s.shape }

// Streamed reports whether the examples are read from files batch by batch.
func (s *Set) Streamed() bool { return s.src != nil }

// RowSize returns the number of input values per example.
func (s *Set) RowSize() int {
	n := 1
	for _, d := range s.shape {
		n *= d
	}
	return n
}

// LabelWidth returns the number of label values per example: Classes for
// one-hot labels, else 1.
func (s *Set) LabelWidth() int {
	if s.OneHot {
		return s.Classes
	}
	return 1
}

// Range returns the smallest and largest input value before rescaling,
// computing it for a set in memory; streamed sets know it from their scan.
func (s *Set) Range() (lo, hi float64) {
	if math.IsNaN(s.lo) && s.X != nil && len(s.X.F32) > 0 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range s.X.F32 {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
		s.lo, s.hi = lo, hi
	}
	return s.lo, s.hi
}

// Head returns the first n examples (all when n >= Len) sharing s's memory.
func (s *Set) Head(n int) *Set {
	n = min(max(n, 0), s.Len())
	h := *s
	h.n = n
	h.Y = s.Y[: n*s.LabelWidth() : n*s.LabelWidth()]
	if s.X != nil {
		rs := s.RowSize()
		shape := append([]int{n}, s.X.Shape[1:]...)
		h.X = &model.Tensor{Name: s.X.Name, DType: model.Float32, Shape: shape, F32: s.X.F32[: n*rs : n*rs]}
		h.lo, h.hi = math.NaN(), math.NaN()
	}
	return &h
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
// and their labels into y (len(idx)*LabelWidth values), rescaled by
// s.Rescale. Only the batch is copied (or decoded), never the whole set.
func (s *Set) Batch(idx []int, x, y []float32) error {
	return s.batch(idx, x, y, nil, nil)
}

// TrainBatch is Batch with aug drawn from rng applied before the rescaling,
// in the order of a Keras model that starts with augmentation layers and
// then a Rescaling layer. A nil aug is Batch.
func (s *Set) TrainBatch(idx []int, x, y []float32, aug *Augmentation, rng *rand.Rand) error {
	return s.batch(idx, x, y, aug, rng)
}

func (s *Set) batch(idx []int, x, y []float32, aug *Augmentation, rng *rand.Rand) error {
	rs, lw := s.RowSize(), s.LabelWidth()
	if len(x) < len(idx)*rs || len(y) < len(idx)*lw {
		return fmt.Errorf("dataset: %s: batch of %d needs %d inputs and %d labels, got %d and %d", s.Name, len(idx), len(idx)*rs, len(idx)*lw, len(x), len(y))
	}
	for i, j := range idx {
		if j < 0 || j >= s.n {
			return fmt.Errorf("dataset: %s: example %d out of range [0, %d)", s.Name, j, s.n)
		}
		copy(y[i*lw:(i+1)*lw], s.Y[j*lw:(j+1)*lw])
	}
	x = x[:len(idx)*rs]
	if s.src != nil {
		if err := s.src.fetch(idx, x); err != nil {
			return err
		}
	} else {
		for i, j := range idx {
			copy(x[i*rs:(i+1)*rs], s.X.F32[j*rs:(j+1)*rs])
		}
	}
	if aug != nil {
		if err := aug.Apply(x, len(idx), s.shape, rng); err != nil {
			return fmt.Errorf("dataset: %s: %w", s.Name, err)
		}
	}
	s.Rescale.apply(x)
	return nil
}

// Subset returns the examples at idx as a new set (copied for a set in
// memory, shared for a streamed one).
func (s *Set) Subset(name string, idx []int) *Set {
	lw, rs := s.LabelWidth(), s.RowSize()
	sub := *s
	sub.Name, sub.n = name, len(idx)
	sub.Y = make([]float32, len(idx)*lw)
	for i, j := range idx {
		copy(sub.Y[i*lw:(i+1)*lw], s.Y[j*lw:(j+1)*lw])
	}
	if s.src != nil {
		sub.src = &subSource{base: s.src, idx: idx}
		return &sub
	}
	x := make([]float32, len(idx)*rs)
	for i, j := range idx {
		copy(x[i*rs:(i+1)*rs], s.X.F32[j*rs:(j+1)*rs])
	}
	sub.X = &model.Tensor{Name: name, DType: model.Float32, Shape: append([]int{len(idx)}, s.shape...), F32: x}
	sub.lo, sub.hi = math.NaN(), math.NaN()
	return &sub
}

// subSource is a source restricted to some of its examples.
type subSource struct {
	base source
	idx  []int
}

func (s *subSource) fetch(idx []int, x []float32) error {
	m := make([]int, len(idx))
	for i, j := range idx {
		m[i] = s.idx[j]
	}
	return s.base.fetch(m, x)
}
