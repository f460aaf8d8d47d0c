package finetune

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// trainer holds a run's partition, graphs and state.
type trainer struct {
	m    *model.Model
	cfg  Config
	loss lossKind
	st   *store
	rng  *rand.Rand // noise layers
	// augRng draws the augmentation (Config.Augment).
	augRng *rand.Rand
	// part splits m at its frozen boundary; feed fills the graphs' inputs.
	part  *partition
	feed  *feeder
	train map[int]*graph
	eval  map[int]*graph
	opt   *optimizer
	// evalBatch is the batch size of evaluation graphs: evalBatch, or less
	// when that does not fit the memory ceiling.
	evalBatch int
	rowSize   int
	// gs records --grad-stats (nil when off).
	gs *gradRecorder
	// pen holds the Keras kernel regularizers and constraints by param.
	pen map[string]penalty
	// trainMet and valMet accumulate Config.Metrics over an epoch.
	trainMet, valMet *metricAcc
}

// evalBatch is the largest batch size of evaluation graphs.
const evalBatch = 500

func (t *trainer) graph(cache map[int]*graph, batch int, training bool) (*graph, error) {
	if g, ok := cache[batch]; ok {
		return g, nil
	}
	lk := t.loss
	if !training {
		lk.weights = nil // Keras weighs only the training data by class
	}
	g, err := build(t.m, t.st, buildOpts{batch: batch, training: training, loss: &lk, grads: training, rng: t.rng, part: t.part, bnMode: t.cfg.BNMode})
	if err != nil {
		return nil, err
	}
	cache[batch] = g
	return g, nil
}

func (t *trainer) checkSet(s *dataset.Set, what string) error {
	if s == nil || s.Len() == 0 {
		return fmt.Errorf("finetune: %s set is empty", what)
	}
	if s.RowSize() != t.rowSize {
		return fmt.Errorf("finetune: %s set %s has %d values per example (shape %v) but model input %q takes %d", what, s.Name, s.RowSize(), s.Shape(), t.m.Inputs[0].Name, t.rowSize)
	}
	return nil
}

// plan splits the model at its frozen boundary (or not, with
// Config.WholeGraph), starts the engine on the frozen prefix, checks the
// memory the run needs at the batch sizes it uses (the training batch; the
// evaluation batch only when there is validation data, shrunk until it
// fits) and caches the prefix's features when nothing random is in it and
// no augmentation changes the examples. It runs at the start and again
// when layers are unfrozen.
func (t *trainer) plan(train, valid *dataset.Set, rep Reporter) error {
	t.feed.close()
	part, err := split(t.m, t.cfg.WholeGraph)
	if err != nil {
		return err
	}
	t.part = part
	t.train, t.eval = map[int]*graph{}, map[int]*graph{}
	t.feed = &feeder{part: part, cache: map[*dataset.Set]*features{}}
	if part.prefix != nil {
		prefix, _ := foldPrefixBN(part.prefix)
		if t.feed.prefix, err = engine.New(prefix); err != nil {
			return fmt.Errorf("finetune: model %q: the frozen layers: %w", t.m.Name, err)
		}
		t.feed.chunk = t.prefixChunk()
	}
	// Augmentation shows the frozen layers new examples every epoch: no
	// cache then.
	cache := part.prefix != nil && t.cfg.FeatureCache != "off" && t.cfg.Augment == nil
	var cacheBytes int64
	if cache {
		for _, s := range []*dataset.Set{train, valid} {
			if s != nil {
				cacheBytes += int64(s.Len()) * int64(part.rowSize()) * 4
			}
		}
	}
	inMemory := cacheBytes <= cacheBudget()
	memCache := int64(0)
	if cache && inMemory {
		memCache = cacheBytes
	}
	if err := t.checkMemory(t.cfg.BatchSize, true, memCache); err != nil {
		return err
	}
	t.evalBatch = 0
	if valid != nil {
		t.evalBatch = evalBatch
		if valid.Streamed() {
			// An image folder is validated at the training batch size, as
			// Keras's fit does (validation_batch_size defaults to
			// batch_size): memory stays bounded by the batch, and a
			// streamed set gains little from bigger engine batches.
			t.evalBatch = max(t.cfg.BatchSize, 1)
		}
		for t.evalBatch > 1 && t.checkMemory(t.evalBatch, false, memCache) != nil {
			t.evalBatch /= 2
		}
		if err := t.checkMemory(t.evalBatch, false, memCache); err != nil {
			return err
		}
	}
	if !cache {
		if part.prefix != nil {
			why := ""
			if t.cfg.Augment != nil {
				why = " (augmentation " + t.cfg.Augment.String() + " shows them new images)"
			}
			rep.Message(fmt.Sprintf("frozen layers (%d nodes) run in the inference engine at every step%s", part.frozenNodes, why))
		}
		return nil
	}
	where := "in memory"
	if !inMemory {
		where = "in a temporary file in " + tempDir()
	}
	rep.Message(fmt.Sprintf("frozen layers (%d nodes) run once: features cached %s (%s)", part.frozenNodes, where, limits.Format(cacheBytes)))
	for _, s := range []*dataset.Set{train, valid} {
		if s == nil {
			continue
		}
		c, err := t.feed.cacheFeatures(s, t.cfg.BatchSize, inMemory)
		if err != nil {
			return err
		}
		t.feed.cache[s] = c
	}
	// Every set the run reads is cached: the engine's session (its packed
	// weights and intermediate values, as big as the frozen model for a
	// ViT) is not needed again; collecting it now lets the trained copies
	// and the export reuse its memory instead of growing the peak.
	t.feed.prefix = nil
	runtime.GC()
	return nil
}

