package finetune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"time"

	"gorgonia.org/tensor"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/internal/blas32"
	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// Config sets up a training run. Zero values take Keras's defaults.
type Config struct {
	Epochs    int
	BatchSize int // 0: 32, as Keras's fit
	// LearningRate is SGD's step (0: Keras's default 0.01; Adam's 0.001).
	LearningRate float64
	Momentum     float64
	Nesterov     bool
	// At most one of the three clipping rules (see clipGrads).
	ClipValue, ClipNorm, GlobalClipNorm float64
	// Optimizer is "sgd" (the default) or "adam".
	Optimizer string
	// Adam's constants (0: Keras's 0.9, 0.999, 1e-7).
	Beta1, Beta2, Epsilon float64
	// Loss overrides the loss chosen from the head (see ChooseLoss).
	Loss string
	// FromLogits says the model's head outputs logits (a linear Dense), as
	// Keras's from_logits=True: the cross-entropies apply the softmax or
	// sigmoid themselves.
	FromLogits bool `json:"from_logits,omitempty"`
	// Seed seeds the shuffling and the noise layers.
	Seed int64
	// NoShuffle keeps the data order (Keras shuffles by default).
	NoShuffle bool
	// UnfreezeAfter > 0 makes the layers frozen at the start trainable after
	// that many epochs (only those at index >= UnfreezeFrom), with a fresh
	// optimizer (as recompiling in Keras) and LearningRateAfter if set.
	UnfreezeAfter     int
	UnfreezeFrom      int
	LearningRateAfter float64
	// Augment, when set, augments every training batch (never evaluation
	// batches) with Keras's random image layers, drawn from Seed. Feature
	// caching of a frozen base must be off with it: the base sees new
	// images every epoch.
	Augment *dataset.Augmentation `json:"augment,omitempty"`
	// Checkpoint, when set, is called with the model after every finished
	// epoch (Keras's ModelCheckpoint), so that a killed run keeps its
	// work; the model is the caller's to keep. An error stops training,
	// keeping that model.
	Checkpoint func(epoch int, m *model.Model) error `json:"-"`
}

func (c *Config) defaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Optimizer == "" {
		c.Optimizer = "sgd"
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.01 // keras.optimizers.SGD default
		if c.Optimizer == "adam" {
			c.LearningRate = 0.001 // keras.optimizers.Adam default
		}
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Epsilon == 0 {
		c.Epsilon = 1e-7
	}
}

// Epoch is one epoch's figures; JSON keys as xfer's CLI contract says.
type Epoch struct {
	Epoch            int      `json:"epoch"`
	Loss             float64  `json:"loss"`
	Accuracy         float64  `json:"accuracy"`
	ValLoss          *float64 `json:"val_loss,omitempty"`
	ValAccuracy      *float64 `json:"val_accuracy,omitempty"`
	Seconds          float64  `json:"seconds"`
	SamplesPerSecond float64  `json:"samples_per_second"`
}

// History is a training run's record.
type History struct {
	Epochs []Epoch `json:"epochs"`
	// SamplesPerSecond is training samples per second over the whole run,
	// excluding evaluation.
	SamplesPerSecond float64 `json:"samples_per_second"`
	LossFunction     string  `json:"loss_function"`
}

// Metrics are a model's loss and accuracy on a data set.
type Metrics struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	Samples  int     `json:"samples"`
}

// ErrExploding reports a NaN or infinite loss or gradient. Train wraps it
// in a message that names the epoch, the step and the value.
var ErrExploding = errors.New("exploding gradients")

// ErrNegativeLoss reports a cross-entropy below zero during training;
// Train then returns no model, so that nothing is saved.
var ErrNegativeLoss = errors.New("negative cross-entropy")

// nonFinite is a NaN or infinite loss or gradient met in a step.
type nonFinite struct {
	what string // "loss", "gradient of dense/kernel"
	v    float64
}

func (e *nonFinite) Error() string { return fmt.Sprintf("%s is %v: %v", e.what, e.v, ErrExploding) }
func (e *nonFinite) Unwrap() error { return ErrExploding }

