package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// Ablation grid: chapter 11's comparisons (section 11.1).
var (
	AblationInits       = []string{"glorot_uniform", "he_normal", "lecun_normal"}
	AblationActivations = []string{"relu", "leaky_relu", "elu", "selu", "prelu", "rrelu"}
)

// AblationOptions size the ablation (zero values: the defaults that take
// about ten minutes on two cores).
type AblationOptions struct {
	Seeds  int // runs per configuration (5)
	Train  int // training images of Fashion-MNIST's 10 classes (5,000)
	Valid  int // validation images (2,000)
	Epochs int // (2)
	Depth  int // hidden layers of Width units (5 of 100)
	Width  int
	// Workers is how many configurations train at once (the number of
	// cores, runtime.GOMAXPROCS).
	Workers int
	Data    dataset.Options
	// Progress, when set, receives one line per configuration.
	Progress io.Writer
}

func (o *AblationOptions) defaults() {
	if o.Seeds == 0 {
		o.Seeds = 5
	}
	if o.Train == 0 {
		o.Train = 5000
	}
	if o.Valid == 0 {
		o.Valid = 2000
	}
	if o.Epochs == 0 {
		o.Epochs = 2
	}
	if o.Depth == 0 {
		o.Depth = 5
	}
	if o.Width == 0 {
		o.Width = 100
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// AblationRow is one configuration's validation accuracy over the seeds.
type AblationRow struct {
	Init       string    `json:"init"`
	Activation string    `json:"activation"`
	BatchNorm  bool      `json:"batch_norm"`
	Clipping   bool      `json:"clipping"`
	Accuracy   Stat      `json:"val_accuracy"`
	Runs       []float64 `json:"runs"`
	Failed     int       `json:"failed"` // runs that diverged (NaN): accuracy counted as 0
}

// Ablation trains an MLP (Flatten, Depth x Dense Width, softmax over the
// 10 Fashion-MNIST classes; SGD, learning rate 0.01, batch 32) for every
// initializer x activation x BatchNormalization on/off x gradient clipping
// (clip-norm 1) on/off, Seeds seeds each, and returns the validation
// accuracy of each configuration, in grid order.
//
// Configurations train side by side, o.Workers at a time (default: one per
// core), each with single-threaded products: the engine's thread count
// (engine.SetThreads) is 1 while Ablation runs, as batch-32 products gain
// less from being split than runs do from running at once. Every run is
// seeded, so the rows do not depend on the order runs finish in.
func Ablation(ctx context.Context, o AblationOptions) ([]AblationRow, error) {
	o.defaults()
	f, err := dataset.LoadFashion(o.Data)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	train, err := f.Task("all", "train")
	if err != nil {
		return nil, err
	}
	valid, err := f.Task("all", "valid")
	if err != nil {
		return nil, err
	}
	train, valid = train.Head(o.Train), valid.Head(o.Valid)
	train.Rescale = dataset.Rescaling{Scale: 1.0 / 255}
	valid.Rescale = train.Rescale
	var grid []AblationRow
	for _, init := range AblationInits {
		for _, act := range AblationActivations {
			for _, bn := range []bool{false, true} {
				for _, clip := range []bool{false, true} {
					grid = append(grid, AblationRow{Init: init, Activation: act, BatchNorm: bn, Clipping: clip})
				}
			}
		}
	}
	prev := engine.Threads()
	engine.SetThreads(1)
	defer engine.SetThreads(prev)
	var (
		mu      sync.Mutex
		next    int // the next configuration to start
		done    = make([]bool, len(grid))
		secs    = make([]float64, len(grid))
		printed int // configurations finished and reported, in grid order
		failure error
		wg      sync.WaitGroup
	)
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next == len(grid) || failure != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				start := time.Now()
				row, err := ablationRow(ctx, o, train, valid, grid[i])
				mu.Lock()
				if err != nil {
					failure = cmp.Or(failure, err)
				} else {
					grid[i], done[i], secs[i] = row, true, time.Since(start).Seconds()
				}
				for ; printed < len(grid) && done[printed]; printed++ {
					if r := grid[printed]; o.Progress != nil {
						fmt.Fprintf(o.Progress, "ablation: %-14s %-10s bn=%-5v clip=%-5v val_accuracy %.4f ± %.4f (%.1fs)\n", r.Init, r.Activation, r.BatchNorm, r.Clipping, r.Accuracy.Mean, r.Accuracy.Std, secs[printed])
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return grid[:printed], err
	}
	if failure != nil {
		return nil, failure
	}
	return grid, nil
}

// ablationRow trains configuration row (Init, Activation, BatchNorm,
// Clipping set) with each seed and returns it with its accuracies.
func ablationRow(ctx context.Context, o AblationOptions, train, valid *dataset.Set, row AblationRow) (AblationRow, error) {
	for s := 0; s < o.Seeds; s++ {
		if err := ctx.Err(); err != nil {
			return row, err
		}
		m, err := ablationModel(rand.New(rand.NewSource(int64(s+1))), o, row.Init, row.Activation, row.BatchNorm)
		if err != nil {
			return row, err
		}
		cfg := finetune.Config{Epochs: o.Epochs, LearningRate: 0.01, Seed: int64(s + 1), WholeGraph: true}
		if row.Clipping {
			cfg.ClipNorm = 1
		}
		acc := 0.0
		_, h, err := finetune.Train(ctx, m, train, valid, cfg, nil)
		switch {
		case err == nil:
			acc = *h.Epochs[len(h.Epochs)-1].ValAccuracy
		case ctx.Err() != nil:
			return row, ctx.Err()
		default:
			row.Failed++ // diverged: counts as a failed run
		}
		row.Runs = append(row.Runs, acc)
	}
	row.Accuracy = stat(row.Runs)
	return row, nil
}

// ablationModel builds one configuration: Dense (kernel from init) then,
// with bn, BatchNormalization, then the activation (a layer for PReLU and
// RReLU, the Dense's own otherwise; with BN every activation is a layer
// after it, as Géron places BN before the activation).
func ablationModel(rng *rand.Rand, o AblationOptions, init, act string, bn bool) (*model.Model, error) {
	m := &model.Model{Name: "ablation", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 28, 28}}}, Meta: map[string]string{}}
	fl, err := layers.Flatten(layers.Common{Name: "flatten", Inputs: []string{"x"}, Trainable: true})
	if err != nil {
		return nil, err
	}
	m.Layers = append(m.Layers, fl)
	prev, inF := fl.Outputs[0], 28*28
	add := func(l *model.Layer, err error) error {
		if err != nil {
			return err
		}
		m.Layers = append(m.Layers, l)
		prev = l.Outputs[0]
		return nil
	}
	for i := 0; i <= o.Depth; i++ {
		units, a, kinit := o.Width, act, &model.Initializer{Name: init}
		last := i == o.Depth
		if last {
			units, a, kinit = 10, "softmax", &model.Initializer{Name: "glorot_uniform"}
		}
		layerAct := a
		if !last && (bn || a == "prelu" || a == "rrelu") {
			layerAct = "" // the activation follows as its own layer
		}
		k, err := initializers.Draw(kinit, []int{inF, units}, rng)
		if err != nil {
			return nil, err
		}
		if err := add(layers.Dense(layers.DenseSpec{Name: fmt.Sprintf("dense_%d", i), Input: prev, InFeatures: inF, Units: units,
			Activation: layerAct, UseBias: true, Trainable: true, Kernel: k, KernelInitializer: kinit})); err != nil {
			return nil, err
		}
		inF = units
		if last {
			break
		}
		if bn {
			g, b, mm, mv := make([]float32, units), make([]float32, units), make([]float32, units), make([]float32, units)
			for j := range g {
				g[j], mv[j] = 1, 1
			}
			if err := add(layers.BatchNormalization(layers.BatchNormSpec{Common: layers.Common{Name: fmt.Sprintf("bn_%d", i), Inputs: []string{prev}, Trainable: true},
				Rank: 2, Channels: units, Epsilon: 1e-3, Momentum: 0.99, Center: true, Scale: true, Gamma: g, Beta: b, MovingMean: mm, MovingVariance: mv})); err != nil {
				return nil, err
			}
		}
		name := fmt.Sprintf("act_%d", i)
		switch {
		case a == "prelu":
			err = add(layers.PReLU(layers.PReLUSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true}, AlphaShape: []int{units}}))
		case a == "rrelu":
			err = add(layers.RReLU(layers.RReLUSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true}, Lower: 1.0 / 8, Upper: 1.0 / 3}))
		case bn:
			err = add(layers.Activation(layers.ActivationSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true}, Activation: a}))
		}
		if err != nil {
			return nil, err
		}
	}
	m.Outputs = []string{prev}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("demo: ablation model %s/%s/bn=%v: %w", init, act, bn, err)
	}
	return m, nil
}

// WriteAblationTable writes rows as a Markdown table, best first.
func WriteAblationTable(w io.Writer, rows []AblationRow) {
	sorted := append([]AblationRow(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Accuracy.Mean > sorted[j].Accuracy.Mean })
	fmt.Fprintln(w, "| init | activation | BN | clipping | val_accuracy (mean ± std) | diverged |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | ---: | ---: |")
	for _, r := range sorted {
		fmt.Fprintf(w, "| %s | %s | %v | %v | %.4f ± %.4f | %d |\n", r.Init, r.Activation, r.BatchNorm, r.Clipping, r.Accuracy.Mean, r.Accuracy.Std, r.Failed)
	}
}
