package engine

import (
	"math"
	"os"
	"slices"
	"unsafe"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// arena recycles the float32 storage of a session's intermediate values.
// A value's buffer goes back to the arena after the last step that reads
// it (and after every view of it, such as a Reshape's output, is dead
// too), and a later step's output takes the smallest free buffer that
// holds it. A session thus keeps about its largest working set (the values
// alive at once) between runs, instead of every intermediate value of the
// graph: Keras's MobileNetV2 (alpha 0.5) at 48x48, batch 64, holds 34 MiB
// instead of 326 MiB.
//
// A view keeps its buffer in use whether it starts at the buffer's first
// element (Reshape) or inside it. Only buffers the arena handed out are
// ever recycled: params, constants, the caller's inputs and anything a
// kernel allocated itself are left alone. Kernels must write every element
// of their outputs (see kernel): a recycled buffer holds another value's
// numbers.
type arena struct {
	// poison fills every buffer handed out with NaN (PoisonEnv).
	poison bool
	free   [][]float32
	// owned maps the base of every buffer in use by a value of the current
	// run to that buffer (full capacity); refs counts the live values
	// (a value and its views) using it.
	owned map[*float32][]float32
	refs  map[*float32]int
	// scratch is the one scratch buffer steps share (im2col), as steps
	// run one at a time.
	scratch []float32
}

// base identifies the storage behind f (its first element), nil for none.
func base(f []float32) *float32 {
	if cap(f) == 0 {
		return nil
	}
	return unsafe.SliceData(f)
}

// take returns a free buffer of capacity at least n, the smallest such,
// or a new one.
func (a *arena) take(n int) []float32 {
	best := -1
	for i, b := range a.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(a.free[best])) {
			best = i
		}
	}
	if best < 0 {
		b := make([]float32, n)
		a.fillNaN(b)
		return b[:0]
	}
	b := a.free[best]
	a.free[best] = a.free[len(a.free)-1]
	a.free = a.free[:len(a.free)-1]
	a.fillNaN(b[:cap(b)])
	return b[:0]
}

// fillNaN poisons b when the arena poisons its buffers.
func (a *arena) fillNaN(b []float32) {
	if !a.poison {
		return
	}
	nan := float32(math.NaN())
	for i := range b {
		b[i] = nan
	}
}

// owner returns the base of the buffer in use that holds f's storage
// (f may start inside it: a view at an offset, such as a slice of the
// first rows), nil when the arena does not own it.
func (a *arena) owner(f []float32) *float32 {
	p := base(f)
	if p == nil {
		return nil
	}
	if _, ok := a.owned[p]; ok {
		return p
	}
	u := uintptr(unsafe.Pointer(p))
	for q, b := range a.owned {
		if lo := uintptr(unsafe.Pointer(q)); u > lo && u < lo+4*uintptr(cap(b)) {
			return q
		}
	}
	return nil
}

// hold records that one more live value uses the storage of f, when the
// arena owns it.
func (a *arena) hold(f []float32) {
	if p := a.owner(f); p != nil {
		a.refs[p]++
	}
}

// drop records that a value using the storage of f is dead; the buffer
// is free again once no live value uses it.
func (a *arena) drop(f []float32) {
	p := a.owner(f)
	if p == nil || a.refs[p] == 0 {
		return
	}
	if a.refs[p]--; a.refs[p] == 0 {
		a.free = append(a.free, a.owned[p])
		delete(a.owned, p)
		delete(a.refs, p)
	}
}

// reset frees every buffer (the end of a run).
func (a *arena) reset() {
	for p, b := range a.owned {
		a.free = append(a.free, b)
		delete(a.owned, p)
	}
	clear(a.refs)
}

// bytes is the storage the arena holds, free or in use (tests).
func (a *arena) bytes() int {
	n := 0
	for _, b := range a.free {
		n += 4 * cap(b)
	}
	for _, b := range a.owned {
		n += 4 * cap(b)
	}
	return n + 4*cap(a.scratch)
}

// estimate returns the float32 count of a value of inferred shape at batch
// size batch (the first dimension of the first input), or 0 when it is not
// known (an unknown dimension other than the first) or is more than the
// memory ceiling allows: the kernel then allocates, or reports, itself.
func estimate(shape []int, batch int) int {
	if shape == nil {
		return 0
	}
	n := 1
	for i, d := range shape {
		if d < 0 {
			if i != 0 || batch <= 0 {
				return 0
			}
			d = batch
		}
		if d != 0 && n > math.MaxInt/d {
			return 0
		}
		n *= d
	}
	if n > 1<<20 && limits.Check("", int64(n), 4) != nil {
		return 0
	}
	return n
}

