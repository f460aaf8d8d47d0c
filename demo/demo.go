package demo

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"time"

	"github.com/xferml/xfer/dataset"
	kerasexp "github.com/xferml/xfer/exporters/keras"
	onnxexp "github.com/xferml/xfer/exporters/onnx"
	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

// The notebook's hyper-parameters.
const (
	learningRate  = 1e-3 // keras.optimizers.SGD(learning_rate=1e-3)
	batchSize     = 32   // Keras fit's default
	epochsA       = 20
	epochsB       = 20
	epochsFrozen  = 4  // B on A, reused layers frozen
	epochsThawed  = 16 // B on A, everything trainable
	defaultSeedA  = 42 // the notebook's tf.random.set_seed(42), np.random.seed(42)
	hiddenDefault = "glorot_uniform"
)

// hiddenUnits are model A's hidden layer sizes.
var hiddenUnits = []int{300, 100, 50, 50, 50}

// Options configure Run.
type Options struct {
	// Out is the directory receiving model_A.h5, model_B_on_A.h5 and
	// model_B_on_A.onnx; "" writes nothing. (The command adds curves.png
	// from the histories in Result.)
	Out string
	// Seed seeds model A (and, without Seeds, B and B on A); 0 means 42.
	Seed int64
	// Seeds, when set, repeats B and B on A once per seed (A is trained once).
	Seeds []int64
	// EpochsScale multiplies every epoch count (rounded up, at least 1);
	// 0 means 1.
	EpochsScale float64
	// HiddenInit is the hidden layers' kernel initializer ("" means
	// glorot_uniform, Keras's default; SELU calls for lecun_normal).
	HiddenInit string
	// JSON is for the caller (the command prints Result as JSON).
	JSON bool
	// Data says where Fashion-MNIST is.
	Data dataset.Options
	// Progress receives each training run's progress, a Message with its
	// title before it and one per finished seed with Seeds (nil: none).
	Progress finetune.Reporter
	// TrainSubset > 0 limits model A's training set (for tests).
	TrainSubset int
}

// ModelResult is one model's test figures.
type ModelResult struct {
	TestAccuracy float64           `json:"test_accuracy"`
	TestLoss     float64           `json:"test_loss"`
	ErrorRate    float64           `json:"error_rate"`
	History      *finetune.History `json:"history,omitempty"`
}

// SeedRun is B and B on A for one seed.
type SeedRun struct {
	Seed           int64       `json:"seed"`
	ModelB         ModelResult `json:"model_B"`
	ModelBOnA      ModelResult `json:"model_B_on_A"`
	ErrorRateRatio float64     `json:"error_rate_ratio"`
	TransferWins   bool        `json:"transfer_wins"`
}

// Stat is a mean and a (sample) standard deviation.
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Summary sums up runs over seeds.
type Summary struct {
	ModelB    Stat `json:"model_B"`
	ModelBOnA Stat `json:"model_B_on_A"`
	Wins      int  `json:"wins"`
	Seeds     int  `json:"seeds"`
}

// Result is the experiment's outcome. Without Seeds, model_B and
// model_B_on_A are the single run's; with Seeds, they are the first seed's
// and Runs and Summary hold all of them.
type Result struct {
	ModelA         ModelResult `json:"model_A"`
	ModelB         ModelResult `json:"model_B"`
	ModelBOnA      ModelResult `json:"model_B_on_A"`
	ErrorRateRatio float64     `json:"error_rate_ratio"`
	Seconds        float64     `json:"seconds"`
	Runs           []SeedRun   `json:"runs,omitempty"`
	Summary        *Summary    `json:"summary,omitempty"`
	Files          []string    `json:"files,omitempty"`
}

func scaled(epochs int, f float64) int {
	if f <= 0 {
		f = 1
	}
	return max(1, int(math.Ceil(float64(epochs)*f)))
}

