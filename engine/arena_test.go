package engine

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/xferml/xfer/model"
)

// chainModel is x [-1, width] -> k nodes, each reading the one before
// (Relu, Neg, Relu, Neg...; Neg so that no value is the same as its input),
// -> y.
func chainModel(k, width int) *model.Model {
	m := &model.Model{Name: "chain", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, width}}}}
	l := &model.Layer{Name: "l", Kind: "chain", Inputs: []string{"x"}}
	prev := "x"
	for i := 0; i < k; i++ {
		op := []string{"Relu", "Neg"}[i%2]
		out := fmt.Sprintf("v%d", i)
		l.Nodes = append(l.Nodes, &model.Node{Name: out, Op: op, Inputs: []string{prev}, Outputs: []string{out}})
		prev = out
	}
	l.Outputs = []string{prev}
	m.Layers = []*model.Layer{l}
	m.Outputs = []string{prev}
	return m
}

// TestArenaChain: a session keeps the values alive at once, not every
// value of the graph: a chain of 40 element-wise nodes holds a couple of
// its tensors between runs (without the arena it held all 40).
func TestArenaChain(t *testing.T) {
	t.Setenv(PoisonEnv, "1")
	const k, width, batch = 40, 1000, 8
	s, err := New(chainModel(k, width))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, batch*width)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	for run := 0; run < 3; run++ {
		y, err := s.Predict(f32([]int{batch, width}, x...))
		if err != nil {
			t.Fatal(err)
		}
		// The chain applied in float32, node by node.
		want := append([]float32(nil), x...)
		for i := 0; i < k; i++ {
			for j, v := range want {
				if i%2 == 0 {
					want[j] = max(v, 0)
				} else {
					want[j] = -v
				}
			}
		}
		for j := range want {
			if y.F32[j] != want[j] {
				t.Fatalf("run %d: y[%d] = %v; want %v", run, j, y.F32[j], want[j])
			}
		}
	}
	value := batch * width * 4
	// The output is copied out and every value dies after its reader:
	// two buffers alternate along the chain.
	if got := s.arena.bytes(); got > 2*value {
		t.Errorf("arena holds %d bytes after a run of %d nodes of %d bytes each; want at most %d (two values)", got, k, value, 2*value)
	}
}

// TestArenaViews: a Reshape's output shares its input's storage, so the
// input's buffer must outlive the view: here "a" is read for the last time
// by Neg while its view "b" is still to be read; a buffer freed too early
// would be overwritten by "c" or "d".
func TestArenaViews(t *testing.T) {
	t.Setenv(PoisonEnv, "1") // a buffer freed too early then holds NaN
	m := &model.Model{Name: "views", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 6}}}}
	l := &model.Layer{Name: "l", Kind: "views", Inputs: []string{"x"}, Outputs: []string{"y"},
		Consts: []*model.Tensor{
			{Name: "s32", DType: model.Int64, Shape: []int{2}, I64: []int64{-1, 3}},
			{Name: "s6", DType: model.Int64, Shape: []int{2}, I64: []int64{-1, 6}},
		}}
	l.Nodes = []*model.Node{
		{Name: "a", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"a"}},
		{Name: "b", Op: "Reshape", Inputs: []string{"a", "s32"}, Outputs: []string{"b"}},
		{Name: "c", Op: "Neg", Inputs: []string{"a"}, Outputs: []string{"c"}},
		{Name: "d", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"d"}}, // relu(-relu(x)) = 0
		{Name: "e", Op: "Reshape", Inputs: []string{"b", "s6"}, Outputs: []string{"e"}},
		{Name: "y", Op: "Add", Inputs: []string{"e", "d"}, Outputs: []string{"y"}},
	}
	m.Layers = []*model.Layer{l}
	m.Outputs = []string{"y"}
	s, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	// Batch sizes change between runs (a last, smaller batch), so buffers
	// are handed to other values than the run before.
	for run, batch := range []int{2, 1, 3, 2} {
		x := make([]float32, batch*6)
		for i := range x {
			x[i] = float32((i+run)%5) - 2
		}
		y, err := s.Predict(f32([]int{batch, 6}, x...))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x {
			if want := max(v, 0); y.F32[i] != want {
				t.Fatalf("run %d (batch %d): y[%d] = %v; want relu(%v) = %v", run, batch, i, y.F32[i], v, want)
			}
		}
	}
}