// prefixBudget bounds the memory of the engine's intermediate values for
// the frozen prefix (which it keeps between runs): the prefix runs on this
// much, or on one example when one takes more, at a time.
var prefixBudget = 256 << 20

// prefixChunk returns how many examples the engine runs the prefix on at a
// time: the training batch, or fewer when their intermediate values would
// exceed prefixBudget (a 224x224 ResNet-18 keeps about 34 MB per image).
func (t *trainer) prefixChunk() int {
	vals, err := t.m.InferShapes()
	if err != nil {
		return t.cfg.BatchSize
	}
	per := 0
	for name := range t.part.engine {
		if n := t.m.Node(name); n != nil {
			for _, o := range n.Outputs {
				if v, ok := vals[o]; ok && len(v.Shape) > 0 {
					per += max(model.NumElements(v.Shape[1:]), 1) * 4
				}
			}
		}
	}
	if per == 0 {
		return t.cfg.BatchSize
	}
	return min(t.cfg.BatchSize, max(1, prefixBudget/per))
}

// checkMemory refuses, before anything is allocated, a run whose memory
// at batch b would exceed the ceiling (internal/limits): a small model file
// can declare huge intermediate values (a Pad with huge pads). The estimate
// counts, for the trainable part, every value three times in training
// (activation, gradient, scratch) and once in evaluation, and every
// trainable param four times more (value, gradient, two optimizer slots);
// for the frozen prefix, which the engine runs, every value once; and the
// in-memory feature cache. An unknown first dimension is the
// batch; other unknown dims count as 1.
func (t *trainer) checkMemory(b int, training bool, cacheBytes int64) error {
	vals, err := t.m.InferShapes()
	if err != nil {
		return nil // the graph build reports what is wrong with the model
	}
	prefixVals := map[string]bool{}
	for name := range t.part.engine {
		if n := t.m.Node(name); n != nil {
			for _, o := range n.Outputs {
				prefixVals[o] = true
			}
		}
	}
	var need float64
	for name, v := range vals {
		n := 1.0
		for i, d := range v.Shape {
			if i == 0 && d < 0 {
				n *= float64(b) // the batch dimension
				continue
			}
			n *= float64(max(d, 1))
		}
		switch {
		case prefixVals[name]:
			// The engine runs the prefix on chunks of at most
			// prefixChunk examples.
			need += n / float64(b) * float64(min(b, max(t.feed.chunk, 1)))
		case !training:
			need += n
		default:
			need += 3 * n
		}
	}
	if training {
		for _, l := range t.m.Layers {
			for _, p := range l.Params {
				if p.Trainable {
					need += 4 * float64(len(p.Data))
				}
			}
		}
	}
	need += float64(cacheBytes) / 4
	if need > math.MaxInt64/4 {
		need = math.MaxInt64 / 4
	}
	what := "training"
	if !training {
		what = "evaluation"
	}
	return limits.Check(fmt.Sprintf("finetune: model %q: %s at batch %d", t.m.Name, what, b), int64(need), 4)
}

// inputs returns the graph's input buffers as float32 slices.
func (g *graph) inputs() [][]float32 {
	bufs := make([][]float32, len(g.xbufs))
	for i, b := range g.xbufs {
		bufs[i] = b.([]float32)
	}
	return bufs
}