// ModelA builds the book's model A with Keras-default initial weights drawn
// from rng: Flatten on [28, 28], Dense 300-100-50-50-50 SELU (kernels from
// hiddenInit), Dense units with activation head.
func ModelA(rng *rand.Rand, hiddenInit string, units int, head string) (*model.Model, error) {
	if hiddenInit == "" {
		hiddenInit = hiddenDefault
	}
	m := &model.Model{Name: "model_A", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "flatten_input", DType: model.Float32, Shape: []int{-1, 28, 28}}},
		Meta:   map[string]string{"producer": "xfer demo"}}
	fl, err := layers.Flatten(layers.Common{Name: "flatten", Inputs: []string{"flatten_input"}, Trainable: true})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	m.Layers = append(m.Layers, fl)
	prev, inF := fl.Outputs[0], 28*28
	sizes := append(append([]int(nil), hiddenUnits...), units)
	for i, u := range sizes {
		name := "dense"
		if i > 0 {
			name = fmt.Sprintf("dense_%d", i)
		}
		act, init := "selu", hiddenInit
		if i == len(sizes)-1 {
			act, init = head, hiddenDefault
		}
		kinit := &model.Initializer{Name: init}
		k, err := initializers.Draw(kinit, []int{inF, u}, rng)
		if err != nil {
			return nil, fmt.Errorf("demo: layer %q: %w", name, err)
		}
		l, err := layers.Dense(layers.DenseSpec{Name: name, Input: prev, InFeatures: inF, Units: u, Activation: act,
			UseBias: true, Trainable: true, Kernel: k, KernelInitializer: kinit})
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		m.Layers = append(m.Layers, l)
		prev, inF = l.Outputs[0], u
	}
	m.Outputs = []string{prev}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("demo: model A: %w", err)
	}
	return m, nil
}

// data holds the splits the experiment uses.
type data struct {
	trainA, validA, testA *dataset.Set
	trainB, validB, testB *dataset.Set
}

