package finetune

import (
	"fmt"
	"math/rand"
	"sync"

	"github.com/xferml/xfer/dataset"
)

// batchSource hands an epoch's training batches to the steps, in order.
// When each batch costs work before the step can use it (the frozen prefix
// runs in the engine, or the examples are decoded from files), that work
// runs one batch ahead on its own goroutine, so the engine's run of batch
// s+1 overlaps the gorgonia step of batch s: the two do not share state
// (the prefix is frozen, the step touches only the trainable part), each
// keeps its own order of operations and thread count, so the figures are
// the same bits as when they take turns. Without such work (features
// cached, or examples in memory with nothing in front) the batches are
// filled in place, on the step's goroutine.
type batchSource struct {
	f     *feeder
	s     *dataset.Set
	order []int
	batch int
	aug   *dataset.Augmentation
	rng   *rand.Rand
	next  int // the next batch's index

	// With prefetching: ready delivers the filled batches in order, free
	// returns their buffers to the producer, done stops it early.
	ready chan *fetched
	free  chan *fetched
	done  chan struct{}
	wg    sync.WaitGroup
}

// fetched is one filled batch: the boundary values (one buffer per
// boundary value, batch first), the labels, and the error filling it.
type fetched struct {
	bufs [][]float32
	y    []float32
	n    int
	err  error
}

// prefetchDepth is how many batches the producer may fill ahead of the
// step; 0 fills every batch in place (tests compare the two).
var prefetchDepth = 2

// batches returns the training batches of s in order (batch examples of
// order at a time), augmented by aug drawn from rng. Call stop when done
// with it, also on early return.
func (f *feeder) batches(s *dataset.Set, order []int, batch int, aug *dataset.Augmentation, rng *rand.Rand) *batchSource {
	b := &batchSource{f: f, s: s, order: order, batch: batch, aug: aug, rng: rng}
	if prefetchDepth < 1 || f.cache[s] != nil || (f.prefix == nil && !s.Streamed()) {
		return b
	}
	b.ready = make(chan *fetched, prefetchDepth)
	b.free = make(chan *fetched, prefetchDepth)
	b.done = make(chan struct{})
	lw := s.LabelWidth()
	for range prefetchDepth {
		p := &fetched{y: make([]float32, batch*lw)}
		for k := range f.part.boundary {
			p.bufs = append(p.bufs, make([]float32, batch*f.part.size(k)))
		}
		b.free <- p
	}
	b.wg.Add(1)
	go b.produce()
	return b
}

// produce fills every batch in order until the last, an error or stop.
func (b *batchSource) produce() {
	defer b.wg.Done()
	defer close(b.ready)
	for s := range b.steps() {
		select {
		case <-b.done:
			return
		default:
		}
		var p *fetched
		select {
		case p = <-b.free:
		case <-b.done:
			return
		}
		idx := b.idx(s)
		p.n = len(idx)
		p.err = b.f.fill(b.s, idx, b.sized(p.bufs, p.n), p.y[:p.n*b.s.LabelWidth()], b.aug, b.rng)
		b.ready <- p // buffered: room for every batch taken from free
		if p.err != nil {
			return
		}
	}
}

// sized returns bufs cut to n examples.
func (b *batchSource) sized(bufs [][]float32, n int) [][]float32 {
	out := make([][]float32, len(bufs))
	for k, buf := range bufs {
		out[k] = buf[:n*b.f.part.size(k)]
	}
	return out
}

// steps is the number of batches.
func (b *batchSource) steps() int { return (len(b.order) + b.batch - 1) / b.batch }

// idx returns the examples of batch s.
func (b *batchSource) idx(s int) []int { return b.order[s*b.batch : min((s+1)*b.batch, len(b.order))] }

// fill writes the next batch into bufs (the step graph's input buffers,
// sized for len(b.idx(s)) examples, s the batch's index) and y.
func (b *batchSource) fill(bufs [][]float32, y []float32) error {
	s := b.next
	if s >= b.steps() {
		return fmt.Errorf("finetune: batch %d of %d asked for", s+1, b.steps()) // a bug in the caller
	}
	b.next++
	if b.ready == nil {
		return b.f.fill(b.s, b.idx(s), bufs, y, b.aug, b.rng)
	}
	p := <-b.ready
	if p == nil {
		return fmt.Errorf("finetune: batch %d: the producer stopped early", s+1) // a bug: it stops only after an error it hands over
	}
	defer func() { b.free <- p }()
	if p.err != nil {
		return p.err
	}
	for k, buf := range b.sized(p.bufs, p.n) {
		copy(bufs[k], buf)
	}
	copy(y, p.y[:p.n*b.s.LabelWidth()])
	return nil
}

// stop ends the producer, if any, and waits for it: after stop the feeder
// (its engine session, the set, rng) is the caller's alone again.
func (b *batchSource) stop() {
	if b.done == nil {
		return
	}
	close(b.done)
	for range b.ready { // let a producer blocked on a full ready finish
	}
	b.wg.Wait()
	b.done = nil
}