// TestArenaTake: take hands out the smallest free buffer that holds n
// (else a new one), poisoned with NaN when the arena poisons.
func TestArenaTake(t *testing.T) {
	for _, poison := range []bool{false, true} {
		a := &arena{poison: poison, owned: map[*float32][]float32{}, refs: map[*float32]int{}}
		small, big := make([]float32, 10), make([]float32, 100)
		a.free = [][]float32{big, small}
		got := a.take(8)
		if len(got) != 0 || cap(got) != 10 || base(got) != base(small) {
			t.Errorf("poison %v: take(8) = len %d cap %d; want the free buffer of 10 (len 0)", poison, len(got), cap(got))
		}
		if nan := got[:cap(got)][3] != got[:cap(got)][3]; nan != poison {
			t.Errorf("poison %v: take(8)[3] = %v", poison, got[:cap(got)][3])
		}
		if got := a.take(200); cap(got) != 200 || len(a.free) != 1 {
			t.Errorf("poison %v: take(200) = cap %d with %d free; want a new buffer of 200, the one of 100 still free", poison, cap(got), len(a.free))
		}
	}
}

// TestArenaOffsetView: a view that starts inside a buffer (a kernel
// returning the first rows' slice at an offset) keeps the buffer in use
// until it dies too; storage the arena did not hand out is never taken.
func TestArenaOffsetView(t *testing.T) {
	a := &arena{owned: map[*float32][]float32{}, refs: map[*float32]int{}}
	b := a.take(10)[:10]
	a.owned[base(b)], a.refs[base(b)] = b, 1 // afterStep's bookkeeping
	view := b[4:8]
	a.hold(view)
	a.hold(make([]float32, 3)) // a kernel's own allocation: not the arena's
	a.drop(b)
	if len(a.free) != 0 {
		t.Fatalf("buffer freed while a view at offset 4 is alive")
	}
	a.drop(view)
	if len(a.free) != 1 || len(a.owned) != 0 {
		t.Fatalf("after the view died: %d free, %d owned; want 1, 0", len(a.free), len(a.owned))
	}
	a.drop(view) // dead values are dropped once; a second drop changes nothing
	if len(a.free) != 1 {
		t.Fatalf("a second drop freed the buffer again: %d free", len(a.free))
	}
}

// TestArenaBatchChange: after a smaller batch (an epoch's last), the next
// full batch takes buffers for its full size: outputs of known shape are
// sized from the batch, not from the last run. Else a step handed a buffer
// between the two sizes allocates its own, and that run holds every such
// output at once, as a session without the arena did.
func TestArenaBatchChange(t *testing.T) {
	const wide, mid = 1000, 700
	m := &model.Model{Name: "sizes", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, wide}}}}
	l := &model.Layer{Name: "l", Kind: "sizes", Inputs: []string{"x"}, Outputs: []string{"y"},
		Consts: []*model.Tensor{
			{Name: "down", DType: model.Float32, Shape: []int{wide, mid}, F32: make([]float32, wide*mid)},
			{Name: "up", DType: model.Float32, Shape: []int{mid, wide}, F32: make([]float32, mid*wide)},
			{Name: "out", DType: model.Float32, Shape: []int{wide, 2}, F32: make([]float32, wide*2)},
		}}
	prev := "x"
	for i := 0; i < 6; i++ { // wide -> mid -> wide ..., each followed by Neg
		w := []string{"down", "up"}[i%2]
		mm, ng := fmt.Sprintf("m%d", i), fmt.Sprintf("n%d", i)
		l.Nodes = append(l.Nodes,
			&model.Node{Name: mm, Op: "MatMul", Inputs: []string{prev, w}, Outputs: []string{mm}},
			&model.Node{Name: ng, Op: "Neg", Inputs: []string{mm}, Outputs: []string{ng}})
		prev = ng
	}
	l.Nodes = append(l.Nodes, &model.Node{Name: "y", Op: "MatMul", Inputs: []string{prev, "out"}, Outputs: []string{"y"}})
	m.Layers = []*model.Layer{l}
	m.Outputs = []string{"y"}
	s, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	run := func(batch int) uint64 {
		x := f32([]int{batch, wide}, make([]float32, batch*wide)...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := s.Predict(x); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	run(8)
	steady := run(8) // what a run allocates besides the arena (shapes; the pure-Go BLAS's own buffers)
	run(5)           // 5 x wide fits in 8 x mid: the smallest free buffer that holds it
	// A value of 8 x wide floats is 32,000 bytes; a run after the smaller
	// batch may allocate what a steady run does and far less than that.
	if got := run(8); got > steady+8*wide*4/2 {
		t.Errorf("the batch-8 run after a batch of 5 allocated %d bytes (a steady run %d); want the arena's buffers (a wide value is %d bytes)", got, steady, 8*wide*4)
	}
}
