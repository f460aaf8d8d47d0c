package finetune

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// messages records a run's progress messages.
type messages struct {
	nopReporter
	got []string
}

func (r *messages) Message(s string) { r.got = append(r.got, s) }

// engineOnlyModel is [N, 3, 4] inputs through a frozen layer of ops that
// only the engine runs (Pow by a const, ReduceMax, Squeeze-free reshape by
// Shape arithmetic is left to the importers' tests), then a trainable
// softmax Dense head.
func engineOnlyModel(t testing.TB, seed int64) *model.Model {
	rng := rand.New(rand.NewSource(seed))
	m := &model.Model{Name: "engine-only", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 3, 4}}}}
	base := rawLayer(rng, "base", "x", "base/r", nil,
		&model.Node{Name: "base/pow", Op: "Pow", Inputs: []string{"x", "base/two"}, Outputs: []string{"base/p"}},
		&model.Node{Name: "base/max", Op: "ReduceMax", Inputs: []string{"base/p"}, Outputs: []string{"base/r"},
			Attrs: map[string]model.Attr{"axes": model.Ints(2), "keepdims": model.Int(0)}})
	base.Consts = []*model.Tensor{{Name: "base/two", DType: model.Float32, Shape: []int{}, F32: []float32{2}}}
	base.SetTrainable(false)
	head := rawLayer(rng, "head", "base/r", "head/s", map[string][]int{"kernel": {3, 2}, "bias": {2}},
		&model.Node{Name: "head/mm", Op: "MatMul", Inputs: []string{"base/r", "head/kernel"}, Outputs: []string{"head/z"}},
		&model.Node{Name: "head/add", Op: "Add", Inputs: []string{"head/z", "head/bias"}, Outputs: []string{"head/b"}},
		&model.Node{Name: "head/softmax", Op: "Softmax", Inputs: []string{"head/b"}, Outputs: []string{"head/s"}, Attrs: map[string]model.Attr{"axis": model.Int(-1)}})
	m.Layers = []*model.Layer{base, head}
	m.Outputs = []string{"head/s"}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSplitTrainsBehindEngineOnlyOps: head-only training works when the