// stepMem is a step's part of the arena's plan.
type stepMem struct {
	// float says which outputs hold float32 storage; shapes are their
	// inferred shapes (nil: unknown).
	float  []bool
	shapes [][]int
	// need is each output's size in the last run (0: none or integers,
	// -1: a view of an input).
	need []int
	// given are the buffers handed to the outputs for the current step.
	given [][]float32
}

// planMemory prepares the arena: each step's output shapes and dtypes
// (names gives a value id's name) and the values that die after each step.
func (s *Session) planMemory(shapes map[string]*model.Value, names []string) {
	keep := map[int]bool{}
	for _, id := range s.outIDs {
		keep[id] = true
	}
	s.dies = lastReaders(s.steps, s.fixed, keep)
	s.arena = &arena{owned: map[*float32][]float32{}, refs: map[*float32]int{},
		poison: os.Getenv(PoisonEnv) == "1"}
	for _, st := range s.steps {
		m := stepMem{float: make([]bool, len(st.outs)), shapes: make([][]int, len(st.outs)),
			need: make([]int, len(st.outs)), given: make([][]float32, len(st.outs))}
		for i, id := range st.outs {
			if id < 0 {
				continue
			}
			if v, ok := shapes[names[id]]; ok {
				m.float[i] = v.DType.IsFloat()
				m.shapes[i] = v.Shape
			}
		}
		st.mem = m
	}
}

// beforeStep gives st's float outputs buffers from the arena: the size
// they had in the last run, or estimated from their inferred shapes.
func (a *arena) beforeStep(st *step, batch int) {
	st.scratch, a.scratch = a.scratch, nil
	m := &st.mem
	for i, o := range st.out {
		if st.outs[i] < 0 {
			continue // an unused optional output keeps its own storage
		}
		o.F32 = nil
		m.given[i] = nil
		if m.need[i] < 0 {
			continue // a view last time
		}
		// The size the shape and batch give, or the last run's when it
		// is larger (a -1 that is not the batch): never the last run's
		// alone, which is an epoch's smaller last batch.
		n := m.need[i]
		if m.float[i] {
			n = max(n, estimate(m.shapes[i], batch))
		}
		if n > 0 {
			m.given[i] = a.take(n)
			o.F32 = m.given[i]
		}
	}
}

// afterStep takes ownership of the buffers st's outputs kept, returns the
// ones they did not use, and frees the values whose last reader st was.
func (a *arena) afterStep(s *Session, j int, st *step) {
	a.scratch, st.scratch = st.scratch, nil
	m := &st.mem
	for i, o := range st.out {
		if st.outs[i] < 0 {
			continue
		}
		g := m.given[i]
		m.given[i] = nil
		if g != nil && base(o.F32) == base(g) {
			a.owned[base(g)] = g[:cap(g)]
			a.refs[base(g)]++
			m.need[i] = len(o.F32)
			continue
		}
		if g != nil {
			a.free = append(a.free, g)
		}
		switch {
		case st.aliases(o), a.owner(o.F32) != nil:
			m.need[i] = -1 // a view needs no buffer
		case o.DType.IsFloat():
			m.need[i] = len(o.F32) // the size the kernel allocated
		default:
			m.need[i] = 0 // integers
		}
		a.hold(o.F32) // a view of an owned buffer
	}
	for _, id := range s.dies[j] {
		if t := s.vals[id]; t != nil {
			a.drop(t.F32)
		}
	}
}

// lastReaders returns, per step, the value ids that die after it: read for
// the last time there, or produced there and never read. Graph inputs,
// params, constants and the ids in keep (graph outputs) never die.
func lastReaders(steps []*step, fixed []bool, keep map[int]bool) [][]int {
	last := map[int]int{}
	for j, st := range steps {
		for _, ids := range [][]int{st.outs, st.ins} {
			for _, id := range ids {
				if id >= 0 {
					last[id] = j
				}
			}
		}
	}
	dies := make([][]int, len(steps))
	for id, j := range last {
		if !fixed[id] && !keep[id] {
			dies[j] = append(dies[j], id)
		}
	}
	for _, d := range dies {
		slices.Sort(d) // a deterministic order of freeing
	}
	return dies
}

// PoisonEnv names the environment variable that, set to 1 when a Session
// is created, makes its arena fill every buffer it hands to a kernel with
// NaN: a kernel that leaves part of its output unwritten then gives NaN
// instead of another value's numbers, and a test comparing outputs fails.
// The conformance suite runs so.
const PoisonEnv = "XFER_ENGINE_POISON"
