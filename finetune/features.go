package finetune

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// feeder fills the trainable part's input buffers (one per boundary value,
// batch first) for a batch of examples of a set: through the engine's run
// of the frozen prefix on the raw examples, or from a feature cache, or
// with the raw examples themselves when nothing is frozen in front.
type feeder struct {
	part   *partition
	prefix *engine.Session // nil without a prefix
	// raw is a scratch batch of raw examples for the prefix.
	raw []float32
	// chunk is how many examples the engine runs the prefix on at a time
	// (its intermediate values stay allocated between runs, so this bounds
	// its memory; see prefixChunk).
	chunk int
	// cache holds each set's features, computed once, when caching is on.
	cache map[*dataset.Set]*features
}

// fill writes the inputs of examples idx of s into bufs and their labels
// into y, the raw examples augmented by aug (nil: none) drawn from rng.
func (f *feeder) fill(s *dataset.Set, idx []int, bufs [][]float32, y []float32, aug *dataset.Augmentation, rng *rand.Rand) error {
	if c := f.cache[s]; c != nil {
		labels(s, idx, y)
		return c.rows(idx, bufs)
	}
	if f.prefix == nil {
		if f.part.prefix != nil {
			// plan released the session once every set was cached.
			return fmt.Errorf("finetune: %s: no feature cache and the frozen layers' session was released", s.Name)
		}
		return s.TrainBatch(idx, bufs[0], y, aug, rng)
	}
	rs := s.RowSize()
	if cap(f.raw) < len(idx)*rs {
		f.raw = make([]float32, len(idx)*rs)
	}
	raw := f.raw[:len(idx)*rs]
	if err := s.TrainBatch(idx, raw, y, aug, rng); err != nil {
		return err
	}
	return f.run(s, raw, len(idx), func(k, lo int, v []float32) {
		copy(bufs[k][lo*f.part.size(k):], v)
	})
}

// run runs the prefix on b raw examples, f.chunk at a time, and hands
// each boundary value k of the chunk starting at example lo to put.
func (f *feeder) run(s *dataset.Set, raw []float32, b int, put func(k, lo int, v []float32)) error {
	in := f.prefix.Inputs()[0]
	rs := len(raw) / max(b, 1)
	chunk := max(f.chunk, 1)
	for lo := 0; lo < b; lo += chunk {
		hi := min(lo+chunk, b)
		shape := append([]int{hi - lo}, in.Shape[1:]...)
		x := &model.Tensor{DType: model.Float32, Shape: shape, F32: raw[lo*rs : hi*rs]}
		if in.DType != model.Float32 {
			x = model.Convert(x, in.DType) // token ids, as whole-number floats in the data set
		}
		outs, err := f.prefix.Run(map[string]*model.Tensor{in.Name: x})
		if err != nil {
			return fmt.Errorf("finetune: frozen layers on %s: %w", s.Name, err)
		}
		for k, name := range f.part.boundary {
			put(k, lo, outs[name].F32)
		}
	}
	return nil
}

// labels copies the labels of examples idx into y (LabelWidth each).
func labels(s *dataset.Set, idx []int, y []float32) {
	lw := s.LabelWidth()
	for i, j := range idx {
		copy(y[i*lw:(i+1)*lw], s.Y[j*lw:(j+1)*lw])
	}
}

// features are the boundary values of every example of a set, one row of
// all of them per example: in memory, or in a temporary file when they do
// not fit the memory budget (then rows are read back at each batch, from
// the page cache while it holds them).
type features struct {
	n, row int
	sizes  []int // floats of each boundary value per example
	mem    []float32
	file   *os.File
	buf    []byte
	tmp    []float32
}

// cacheBudget is the part of the memory ceiling (internal/limits) feature
// caches may take in memory; above it they go to a temporary file.
func cacheBudget() int64 { return limits.Bytes() / 4 }