// frozen layers hold ops the training lowering does not have (they run in
// the engine); lowering the whole model names the op.
func TestSplitTrainsBehindEngineOnlyOps(t *testing.T) {
	m := engineOnlyModel(t, 1)
	set := randomSet(t, 40, 2, []int{3, 4})
	rep := &messages{}
	out, h, err := Train(context.Background(), m, set, set, Config{Epochs: 2, BatchSize: 8, LearningRate: 0.1}, rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 2 || out.Layer("head").Param("kernel").Data[0] == m.Layer("head").Param("kernel").Data[0] {
		t.Errorf("Train: history %+v; head kernel unchanged", h)
	}
	if len(rep.got) == 0 || !strings.Contains(rep.got[0], "features cached in memory") {
		t.Errorf("progress messages %q; want one saying the features are cached", rep.got)
	}
	_, _, err = Train(context.Background(), m, set, nil, Config{Epochs: 1, WholeGraph: true}, nil)
	if !errors.Is(err, model.ErrUnsupported) || !strings.Contains(err.Error(), `"Pow"`) {
		t.Errorf("Train(WholeGraph) error = %v; want ErrUnsupported naming Pow", err)
	}
}

// frozenMLP is a model-A-like MLP with its first two Dense layers frozen.
func frozenMLP(t testing.TB) *model.Model {
	m := seqModel(t, 31, []int{8, 8}, denseStage("d0", 24, "selu"), denseStage("d1", 16, "tanh"), denseStage("d2", 12, "relu"), denseStage("d3", 5, "softmax"))
	for _, name := range []string{"flatten", "d0", "d1"} {
		m.Layer(name).SetTrainable(false)
	}
	return m
}

func allParams(m *model.Model) []float32 {
	var all []float32
	for _, l := range m.Layers {
		for _, p := range l.Params {
			all = append(all, p.Data...)
		}
	}
	return all
}

// TestSplitMatchesWholeGraph: the frozen prefix in the engine, with the
// feature cache in memory, spilled to a file, or off, trains the same model
// as the whole graph in gorgonia (to rounding: the engine's products round
// differently); the in-memory and spilled caches give the same bits.
func TestSplitMatchesWholeGraph(t *testing.T) {
	m := frozenMLP(t)
	set := randomSet(t, 700, 5, []int{8, 8})
	valid := randomSet(t, 300, 5, []int{8, 8})
	cfg := Config{Epochs: 3, BatchSize: 16, LearningRate: 0.05, Momentum: 0.9, Seed: 3}
	run := func(c Config, ceiling int64) ([]float32, *History, []string) {
		t.Helper()
		if ceiling > 0 {
			defer limits.Set(ceiling)()
		}
		rep := &messages{}
		out, h, err := Train(context.Background(), m, set, valid, c, rep)
		if err != nil {
			t.Fatal(err)
		}
		return allParams(out), h, rep.got
	}
	whole := cfg
	whole.WholeGraph = true
	want, wantH, _ := run(whole, 0)
	noCache := cfg
	noCache.FeatureCache = "off"
	mem, memH, memMsgs := run(cfg, 0)
	// 1000 examples of 16 features are 62.5 KiB: a 128 KiB ceiling leaves
	// the cache 32 KiB in memory, so it goes to a file.
	spilled, _, spillMsgs := run(cfg, 128<<10)
	off, _, offMsgs := run(noCache, 0)
	// The engine running the prefix one example at a time (its memory
	// bound) gives the same training.
	defer func(b int) { prefixBudget = b }(prefixBudget)
	prefixBudget = 1
	chunked, _, _ := run(noCache, 0)
	for _, c := range []struct {
		name string
		msgs []string
		want string
	}{{"in memory", memMsgs, "features cached in memory"}, {"spilled", spillMsgs, "features cached in a temporary file"}, {"off", offMsgs, "run in the inference engine at every step"}} {
		if len(c.msgs) == 0 || !strings.Contains(c.msgs[0], c.want) {
			t.Errorf("%s: progress messages %q; want %q", c.name, c.msgs, c.want)
		}
	}
	for i := range want {
		for _, got := range [][]float32{mem, spilled, off, chunked} {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5+1e-4*math.Abs(float64(want[i])) {
				t.Fatalf("param value %d = %v split; whole graph gives %v", i, got[i], want[i])
			}
		}
		if math.Float32bits(mem[i]) != math.Float32bits(spilled[i]) {
			t.Fatalf("param value %d = %v with the cache in memory, %v spilled to a file", i, mem[i], spilled[i])
		}
	}
	for e := range wantH.Epochs {
		if d := math.Abs(*memH.Epochs[e].ValLoss - *wantH.Epochs[e].ValLoss); d > 1e-5 {
			t.Errorf("epoch %d val_loss %v split; whole graph %v", e+1, *memH.Epochs[e].ValLoss, *wantH.Epochs[e].ValLoss)
		}
	}
}

// TestSplitUnfreezeAfter: after unfreezing, the frozen prefix shrinks
// (here to nothing) and the layers unfrozen train as in the whole graph.
func TestSplitUnfreezeAfter(t *testing.T) {
	m := frozenMLP(t)
	set := randomSet(t, 48, 5, []int{8, 8})
	cfg := Config{Epochs: 2, BatchSize: 16, LearningRate: 0.05, UnfreezeAfter: 1, Seed: 4}
	got, _, err := Train(context.Background(), m, set, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.WholeGraph = true
	want, _, err := Train(context.Background(), m, set, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, w := allParams(got), allParams(want)
	for i := range w {
		if d := math.Abs(float64(g[i] - w[i])); d > 1e-5+1e-4*math.Abs(float64(w[i])) {
			t.Fatalf("param value %d = %v split; whole graph gives %v", i, g[i], w[i])
		}
	}
	if d0 := got.Layer("d0").Param("kernel").Data; d0[0] == m.Layer("d0").Param("kernel").Data[0] {
		t.Errorf("d0 did not train after unfreezing")
	}
}

// TestSplitPartition: which nodes the engine runs.
func TestSplitPartition(t *testing.T) {
	m := frozenMLP(t)
	p, err := split(m, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.prefix == nil || len(p.boundary) != 1 || p.boundary[0] != m.Layer("d1").Outputs[0] || p.rowSize() != 16 {
		t.Errorf("split(d0, d1 frozen): boundary %v (row %d), prefix %v; want d1's output, 16 features", p.boundary, p.rowSize(), p.prefix != nil)
	}
	// A frozen Dropout is random in training: the boundary stops before it.
	d := seqModel(t, 2, []int{6}, denseStage("d0", 5, "relu"), dropoutStage("drop", "Dropout", 0.5), denseStage("d1", 3, "softmax"))
	d.Layer("d0").SetTrainable(false)
	d.Layer("drop").SetTrainable(false)
	p, err = split(d, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.boundary) != 1 || p.boundary[0] != d.Layer("d0").Outputs[0] {
		t.Errorf("split(frozen dense, frozen dropout): boundary %v; want d0's output", p.boundary)
	}
	// Nothing frozen: no prefix, the model input is the boundary.
	a := seqModel(t, 3, []int{6}, denseStage("d0", 5, "relu"), denseStage("d1", 3, "softmax"))
	if p, err = split(a, false); err != nil || p.prefix != nil || p.boundary[0] != "input" {
		t.Errorf("split(nothing frozen) = prefix %v, boundary %v, %v; want no prefix", p.prefix != nil, p.boundary, err)
	}
}