func loadData(opts Options) (*data, error) {
	f, err := dataset.LoadFashion(opts.Data)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d := &data{}
	for _, s := range []struct {
		dst         **dataset.Set
		task, split string
	}{{&d.trainA, "A", "train"}, {&d.validA, "A", "valid"}, {&d.testA, "A", "test"},
		{&d.trainB, "B", "train"}, {&d.validB, "B", "valid"}, {&d.testB, "B", "test"}} {
		if *s.dst, err = f.Task(s.task, s.split); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if opts.TrainSubset > 0 {
		d.trainA = d.trainA.Head(opts.TrainSubset)
	}
	return d, nil
}

// reporter says title on Progress and returns it for the run that follows.
func (o Options) reporter(title string) finetune.Reporter {
	if o.Progress == nil {
		return nil
	}
	o.Progress.Message(title)
	return o.Progress
}

func result(m *model.Model, test *dataset.Set, h *finetune.History) (ModelResult, error) {
	met, err := finetune.Evaluate(m, test, "")
	if err != nil {
		return ModelResult{}, fmt.Errorf("demo: evaluating on %s: %w", test.Name, err)
	}
	return ModelResult{TestAccuracy: met.Accuracy, TestLoss: met.Loss, ErrorRate: 1 - met.Accuracy, History: h}, nil
}

// Run runs the experiment.
func Run(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	seedA := opts.Seed
	if seedA == 0 {
		seedA = defaultSeedA
	}
	seeds := opts.Seeds
	if len(seeds) == 0 {
		seeds = []int64{seedA}
	}
	d, err := loadData(opts)
	if err != nil {
		return nil, err
	}
	sc := opts.EpochsScale
	cfg := func(epochs int, seed int64) finetune.Config {
		return finetune.Config{Epochs: epochs, BatchSize: batchSize, LearningRate: learningRate, Seed: seed}
	}

	// Model A.
	a0, err := ModelA(rand.New(rand.NewSource(seedA)), opts.HiddenInit, 8, "softmax")
	if err != nil {
		return nil, err
	}
	ea := scaled(epochsA, sc)
	modelA, histA, err := finetune.Train(ctx, a0, d.trainA, d.validA, cfg(ea, seedA),
		opts.reporter(fmt.Sprintf("model A: %d epochs on %s (%d images)", ea, d.trainA.Name, d.trainA.Len())))
	if err != nil {
		return nil, fmt.Errorf("demo: training model A: %w", err)
	}
	record(a0, modelA, "finetune", fmt.Sprintf("demo: model A, %d epochs on %s, seed %d", ea, d.trainA.Name, seedA))
	res := &Result{}
	if res.ModelA, err = result(modelA, d.testA, histA); err != nil {
		return nil, err
	}

	var first struct{ b, bOnA *model.Model }
	for i, seed := range seeds {
		run, b, bOnA, err := runB(ctx, opts, d, modelA, seed, cfg)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first.b, first.bOnA = b, bOnA
			res.ModelB, res.ModelBOnA, res.ErrorRateRatio = run.ModelB, run.ModelBOnA, run.ErrorRateRatio
		}
		if len(opts.Seeds) > 0 {
			run.ModelB.History, run.ModelBOnA.History = nil, nil
			res.Runs = append(res.Runs, run)
			if opts.Progress != nil {
				opts.Progress.Message(fmt.Sprintf("seed %d: B %.4f, B on A %.4f", seed, run.ModelB.TestAccuracy, run.ModelBOnA.TestAccuracy))
			}
		}
	}
	if len(opts.Seeds) > 0 {
		res.Summary = summarize(res.Runs)
	}
	if opts.Out != "" {
		if res.Files, err = writeOutputs(opts.Out, modelA, first.bOnA); err != nil {
			return nil, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// runB trains B from scratch and B on A for one seed.
func runB(ctx context.Context, opts Options, d *data, modelA *model.Model, seed int64, cfg func(int, int64) finetune.Config) (SeedRun, *model.Model, *model.Model, error) {
	run := SeedRun{Seed: seed}
	sc := opts.EpochsScale
	rng := rand.New(rand.NewSource(seed))
	b0, err := ModelA(rng, opts.HiddenInit, 1, "sigmoid")
	if err != nil {
		return run, nil, nil, err
	}
	b0.Name = "model_B"
	eb := scaled(epochsB, sc)
	b, histB, err := finetune.Train(ctx, b0, d.trainB, d.validB, cfg(eb, seed),
		opts.reporter(fmt.Sprintf("model B (seed %d): %d epochs from scratch on %s (%d images)", seed, eb, d.trainB.Name, d.trainB.Len())))
	if err != nil {
		return run, nil, nil, fmt.Errorf("demo: training model B (seed %d): %w", seed, err)
	}
	if run.ModelB, err = result(b, d.testB, histB); err != nil {
		return run, nil, nil, err
	}

	// B on A: A without its head, a new sigmoid unit, hidden layers frozen.
	x, err := surgery.DropHead(modelA, 1, "")
	if err != nil {
		return run, nil, nil, fmt.Errorf("demo: %w", err)
	}
	record(modelA, x, "drop-head", "demo: --layers 1")
	prev := x
	x, err = surgery.AddHead(x, surgery.HeadSpec{Units: 1, Activation: "sigmoid", Name: "dense_6"}, rng)
	if err != nil {
		return run, nil, nil, fmt.Errorf("demo: %w", err)
	}
	record(prev, x, "add-head", "demo: --units 1 --activation sigmoid")
	prev = x
	if x, err = surgery.Freeze(x, len(x.Layers)-2); err != nil {
		return run, nil, nil, fmt.Errorf("demo: %w", err)
	}
	x.Name = "model_B_on_A"
	record(prev, x, "freeze", fmt.Sprintf("demo: --upto %d", len(x.Layers)-2))
	ef, et := scaled(epochsFrozen, sc), scaled(epochsThawed, sc)
	c := cfg(ef+et, seed)
	c.UnfreezeAfter = ef
	// As Keras in the book, the frozen layers run in the training graph at
	// every step (no engine prefix, no feature cache): the figures stay
	// those recorded before split execution, bit for bit.
	c.WholeGraph = true
	bOnA, histBA, err := finetune.Train(ctx, x, d.trainB, d.validB, c,
		opts.reporter(fmt.Sprintf("model B on A (seed %d): %d epochs frozen, then %d unfrozen", seed, ef, et)))
	if err != nil {
		return run, nil, nil, fmt.Errorf("demo: training model B on A (seed %d): %w", seed, err)
	}
	record(x, bOnA, "finetune", fmt.Sprintf("demo: model B on A, %d epochs frozen then %d unfrozen on %s, seed %d", ef, et, d.trainB.Name, seed))
	if run.ModelBOnA, err = result(bOnA, d.testB, histBA); err != nil {
		return run, nil, nil, err
	}
	run.ErrorRateRatio = ratio(run.ModelB.ErrorRate, run.ModelBOnA.ErrorRate)
	run.TransferWins = run.ModelBOnA.TestAccuracy > run.ModelB.TestAccuracy
	return run, b, bOnA, nil
}

// record appends to after's history the step that made it from before, as
// the command's journal does, so the demo's files carry their provenance.
func record(before, after *model.Model, op, args string) {
	ev := model.Event{Op: op, Args: args, Time: time.Now().UTC().Format(time.RFC3339), After: native.Digest(after)}
	if before != nil {
		ev.Before = native.Digest(before)
	}
	after.History = append(after.History, ev)
}

// ratio is B's error rate over B on A's (the book's "dropped by a factor
// of"); +Inf is reported as 0 to keep JSON valid when B on A makes no error.
func ratio(b, ba float64) float64 {
	if ba == 0 {
		return 0
	}
	return b / ba
}

func summarize(runs []SeedRun) *Summary {
	s := &Summary{Seeds: len(runs)}
	var b, ba []float64
	for _, r := range runs {
		b = append(b, r.ModelB.TestAccuracy)
		ba = append(ba, r.ModelBOnA.TestAccuracy)
		if r.TransferWins {
			s.Wins++
		}
	}
	s.ModelB, s.ModelBOnA = stat(b), stat(ba)
	return s
}

func stat(v []float64) Stat {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	sd := 0.0
	if len(v) > 1 {
		sd = math.Sqrt(ss / float64(len(v)-1))
	}
	return Stat{Mean: m, Std: sd}
}

func writeOutputs(dir string, a, bOnA *model.Model) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	var files []string
	for _, w := range []struct {
		name string
		f    func(string) error
	}{
		{"model_A.h5", func(p string) error { return kerasexp.WriteH5(p, a) }},
		{"model_B_on_A.h5", func(p string) error { return kerasexp.WriteH5(p, bOnA) }},
		{"model_B_on_A.onnx", func(p string) error { return onnxexp.WriteFile(p, bOnA, onnxexp.Options{}) }},
	} {
		p := filepath.Join(dir, w.name)
		if err := w.f(p); err != nil {
			return files, fmt.Errorf("demo: writing %s: %w", p, err)
		}
		files = append(files, p)
	}
	return files, nil
}

// WriteTable prints the results as a table.
func (r *Result) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "%-22s %14s %11s\n", "model", "test accuracy", "error rate")
	row := func(name string, m ModelResult) {
		fmt.Fprintf(w, "%-22s %14.4f %10.2f%%\n", name, m.TestAccuracy, 100*m.ErrorRate)
	}
	row("model A (8 classes)", r.ModelA)
	if r.Summary == nil {
		row("model B (scratch)", r.ModelB)
		row("model B on A", r.ModelBOnA)
		fmt.Fprintf(w, "error rate ratio (B / B on A): %.2f\n", r.ErrorRateRatio)
	} else {
		fmt.Fprintf(w, "\n%-6s %10s %10s %8s\n", "seed", "B", "B on A", "ratio")
		for _, run := range r.Runs {
			fmt.Fprintf(w, "%-6d %10.4f %10.4f %8.2f\n", run.Seed, run.ModelB.TestAccuracy, run.ModelBOnA.TestAccuracy, run.ErrorRateRatio)
		}
		s := r.Summary
		fmt.Fprintf(w, "mean   %10.4f %10.4f\nstd    %10.4f %10.4f\ntransfer better on %d of %d seeds\n",
			s.ModelB.Mean, s.ModelBOnA.Mean, s.ModelB.Std, s.ModelBOnA.Std, s.Wins, s.Seeds)
	}
	fmt.Fprintf(w, "%.1f s\n", r.Seconds)
}