// cacheFeatures runs the prefix once over every example of s, batch
// examples at a time, and keeps the boundary values; inMemory says where
// (false: a temporary file in $TMPDIR, removed by close).
func (f *feeder) cacheFeatures(s *dataset.Set, batch int, inMemory bool) (*features, error) {
	c := &features{n: s.Len(), row: f.part.rowSize()}
	for _, sh := range f.part.shapes {
		c.sizes = append(c.sizes, model.NumElements(sh))
	}
	if inMemory {
		c.mem = make([]float32, 0, c.n*c.row)
	} else {
		file, err := os.CreateTemp("", "xfer-features-*")
		if err != nil {
			return nil, fmt.Errorf("finetune: feature cache: %w", err)
		}
		// The name goes at once: the file lives as long as it is open.
		os.Remove(file.Name())
		c.file = file
	}
	rs := s.RowSize()
	y := make([]float32, batch*s.LabelWidth())
	for lo := 0; lo < c.n; lo += batch {
		hi := min(lo+batch, c.n)
		idx := make([]int, hi-lo)
		for i := range idx {
			idx[i] = lo + i
		}
		if cap(f.raw) < len(idx)*rs {
			f.raw = make([]float32, len(idx)*rs)
		}
		raw := f.raw[:len(idx)*rs]
		if err := s.Batch(idx, raw, y); err != nil {
			c.close()
			return nil, err
		}
		if cap(c.tmp) < len(idx)*c.row {
			c.tmp = make([]float32, len(idx)*c.row)
		}
		block := c.tmp[:len(idx)*c.row] // rows of this batch, all values
		err := f.run(s, raw, len(idx), func(k, lo int, v []float32) {
			off := 0
			for j := range k {
				off += c.sizes[j]
			}
			for i := range len(v) / c.sizes[k] {
				copy(block[(lo+i)*c.row+off:(lo+i)*c.row+off+c.sizes[k]], v[i*c.sizes[k]:(i+1)*c.sizes[k]])
			}
		})
		if err != nil {
			c.close()
			return nil, err
		}
		for i := range idx {
			row := block[i*c.row : (i+1)*c.row]
			if c.file == nil {
				c.mem = append(c.mem, row...)
				continue
			}
			if err := c.write(row); err != nil {
				c.close()
				return nil, err
			}
		}
	}
	return c, nil
}

// write appends a row to the file.
func (c *features) write(row []float32) error {
	c.buf = c.buf[:0]
	for _, v := range row {
		c.buf = binary.LittleEndian.AppendUint32(c.buf, math.Float32bits(v))
	}
	if _, err := c.file.Write(c.buf); err != nil {
		return fmt.Errorf("finetune: writing the feature cache to %s: %w; set TMPDIR to a disk with room", os.TempDir(), err)
	}
	return nil
}

// rows gathers the features of examples idx into bufs, one buffer per
// boundary value, batch first.
func (c *features) rows(idx []int, bufs [][]float32) error {
	var row []float32
	if c.file != nil {
		row = make([]float32, c.row)
		if cap(c.buf) < 4*c.row {
			c.buf = make([]byte, 4*c.row)
		}
	}
	for i, j := range idx {
		if c.file == nil {
			row = c.mem[j*c.row : (j+1)*c.row]
		} else {
			b := c.buf[:4*c.row]
			if _, err := c.file.ReadAt(b, int64(j)*int64(4*c.row)); err != nil && err != io.EOF {
				return fmt.Errorf("finetune: reading the feature cache: %w", err)
			}
			for k := range row {
				row[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
			}
		}
		off := 0
		for k, sz := range c.sizes {
			copy(bufs[k][i*sz:(i+1)*sz], row[off:off+sz])
			off += sz
		}
	}
	return nil
}

// bytes is the cache's size.
func (c *features) bytes() int64 { return int64(c.n) * int64(c.row) * 4 }

// close releases the temporary file, if any.
func (c *features) close() {
	if c != nil && c.file != nil {
		c.file.Close()
		c.file = nil
	}
}

// tempDir names where temporary files go ($TMPDIR), for messages.
func tempDir() string { return os.TempDir() }