// headOf returns the output's producing node and the output's units.
func headOf(m *model.Model) (*model.Node, int, error) {
	st := newStore(m, tensor.Float32)
	g, err := build(m, st, buildOpts{batch: 1})
	if err != nil {
		return nil, 0, err
	}
	s := g.out.Shape()
	units := 1
	if len(s) > 1 {
		units = s[len(s)-1]
	}
	return headNode(m), units, nil
}

// ChooseLoss picks the loss for m's head and labels with classes classes
// (0 for non-class labels), unless name says which: a Softmax head with class
// labels takes sparse categorical cross-entropy, a 1-unit Sigmoid head binary
// cross-entropy, anything else mean squared error.
func ChooseLoss(m *model.Model, name string, classes int) (string, error) {
	k, err := chooseLoss(m, name, classes)
	return k.name, err
}

func chooseLoss(m *model.Model, name string, classes int) (lossKind, error) {
	li := labelInfo{name: "the data", classes: classes, lo: math.Inf(1), hi: math.Inf(-1)}
	if classes > 0 {
		li.lo, li.hi = 0, float64(classes-1)
	}
	return chooseLossFor(m, name, false, li)
}

// trainer holds a run's graphs and state.
type trainer struct {
	m       *model.Model
	cfg     Config
	loss    lossKind
	st      *store
	rng     *rand.Rand // noise layers
	augRng  *rand.Rand // augmentation draws
	train   map[int]*graph
	eval    map[int]*graph
	opt     *optimizer
	rowSize int
	// evalBatch is the batch size of evaluation graphs (0: evalBatch).
	evalBatch int
}

func (t *trainer) graph(cache map[int]*graph, batch int, training bool) (*graph, error) {
	if g, ok := cache[batch]; ok {
		return g, nil
	}
	g, err := build(t.m, t.st, buildOpts{batch: batch, training: training, loss: &t.loss, grads: training, rng: t.rng})
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

// checkMemory refuses, before gorgonia allocates, a model whose training
// graph at batch b would exceed the memory ceiling (internal/limits): a
// small model file can declare huge intermediate values (a Pad with huge
// pads). The estimate counts every value of the graph three times
// (activation, gradient, scratch), with an unknown first dimension as the
// batch, and every param four times more (value, gradient, two optimizer
// slots); other unknown dims count as 1.
func checkMemory(m *model.Model, b int) error {
	vals, err := m.InferShapes()
	if err != nil {
		return nil // the graph build reports what is wrong with the model
	}
	var need float64
	for _, v := range vals {
		n := 1.0
		for i, d := range v.Shape {
			if i == 0 && d < 0 {
				n *= float64(b) // the batch dimension
				continue
			}
			n *= float64(max(d, 1))
		}
		need += 3 * n
	}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			need += 4 * float64(len(p.Data))
		}
	}
	if need > math.MaxInt64/4 {
		need = math.MaxInt64 / 4
	}
	return limits.Check(fmt.Sprintf("finetune: model %q: training at batch %d", m.Name, b), int64(need), 4)
}