// step trains on src's next batch (g is the graph of its size) and returns
// its loss, its correct count and the sum of its examples' weights
// (lossState).
func (t *trainer) step(g *graph, src *batchSource) (loss, correct, weight float64, err error) {
	if err := src.fill(g.inputs(), g.ybuf.([]float32)); err != nil {
		return 0, 0, 0, err
	}
	defer g.vm.Reset()
	g.loss.rec = t.trainMet
	defer func() { g.loss.rec = nil }()
	if err := g.vm.RunAll(); err != nil {
		return 0, 0, 0, fmt.Errorf("finetune: training step: %w", err)
	}
	loss = g.loss.loss
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0, 0, &nonFinite{"loss", loss}
	}
	// A cross-entropy cannot be negative: labels outside what the loss
	// reads (Check refuses them) would train a broken model "successfully".
	if t.loss.name != LossMSE && loss < -1e-6 {
		return loss, 0, 0, fmt.Errorf("%s is %g, below 0, which a cross-entropy cannot be: the labels do not fit the loss; nothing was saved: %w", t.loss.name, loss, ErrNegativeLoss)
	}
	names := make([]string, len(g.wrt))
	params := make([][]float32, len(g.wrt))
	grads := make([][]float32, len(g.wrt))
	for i, n := range g.grads {
		v := n.Value()
		if v == nil {
			return 0, 0, 0, fmt.Errorf("finetune: gradient of %s was not computed", g.wrtParams[i].Name)
		}
		grads[i] = v.Data().([]float32)
		params[i] = g.wrtParams[i].Data
		names[i] = g.wrtParams[i].Name
	}
	// A gradient can overflow while the loss is still finite: the update
	// would then write NaN into the weights. Stop before it.
	for i, gr := range grads {
		if j := kernels.FirstNonFinite(gr); j >= 0 {
			return loss, 0, 0, &nonFinite{"gradient of " + names[i], float64(gr[j])}
		}
	}
	// Kernel regularizers from the Keras configs join the loss and its
	// gradient before clipping; constraints act after the update, as in
	// Keras.
	for i, name := range names {
		if p, ok := t.pen[name]; ok {
			loss += p.addPenalty(params[i], grads[i])
		}
	}
	var pre float64
	if t.gs != nil {
		t.gs.before(names, params, grads)
		for _, g := range grads {
			pre += norm2(g)
		}
	}
	clipGrads(&t.cfg, grads)
	t.opt.step(names, params, grads)
	if t.gs != nil {
		var post float64
		for _, g := range grads {
			post += norm2(g)
		}
		t.gs.after(names, params, post != pre)
	}
	for i, name := range names {
		if p, ok := t.pen[name]; ok {
			p.constrain(params[i], g.wrtParams[i].Shape)
		}
	}
	return loss, g.loss.correct, g.loss.weight, nil
}

func (t *trainer) evaluate(s *dataset.Set) (Metrics, error) {
	if t.feed == nil {
		// Evaluate's fallback: the whole model in gorgonia.
		part, err := split(t.m, true)
		if err != nil {
			return Metrics{}, err
		}
		t.part, t.feed = part, &feeder{part: part}
	}
	if t.eval == nil {
		t.eval = map[int]*graph{}
	}
	var sum, correct, weight float64
	order := s.Order(nil)
	eb := t.evalBatch
	if eb <= 0 {
		eb = evalBatch
	}
	for lo := 0; lo < len(order); lo += eb {
		idx := order[lo:min(lo+eb, len(order))]
		g, err := t.graph(t.eval, len(idx), false)
		if err != nil {
			return Metrics{}, err
		}
		if err := t.feed.fill(s, idx, g.inputs(), g.ybuf.([]float32), nil, nil); err != nil {
			return Metrics{}, err
		}
		g.loss.rec = t.valMet
		err = g.vm.RunAll()
		g.loss.rec = nil
		g.vm.Reset()
		if err != nil {
			return Metrics{}, fmt.Errorf("finetune: evaluating on %s: %w", s.Name, err)
		}
		sum += g.loss.loss * float64(len(idx))
		correct += g.loss.correct
		weight += g.loss.weight
	}
	return Metrics{Loss: sum / float64(s.Len()), Accuracy: accuracy(correct, weight), Samples: s.Len()}, nil
}

// accuracy is correct/weight, 0 when every weight is 0 (Keras's
// divide_no_nan).
func accuracy(correct, weight float64) float64 {
	if weight == 0 {
		return 0
	}
	return correct / weight
}

// close releases the feeder's feature caches.
func (f *feeder) close() {
	if f == nil {
		return
	}
	for _, c := range f.cache {
		c.close()
	}
}
