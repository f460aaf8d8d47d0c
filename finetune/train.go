package finetune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"time"

	"gorgonia.org/tensor"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/internal/blas32"
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
	// Optimizer is one of Optimizers: "sgd" (the default), "adam",
	// "adagrad", "rmsprop", "nadam" or "adamw", with Keras 3's update rules
	// and defaults (optimizer.go, optimizer_keras.go).
	Optimizer string
	// Adam's, Nadam's and AdamW's constants (0: Keras's 0.9, 0.999, 1e-7;
	// Epsilon is every optimizer's).
	Beta1, Beta2, Epsilon float64
	// Rho and Centered are RMSprop's (0: Keras's 0.9); Momentum is SGD's
	// and RMSprop's.
	Rho      float64 `json:",omitempty"`
	Centered bool    `json:",omitempty"`
	// InitialAccumulator is AdaGrad's (0: Keras's 0.1).
	InitialAccumulator float64 `json:",omitempty"`
	// WeightDecay is the decoupled weight decay w -= w*wd*lr applied before
	// each update (Keras's weight_decay; AdamW's default 0.004).
	WeightDecay float64 `json:",omitempty"`
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
	// that many epochs (only those at index >= UnfreezeFrom in m.Layers; a
	// layer reference resolves to one with surgery.Resolve), with a fresh
	// optimizer (as recompiling in Keras) and LearningRateAfter if set.
	UnfreezeAfter     int
	UnfreezeFrom      int
	LearningRateAfter float64
	// Augment, when set, augments every training batch (never evaluation
	// batches) with Keras's random image layers, drawn from Seed. Feature
	// caching of a frozen base must be off with it: the base sees new
	// images every epoch.
	Augment *dataset.Augmentation `json:"augment,omitempty"`
	// BNMode says how BatchNormalization layers normalise in training:
	// "inference" (moving statistics; gamma and beta still train when
	// their layer does), "batch" (batch statistics and moving-average
	// updates in every trainable BN layer) or "auto" (Keras's rule: batch
	// statistics in a trainable BN layer unless a nested model called with
	// training=False holds it). "" is "inference" when some layer is frozen
	// at the start (fine-tuning: a BN layer keeps its statistics even once
	// unfrozen, as Keras's transfer-learning guide does), "auto" otherwise.
	BNMode string
	// FeatureCache "off" recomputes the frozen layers at every step;
	// "" or "auto" computes their output once per example and trains on
	// the cached features when nothing random is in them and Augment is
	// nil.
	FeatureCache string
	// WholeGraph lowers the whole model to gorgonia, frozen layers
	// included, instead of running the frozen prefix in the engine: the
	// way training worked before split execution, bit for bit.
	WholeGraph bool
	// Schedule varies the learning rate per step (schedule.go).
	Schedule *Schedule `json:"schedule,omitempty"`
	// EarlyStopping > 0 stops training after that many epochs without an
	// improvement of Monitor by more than MinDelta (Keras's EarlyStopping
	// patience); RestoreBest returns the best epoch's model.
	EarlyStopping int     `json:",omitempty"`
	Monitor       string  `json:",omitempty"` // "val_loss" (default), "loss", "val_accuracy", "accuracy"
	MinDelta      float64 `json:",omitempty"`
	RestoreBest   bool    `json:",omitempty"`
	// PlateauPatience > 0 multiplies the learning rate by PlateauFactor
	// (default 0.1) after that many epochs without improvement of Monitor,
	// not below MinLR (Keras's ReduceLROnPlateau).
	PlateauPatience int     `json:",omitempty"`
	PlateauFactor   float64 `json:",omitempty"`
	MinLR           float64 `json:",omitempty"`
	// GradStats records per epoch and trainable kernel the gradient norm
	// and update/weight ratio, the dead ReLU and saturated sigmoid/tanh
	// fractions, and warns of vanishing or exploding gradients.
	GradStats bool `json:",omitempty"`
	// Metrics are Keras metrics beyond accuracy: "precision", "recall",
	// "auc" (binary heads), "top_K" (multi-class heads), per epoch.
	Metrics []string `json:",omitempty"`
	// ClassWeight is Keras's class_weight: "0:1,1:5" or "balanced".
	ClassWeight string `json:",omitempty"`
	// SaveBestOnly calls Checkpoint only after epochs that improve Monitor
	// (Keras's ModelCheckpoint(save_best_only=True)).
	SaveBestOnly bool `json:",omitempty"`
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
	if d, ok := optimizerDefaults[c.Optimizer]; ok {
		if c.LearningRate == 0 {
			c.LearningRate = d.lr // keras.optimizers.X's default
		}
		if c.WeightDecay == 0 {
			c.WeightDecay = d.weightDecay
		}
	}
	if c.Rho == 0 {
		c.Rho = 0.9
	}
	if c.InitialAccumulator == 0 {
		c.InitialAccumulator = 0.1
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
	// LearningRate is the rate of the epoch's last step.
	LearningRate float64 `json:"learning_rate,omitempty"`
	// Metrics holds Config.Metrics on the training set and, as "val_"...,
	// on the validation set (Keras's names: precision, val_auc, top_5).
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// History is a training run's record.
type History struct {
	Epochs []Epoch `json:"epochs"`
	// SamplesPerSecond is training samples per second over the whole run,
	// excluding evaluation.
	SamplesPerSecond float64 `json:"samples_per_second"`
	LossFunction     string  `json:"loss_function"`
	// Optimizer and Schedule name what trained (as the command gave them).
	Optimizer string `json:"optimizer,omitempty"`
	Schedule  string `json:"schedule,omitempty"`
	// StoppedEpoch is the epoch early stopping ended the run after (0:
	// ran every epoch); BestEpoch the monitored figure's best epoch when
	// early stopping or --save-best-only watched it.
	StoppedEpoch int `json:"stopped_epoch,omitempty"`
	BestEpoch    int `json:"best_epoch,omitempty"`
	// GradStats is --grad-stats' record, one entry per epoch.
	GradStats []EpochGradStats `json:"grad_stats,omitempty"`
}

// Metrics are a model's loss and accuracy on a data set.
type Metrics struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	Samples  int     `json:"samples"`
	// Metrics holds EvalOptions.Metrics by Keras's names (precision, auc,
	// top_5).
	Metrics map[string]float64 `json:"metrics,omitempty"`
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

// headOf returns the output's producing node and the output's units (the
// last dim of its inferred shape).
func headOf(m *model.Model) (*model.Node, int, error) {
	if len(m.Outputs) != 1 {
		return nil, 0, fmt.Errorf("finetune: model %q has %d outputs; training needs one", m.Name, len(m.Outputs))
	}
	vals, err := m.InferShapes()
	if err != nil {
		return nil, 0, fmt.Errorf("finetune: model %q: %w", m.Name, err)
	}
	units := 1
	if v, ok := vals[m.Outputs[0]]; ok && len(v.Shape) > 1 {
		units = max(v.Shape[len(v.Shape)-1], 1)
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
	if err := cfg.checkModes(); err != nil {
		return nil, nil, err
	}
	if err := cfg.checkCallbacks(); err != nil {
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
	if loss.weights, err = classWeights(cfg.ClassWeight, train.Y, train.LabelWidth(), train.Classes); err != nil {
		return nil, nil, err
	}
	_, units, err := headOf(work)
	if err != nil {
		return nil, nil, err
	}
	trainMet, err := parseMetrics(cfg.Metrics, loss, units)
	if err != nil {
		return nil, nil, err
	}
	valMet, _ := parseMetrics(cfg.Metrics, loss, units)
	if (cfg.EarlyStopping > 0 || cfg.PlateauPatience > 0 || cfg.SaveBestOnly) && valid == nil && strings.HasPrefix(cfg.Monitor, "val_") {
		return nil, nil, mismatchf("%s is not measured without validation data: give --validation or --validation-split, or --monitor loss", cfg.Monitor)
	}
	t := &trainer{m: work, cfg: cfg, loss: loss, st: newStore(work, tensor.Float32),
		rng: rand.New(rand.NewSource(cfg.Seed ^ 0x5eed)), augRng: rand.New(rand.NewSource(cfg.Seed ^ 0xa06)),
		opt: newOptimizer(&cfg, cfg.LearningRate), trainMet: trainMet, valMet: valMet}
	if t.pen, err = penalties(work); err != nil {
		return nil, nil, err
	}
	if cfg.GradStats {
		t.gs = newGradRecorder(work)
	}
	t.rowSize = 1
	for _, d := range work.Inputs[0].Shape[1:] {
		t.rowSize *= d
	}
	if err := t.checkSet(train, "training"); err != nil {
		return nil, nil, err
	}
	if valid != nil {
		if err := t.checkSet(valid, "validation"); err != nil {
			return nil, nil, err
		}
	}
	var frozen []int
	for i, l := range work.Layers {
		if !work.EffectiveTrainable(l) {
			frozen = append(frozen, i)
		}
	}
	if t.cfg.BNMode == "" {
		t.cfg.BNMode = "auto"
		if len(frozen) > 0 {
			t.cfg.BNMode = "inference"
		}
	}
	if err := t.plan(train, valid, rep); err != nil {
		return nil, nil, err
	}
	defer t.feed.close()
	shuffle := rand.New(rand.NewSource(cfg.Seed))
	hist := &History{LossFunction: loss.name, Optimizer: cfg.Optimizer, Schedule: cfg.Schedule.String()}
	good := work.Clone()
	var trainSamples int
	var trainTime time.Duration
	steps := (train.Len() + cfg.BatchSize - 1) / cfg.BatchSize
	// Callbacks: the schedule counts optimizer steps over the whole run.
	sched := cfg.Schedule
	if sched != nil {
		c := *sched
		c.iterations = steps * cfg.Epochs
		sched = &c
	}
	baseLR, step := cfg.LearningRate, 0
	var stopper *earlyStopping
	if cfg.EarlyStopping > 0 {
		stopper = &earlyStopping{monitor: cfg.Monitor, patience: cfg.EarlyStopping, minDelta: cfg.MinDelta, best: math.NaN()}
	}
	var plat *plateau
	if cfg.PlateauPatience > 0 {
		plat = &plateau{monitor: cfg.Monitor, patience: cfg.PlateauPatience, factor: cfg.PlateauFactor, minLR: cfg.MinLR, best: math.NaN()}
	}
	bestSeen := math.NaN() // --save-best-only
	var best *model.Model  // restore-best
	for ep := 0; ep < cfg.Epochs; ep++ {
		if cfg.UnfreezeAfter > 0 && ep == cfg.UnfreezeAfter && len(frozen) > 0 {
			n := unfreeze(work, frozen, cfg.UnfreezeFrom)
			lr := cfg.LearningRate
			if cfg.LearningRateAfter > 0 {
				lr = cfg.LearningRateAfter
			}
			t.opt = newOptimizer(&t.cfg, lr)
			if err := t.plan(train, valid, rep); err != nil {
				return good, hist, err
			}
			baseLR = lr
			rep.Message(fmt.Sprintf("unfroze %d layers after epoch %d; learning rate %g", n, ep, lr))
		}
		rep.EpochStart(ep+1, cfg.Epochs, steps)
		start := time.Now()
		order := train.Order(shuffle)
		if cfg.NoShuffle {
			order = train.Order(nil)
		}
		var sumLoss, correct, weight float64
		seen := 0
		src := t.feed.batches(train, order, cfg.BatchSize, t.cfg.Augment, t.augRng)
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				src.stop()
				return good, hist, fmt.Errorf("finetune: interrupted in epoch %d; keeping the model of epoch %d: %w", ep+1, ep, err)
			}
			idx := src.idx(s)
			g, err := t.graph(t.train, len(idx), true)
			if err != nil {
				src.stop()
				return nil, nil, err
			}
			if sched != nil {
				t.opt.lr = sched.At(step, baseLR)
			}
			step++
			l, c, w, err := t.step(g, src)
			if err != nil {
				src.stop()
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
			weight += w
			seen += len(idx)
			rep.Step(s+1, steps, sumLoss/float64(seen), accuracy(correct, weight))
		}
		src.stop()
		trainDur := time.Since(start)
		trainTime += trainDur
		trainSamples += seen
		e := Epoch{Epoch: ep + 1, Loss: sumLoss / float64(seen), Accuracy: accuracy(correct, weight),
			SamplesPerSecond: float64(seen) / trainDur.Seconds(), LearningRate: t.opt.lr}
		if valid != nil {
			vm, err := t.evaluate(valid)
			if err != nil {
				return good, hist, err
			}
			e.ValLoss, e.ValAccuracy = &vm.Loss, &vm.Accuracy
		}
		if t.trainMet != nil {
			e.Metrics = map[string]float64{}
			t.trainMet.results("", e.Metrics)
			t.valMet.results("val_", e.Metrics)
			t.trainMet.reset()
			t.valMet.reset()
		}
		if t.gs != nil {
			gs := t.gs.epoch(ep+1, work, train)
			hist.GradStats = append(hist.GradStats, gs)
			for _, w := range gs.Warnings {
				rep.Message("grad-stats: epoch " + fmt.Sprint(ep+1) + ": " + w)
			}
		}
		e.Seconds = time.Since(start).Seconds()
		hist.Epochs = append(hist.Epochs, e)
		hist.SamplesPerSecond = float64(trainSamples) / trainTime.Seconds()
		rep.EpochEnd(e, cfg.Epochs)
		good = work.Clone()
		watched := stopper != nil || plat != nil || cfg.SaveBestOnly
		mv, ok := monitorValue(e, cfg.Monitor)
		if watched && !ok {
			return good, hist, mismatchf("%s is not measured (no validation data): give --validation or --validation-split, or --monitor loss", cfg.Monitor)
		}
		save := cfg.Checkpoint != nil
		if cfg.SaveBestOnly {
			save = save && improves(cfg.Monitor, mv, bestSeen, 0)
			if improves(cfg.Monitor, mv, bestSeen, 0) {
				bestSeen, hist.BestEpoch = mv, ep+1
			}
		}
		if save {
			if err := cfg.Checkpoint(ep+1, good.Clone()); err != nil {
				return good, hist, fmt.Errorf("finetune: checkpoint after epoch %d: %w", ep+1, err)
			}
		}
		if plat != nil {
			if lr := plat.update(mv, t.opt.lr); lr != t.opt.lr {
				rep.Message(fmt.Sprintf("ReduceLROnPlateau: %s did not improve for %d epochs; learning rate %g -> %g", cfg.Monitor, cfg.PlateauPatience, t.opt.lr, lr))
				t.opt.lr = lr
			}
		}
		if stopper != nil {
			isBest, stop := stopper.update(ep, mv)
			if isBest && cfg.RestoreBest {
				best = good
			}
			hist.BestEpoch = stopper.bestEp + 1
			if stop {
				hist.StoppedEpoch = ep + 1
				rep.Message(fmt.Sprintf("early stopping after epoch %d: %s has not improved since epoch %d", ep+1, cfg.Monitor, stopper.bestEp+1))
				break
			}
		}
	}
	if best != nil {
		return best, hist, nil
	}
	return good, hist, nil
}

// checkModes validates BNMode and FeatureCache.
func (c *Config) checkModes() error {
	switch c.BNMode {
	case "", "auto", "inference", "batch":
	default:
		return fmt.Errorf("finetune: BatchNormalization mode %q (want inference, batch or auto)", c.BNMode)
	}
	switch c.FeatureCache {
	case "", "auto", "off":
	default:
		return fmt.Errorf("finetune: feature cache %q (want auto or off)", c.FeatureCache)
	}
	return nil
}

// unfreeze makes the layers of m at indices frozen (frozen at the start)
// from index from on trainable, with the nested models that hold them, and
// keeps the others frozen; it returns how many it unfroze.
func unfreeze(m *model.Model, frozen []int, from int) int {
	n := 0
	for _, i := range frozen {
		l := m.Layers[i]
		if i < from {
			l.Trainable = false
			continue
		}
		l.Trainable = true
		for s := l.Scope; s != ""; s = model.ParentScope(s) {
			if sm := m.Submodel(s); sm != nil {
				sm.Trainable = true
			}
		}
		n++
	}
	m.SyncTrainable()
	return n
}