// step trains on one batch and returns its loss and correct count.
func (t *trainer) step(g *graph, s *dataset.Set, idx []int) (float64, float64, error) {
	if err := s.TrainBatch(idx, g.xbuf.([]float32), g.ybuf.([]float32), t.cfg.Augment, t.augRng); err != nil {
		return 0, 0, err
	}
	defer g.vm.Reset()
	if err := g.vm.RunAll(); err != nil {
		return 0, 0, fmt.Errorf("finetune: training step: %w", err)
	}
	loss := g.loss.loss
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0, &nonFinite{"loss", loss}
	}
	// A cross-entropy cannot be negative: labels outside what the loss
	// reads (Check refuses them) would train a broken model "successfully".
	if t.loss.name != LossMSE && loss < -1e-6 {
		return loss, 0, fmt.Errorf("%s is %g, below 0, which a cross-entropy cannot be: the labels do not fit the loss; nothing was saved: %w", t.loss.name, loss, ErrNegativeLoss)
	}
	names := make([]string, len(g.wrt))
	params := make([][]float32, len(g.wrt))
	grads := make([][]float32, len(g.wrt))
	for i, n := range g.grads {
		v := n.Value()
		if v == nil {
			return 0, 0, fmt.Errorf("finetune: gradient of %s was not computed", g.wrtParams[i].Name)
		}
		grads[i] = v.Data().([]float32)
		params[i] = g.wrtParams[i].Data
		names[i] = g.wrtParams[i].Name
	}
	// A gradient can overflow while the loss is still finite: the update
	// would then write NaN into the weights. Stop before it.
	for i, gr := range grads {
		if j := kernels.FirstNonFinite(gr); j >= 0 {
			return loss, 0, &nonFinite{"gradient of " + names[i], float64(gr[j])}
		}
	}
	clipGrads(&t.cfg, grads)
	t.opt.step(names, params, grads)
	return loss, g.loss.correct, nil
}

// Train trains a copy of m on train, reporting validation figures on valid
// (may be nil), and returns the trained copy; m is never modified. Only
// params with Trainable set change; the rest stay bit-identical.
//
// When ctx is cancelled, Train returns the model as of the last finished
// epoch with an error wrapping ctx.Err(). A NaN or infinite loss stops
// training with an error wrapping ErrExploding and returns the last good
// model (as of the last finished epoch).
func Train(ctx context.Context, m *model.Model, train, valid *dataset.Set, cfg Config, rep Reporter) (*model.Model, *History, error) {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return nil, nil, err
	}
	if rep == nil {
		rep = nopReporter{}
	}
	// Matrix products are split over goroutines (engine.SetThreads), each with
	// a single-threaded BLAS; the BLAS's own setting is restored after.
	prev := blas32.Threads()
	blas32.SetThreads(1)
	defer blas32.SetThreads(prev)
	work := m.Clone()
	// Every check before the first step: a mismatch changes nothing.
	loss, err := checkRun(work, train, valid, &cfg)
	if err != nil {
		return nil, nil, err
	}
	t := &trainer{m: work, cfg: cfg, loss: loss, st: newStore(work, tensor.Float32),
		rng: rand.New(rand.NewSource(cfg.Seed ^ 0x5eed)), augRng: rand.New(rand.NewSource(cfg.Seed ^ 0xa06)), train: map[int]*graph{}, eval: map[int]*graph{},
		opt: newOptimizer(&cfg, cfg.LearningRate)}
	t.rowSize = 1
	for _, d := range work.Inputs[0].Shape[1:] {
		t.rowSize *= d
	}
	if err := t.checkSet(train, "training"); err != nil {
		return nil, nil, err
	}
	if err := checkMemory(work, cfg.BatchSize); err != nil {
		return nil, nil, err
	}
	// Evaluation runs at the largest batch up to evalBatch that fits the
	// memory ceiling (a big CNN does not fit at 500).
	t.evalBatch = evalBatch
	for t.evalBatch > cfg.BatchSize && checkMemory(work, t.evalBatch) != nil {
		t.evalBatch = max(t.evalBatch/2, cfg.BatchSize)
	}
	if valid != nil {
		if err := t.checkSet(valid, "validation"); err != nil {
			return nil, nil, err
		}
	}
	var frozen []int
	for i, l := range work.Layers {
		if !l.Trainable {
			frozen = append(frozen, i)
		}
	}
	shuffle := rand.New(rand.NewSource(cfg.Seed))
	hist := &History{LossFunction: loss.name}
	good := work.Clone()
	var trainSamples int
	var trainTime time.Duration
	steps := (train.Len() + cfg.BatchSize - 1) / cfg.BatchSize
	for ep := 0; ep < cfg.Epochs; ep++ {
		if cfg.UnfreezeAfter > 0 && ep == cfg.UnfreezeAfter && len(frozen) > 0 {
			n := 0
			for _, i := range frozen {
				if i >= cfg.UnfreezeFrom {
					work.Layers[i].SetTrainable(true)
					n++
				}
			}
			lr := cfg.LearningRate
			if cfg.LearningRateAfter > 0 {
				lr = cfg.LearningRateAfter
			}
			t.train, t.opt = map[int]*graph{}, newOptimizer(&t.cfg, lr)
			rep.Message(fmt.Sprintf("unfroze %d layers after epoch %d; learning rate %g", n, ep, lr))
		}
		rep.EpochStart(ep+1, cfg.Epochs, steps)
		start := time.Now()
		order := train.Order(shuffle)
		if cfg.NoShuffle {
			order = train.Order(nil)
		}
		var sumLoss, correct float64
		seen := 0
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				return good, hist, fmt.Errorf("finetune: interrupted in epoch %d; keeping the model of epoch %d: %w", ep+1, ep, err)
			}
			idx := order[s*cfg.BatchSize : min((s+1)*cfg.BatchSize, len(order))]
			g, err := t.graph(t.train, len(idx), true)
			if err != nil {
				return nil, nil, err
			}
			l, c, err := t.step(g, train, idx)
			if err != nil {
				if errors.Is(err, ErrNegativeLoss) {
					return nil, hist, fmt.Errorf("finetune: epoch %d step %d: %w", ep+1, s+1, err)
				}
				if errors.Is(err, ErrExploding) {
					return good, hist, fmt.Errorf("finetune: epoch %d step %d: %w; try gradient clipping (--clip-value 1 or --clip-norm 1) or a lower --learning-rate; keeping the model of epoch %d", ep+1, s+1, err, ep)
				}
				return good, hist, err
			}
			sumLoss += l * float64(len(idx))
			correct += c
			seen += len(idx)
			rep.Step(s+1, steps, sumLoss/float64(seen), correct/float64(seen))
		}
		trainDur := time.Since(start)
		trainTime += trainDur
		trainSamples += seen
		e := Epoch{Epoch: ep + 1, Loss: sumLoss / float64(seen), Accuracy: correct / float64(seen),
			SamplesPerSecond: float64(seen) / trainDur.Seconds()}
		if valid != nil {
			vm, err := t.evaluate(valid)
			if err != nil {
				return good, hist, err
			}
			e.ValLoss, e.ValAccuracy = &vm.Loss, &vm.Accuracy
		}
		e.Seconds = time.Since(start).Seconds()
		hist.Epochs = append(hist.Epochs, e)
		hist.SamplesPerSecond = float64(trainSamples) / trainTime.Seconds()
		rep.EpochEnd(e, cfg.Epochs)
		good = work.Clone()
		if cfg.Checkpoint != nil {
			if err := cfg.Checkpoint(ep+1, good.Clone()); err != nil {
				return good, hist, fmt.Errorf("finetune: checkpoint after epoch %d: %w", ep+1, err)
			}
		}
	}
	return good, hist, nil
}

// evalBatch is the batch size of evaluation graphs.
const evalBatch = 500

func (t *trainer) evaluate(s *dataset.Set) (Metrics, error) {
	var sum, correct float64
	order := s.Order(nil)
	eb := t.evalBatch
	if eb == 0 {
		eb = evalBatch
	}
	for lo := 0; lo < len(order); lo += eb {
		idx := order[lo:min(lo+eb, len(order))]
		g, err := t.graph(t.eval, len(idx), false)
		if err != nil {
			return Metrics{}, err
		}
		if err := s.Batch(idx, g.xbuf.([]float32), g.ybuf.([]float32)); err != nil {
			return Metrics{}, err
		}
		err = g.vm.RunAll()
		g.vm.Reset()
		if err != nil {
			return Metrics{}, fmt.Errorf("finetune: evaluating on %s: %w", s.Name, err)
		}
		sum += g.loss.loss * float64(len(idx))
		correct += g.loss.correct
	}
	n := float64(s.Len())
	return Metrics{Loss: sum / n, Accuracy: correct / n, Samples: s.Len()}, nil
}
