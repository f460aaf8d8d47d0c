package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

type finetuneOptions struct {
	e          *env
	src        source
	out        string
	data       string
	validation string // "" : none, or the default for fashion-mnist specs
	dataSpec   dataSpec
	cfg        finetune.Config
	json       bool
	plot       string
	checkpoint string // "" or a model file written after every epoch
	// unfreezeFrom is --unfreeze-from, a layer reference (surgery.Resolve)
	// resolved against the model into cfg.UnfreezeFrom.
	unfreezeFrom string
}

// finetuneUsage is finetune's one line in the help: what it trains and with
// which optimizers (finetune.Optimizers, in Keras's spelling) and training
// controls.
const finetuneUsage = "train the model's trainable layers on a data set: SGD (momentum, Nesterov), Adam, AdaGrad, RMSprop, Nadam or AdamW " +
	"with Keras's update rules; gradient clipping, learning-rate schedules, early stopping, checkpoints, two-phase --unfreeze-after"

func newFinetuneCmd(e *env, runF func(context.Context, *finetuneOptions) error) *cli.Command {
	if runF == nil {
		runF = runFinetune
	}
	return &cli.Command{
		Name:  "finetune",
		Usage: finetuneUsage,
		Flags: append(append(modelFlags(), outputFlag(),
			&cli.StringFlag{Name: "data", Required: true, Usage: "training data `SPEC`: " + dataset.Specs},
			&cli.StringFlag{Name: "validation", Usage: "validation data `SPEC` (default for fashion-mnist:T[:train] is fashion-mnist:T:valid; none otherwise)"},
			&cli.Float64Flag{Name: "validation-split", Usage: "hold out fraction `F` of --data for validation (images: after Keras's seeded shuffle; arrays: the last F, as Keras's fit)"},
			&cli.StringFlag{Name: "augment", Usage: "augment training images with Keras's random layers: `LIST` of flip[=horizontal|vertical], rotate=F, zoom=F, translate=F, contrast=F"},
		), append(dataFlags(),
			&cli.IntFlag{Name: "epochs", Value: 1, Usage: "epochs `E` to train"},
			&cli.IntFlag{Name: "batch-size", Value: 32, Usage: "mini-batch size (Keras's default 32)"},
			&cli.Float64Flag{Name: "learning-rate", Usage: "learning rate (default: the optimizer's Keras default, 0.01 for SGD, 0.001 for the others)"},
			&cli.Float64Flag{Name: "momentum", Usage: "SGD momentum"},
			&cli.BoolFlag{Name: "nesterov", Usage: "Nesterov momentum"},
			&cli.Float64Flag{Name: "clip-value", Usage: "clip each gradient element to [-`V`, V]"},
			&cli.Float64Flag{Name: "clip-norm", Usage: "clip each gradient tensor to L2 norm `N`"},
			&cli.Float64Flag{Name: "global-clip-norm", Usage: "clip all gradients together to global L2 norm `N`"},
			&cli.StringFlag{Name: "optimizer", Value: "sgd", Usage: "sgd, adam, adagrad, rmsprop, nadam or adamw (Keras's update rules and defaults)"},
			&cli.Float64Flag{Name: "rho", Usage: "RMSprop's discount (Keras's default 0.9)"},
			&cli.BoolFlag{Name: "centered", Usage: "centered RMSprop"},
			&cli.Float64Flag{Name: "initial-accumulator", Usage: "AdaGrad's initial accumulator (Keras's default 0.1)"},
			&cli.Float64Flag{Name: "weight-decay", Usage: "decoupled weight decay w -= w*WD*lr before each update (AdamW's default 0.004)"},
			&cli.Float64Flag{Name: "beta-1", Usage: "Adam/Nadam/AdamW beta_1 (default 0.9)"},
			&cli.Float64Flag{Name: "beta-2", Usage: "Adam/Nadam/AdamW beta_2 (default 0.999)"},
			&cli.Float64Flag{Name: "epsilon", Usage: "the optimizer's epsilon (Keras's default 1e-7)"},
			&cli.StringFlag{Name: "schedule", Usage: "learning-rate schedule `SPEC`: exponential:STEPS:RATE[:staircase], piecewise:B1,B2..:V0,V1,V2.., power:S[:C], 1cycle:MAX_RATE"},
			&cli.IntFlag{Name: "early-stopping", Usage: "stop after `PATIENCE` epochs without improvement of --monitor (Keras's EarlyStopping)"},
			&cli.StringFlag{Name: "monitor", Value: "val_loss", Usage: "what early stopping, --reduce-lr-on-plateau and --save-best-only watch: val_loss, loss, val_accuracy, accuracy"},
			&cli.Float64Flag{Name: "min-delta", Usage: "smallest change of --monitor that counts as an improvement for early stopping"},
			&cli.BoolFlag{Name: "restore-best", Usage: "with --early-stopping, keep the best epoch's model (restore_best_weights)"},
			&cli.IntFlag{Name: "reduce-lr-on-plateau", Usage: "multiply the learning rate by --plateau-factor after `PATIENCE` epochs without improvement (ReduceLROnPlateau)"},
			&cli.Float64Flag{Name: "plateau-factor", Value: 0.1, Usage: "ReduceLROnPlateau's factor"},
			&cli.Float64Flag{Name: "min-lr", Usage: "ReduceLROnPlateau's lowest learning rate"},
			&cli.BoolFlag{Name: "grad-stats", Usage: "record per layer and epoch the gradient norm, update/weight ratio, dead ReLU and saturated sigmoid/tanh fractions; warn of vanishing or exploding gradients; in --json, and --plot FILE draws them to FILE-grads"},
			&cli.StringFlag{Name: "metrics", Usage: "Keras metrics beyond accuracy, `LIST` of precision, recall, auc (binary heads), top_K (multi-class), in --json per epoch"},
			&cli.StringFlag{Name: "class-weight", Usage: "Keras's class_weight: `CLASS:W,...` (e.g. 0:1,1:5) or balanced"},
			&cli.BoolFlag{Name: "save-best-only", Usage: "with --checkpoint, write only epochs that improve --monitor (ModelCheckpoint(save_best_only=True))"},
			&cli.StringFlag{Name: "loss", Usage: "sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy or mse (default: chosen from the head and labels)"},
			&cli.BoolFlag{Name: "from-logits", Usage: "the head outputs logits (a linear Dense): the cross-entropy applies softmax/sigmoid itself (Keras's from_logits=True)"},
			&cli.IntFlag{Name: "unfreeze-after", Usage: "after `K` epochs, make the layers frozen at the start trainable"},
			&cli.StringFlag{Name: "unfreeze-from", Usage: "with --unfreeze-after, unfreeze only from layer `REF` on: an index as inspect shows it, a name, or a layer of a nested model (base:120)"},
			&cli.Float64Flag{Name: "learning-rate-after", Usage: "learning rate once unfrozen (default: --learning-rate)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed `S` of shuffling and noise layers"},
			&cli.BoolFlag{Name: "no-shuffle", Usage: "keep the data order"},
			&cli.BoolFlag{Name: "json", Usage: "print the per-epoch history as JSON"},
			&cli.StringFlag{Name: "plot", Usage: "draw the learning curves (loss and accuracy per epoch) to `FILE`: .png, .svg or .pdf"},
			&cli.StringFlag{Name: "checkpoint", Usage: "write the model to `FILE` (.h5, .keras, .onnx, .xnat) after every epoch, so that a killed run keeps its finished epochs"},
			&cli.StringFlag{Name: "bn-mode", Usage: "BatchNormalization in training: `MODE` inference (moving statistics; gamma and beta train), batch (batch statistics in every trainable BN) or auto (Keras's rule: batch statistics unless a nested model called with training=False holds the layer); default inference when some layer is frozen at the start, auto otherwise"},
			&cli.BoolFlag{Name: "no-feature-cache", Usage: "run the frozen layers at every step instead of once per example"},
		)...),
		Action: action(func(c *cli.Context) (*finetuneOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("finetune: unexpected argument %q", c.Args().First())
			}
			return parseFinetune(e, c)
		}, runF),
	}
}

func parseFinetune(e *env, c *cli.Context) (*finetuneOptions, error) {
	o := &finetuneOptions{e: e, src: sourceOf(c), out: c.String("output"), data: c.String("data"),
		validation: c.String("validation"), json: c.Bool("json"), plot: c.String("plot"),
		checkpoint: c.String("checkpoint"), unfreezeFrom: c.String("unfreeze-from"),
		cfg: finetune.Config{
			Epochs: c.Int("epochs"), BatchSize: c.Int("batch-size"), LearningRate: c.Float64("learning-rate"),
			Momentum: c.Float64("momentum"), Nesterov: c.Bool("nesterov"),
			ClipValue: c.Float64("clip-value"), ClipNorm: c.Float64("clip-norm"), GlobalClipNorm: c.Float64("global-clip-norm"),
			Optimizer: c.String("optimizer"), Loss: c.String("loss"), FromLogits: c.Bool("from-logits"), Seed: c.Int64("seed"), NoShuffle: c.Bool("no-shuffle"),
			UnfreezeAfter: c.Int("unfreeze-after"), LearningRateAfter: c.Float64("learning-rate-after"),
			Rho: c.Float64("rho"), Centered: c.Bool("centered"), InitialAccumulator: c.Float64("initial-accumulator"),
			WeightDecay: c.Float64("weight-decay"), Beta1: c.Float64("beta-1"), Beta2: c.Float64("beta-2"), Epsilon: c.Float64("epsilon"),
			EarlyStopping: c.Int("early-stopping"), Monitor: c.String("monitor"), MinDelta: c.Float64("min-delta"), RestoreBest: c.Bool("restore-best"),
			PlateauPatience: c.Int("reduce-lr-on-plateau"), PlateauFactor: c.Float64("plateau-factor"), MinLR: c.Float64("min-lr"),
			SaveBestOnly: c.Bool("save-best-only"), BNMode: c.String("bn-mode"), ClassWeight: c.String("class-weight"), GradStats: c.Bool("grad-stats"),
		}}
	if c.Bool("no-feature-cache") {
		o.cfg.FeatureCache = "off"
	}
	if !c.IsSet("learning-rate") {
		o.cfg.LearningRate = 0 // the optimizer's Keras default
	}
	sched, err := finetune.ParseSchedule(c.String("schedule"))
	if err != nil {
		return nil, usagef("%v", err)
	}
	o.cfg.Schedule = sched
	if v := c.String("metrics"); v != "" {
		o.cfg.Metrics = strings.Split(v, ",")
	}
	cfg := o.cfg
	switch {
	case cfg.Epochs < 1:
		return nil, usagef("finetune: --epochs must be at least 1, got %d", cfg.Epochs)
	case cfg.BatchSize < 1:
		return nil, usagef("finetune: --batch-size must be at least 1, got %d", cfg.BatchSize)
	case c.IsSet("learning-rate") && cfg.LearningRate <= 0:
		return nil, usagef("finetune: --learning-rate must be positive, got %g", cfg.LearningRate)
	case cfg.Momentum < 0 || cfg.Momentum >= 1:
		return nil, usagef("finetune: --momentum must be in [0, 1), got %g", cfg.Momentum)
	case cfg.Nesterov && cfg.Momentum == 0:
		return nil, usagef("finetune: --nesterov needs --momentum")
	case cfg.UnfreezeAfter < 0 || cfg.UnfreezeAfter >= cfg.Epochs && cfg.UnfreezeAfter > 0:
		return nil, usagef("finetune: --unfreeze-after %d must be between 1 and --epochs - 1 (%d)", cfg.UnfreezeAfter, cfg.Epochs-1)
	case c.IsSet("unfreeze-from") && cfg.UnfreezeAfter == 0:
		return nil, usagef("finetune: --unfreeze-from goes with --unfreeze-after")
	case c.IsSet("learning-rate-after") && cfg.UnfreezeAfter == 0:
		return nil, usagef("finetune: --learning-rate-after goes with --unfreeze-after")
	case !slices.Contains(finetune.Optimizers, cfg.Optimizer):
		return nil, usagef("finetune: --optimizer %q: want one of %s", cfg.Optimizer, strings.Join(finetune.Optimizers, ", "))
	case cfg.BNMode != "" && cfg.BNMode != "inference" && cfg.BNMode != "batch" && cfg.BNMode != "auto":
		return nil, usagef("finetune: --bn-mode %q: want inference, batch or auto", cfg.BNMode)
	case cfg.SaveBestOnly && o.checkpoint == "":
		return nil, usagef("finetune: --save-best-only goes with --checkpoint FILE")
	}
	// Keras refuses more than one clipping rule (base_optimizer.py); said
	// here in the flags' names, before finetune.CheckConfig says it in
	// Config's.
	n := 0
	for _, name := range []string{"clip-value", "clip-norm", "global-clip-norm"} {
		if c.IsSet(name) {
			n++
			if c.Float64(name) <= 0 {
				return nil, usagef("finetune: --%s must be positive, got %g", name, c.Float64(name))
			}
		}
	}
	if n > 1 {
		return nil, usagef("finetune: give at most one of --clip-value, --clip-norm, --global-clip-norm (Keras allows only one)")
	}
	// The optimizer's and callbacks' own checks (Keras's rules) are usage
	// errors too.
	if err := finetune.CheckConfig(o.cfg); err != nil {
		return nil, usagef("%v", err)
	}
	if err := checkLoss("finetune", cfg.Loss); err != nil {
		return nil, err
	}
	ds, err := dataOptions(c, "finetune", e.stderr)
	if err != nil {
		return nil, err
	}
	o.dataSpec = ds
	if c.IsSet("validation-split") {
		f := c.Float64("validation-split")
		if !(f > 0 && f < 1) {
			return nil, usagef("finetune: --validation-split %g: want a fraction between 0 and 1", f)
		}
		if c.IsSet("validation") {
			return nil, usagef("finetune: give --validation SPEC or --validation-split F, not both")
		}
		o.dataSpec.opts.ValidationSplit = f
	}
	if v := c.String("augment"); v != "" {
		aug, err := dataset.ParseAugment(v)
		if err != nil {
			return nil, usagef("finetune: %v", err)
		}
		o.cfg.Augment = aug
	}
	if !c.IsSet("validation") && o.dataSpec.opts.ValidationSplit == 0 {
		o.validation = defaultValidation(o.data)
	}
	// Every output is checked before the first step: a bad path must not
	// cost a training run.
	for _, p := range []struct{ flag, path string }{{"-o", o.out}, {"--checkpoint", o.checkpoint}, {"--plot", o.plot}} {
		if err := checkOutPath("finetune", p.flag, p.path); err != nil {
			return nil, err
		}
	}
	if o.plot != "" {
		if err := checkPlotPath("finetune", o.plot); err != nil {
			return nil, err
		}
	}
	if o.checkpoint != "" {
		if _, err := formats.FormatOf(o.checkpoint); err != nil {
			return nil, usagef("finetune: --checkpoint: %v", err)
		}
		if o.out != "" && filepath.Clean(o.checkpoint) == filepath.Clean(o.out) {
			return nil, usagef("finetune: --checkpoint and -o name the same file %s; give the checkpoint its own", o.out)
		}
		if err := notInput("finetune", o.checkpoint, o.src.file, o.src.config); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// anyFrozen reports whether a layer of m with weights does not train (its
// own flag, or a nested model holding it, frozen).
func anyFrozen(m *model.Model) bool {
	for _, l := range m.Layers {
		if len(l.Params) > 0 && !m.EffectiveTrainable(l) {
			return true
		}
	}
	return false
}

// checkLoss refuses a --loss that names no loss finetune knows.
func checkLoss(cmd, loss string) error {
	if loss == "" || slices.Contains(finetune.Losses, loss) {
		return nil
	}
	return usagef("%s: --loss %q: want one of %s", cmd, loss, strings.Join(finetune.Losses, ", "))
}

// defaultValidation returns the validation split that goes with a
// Fashion-MNIST training spec, as in the book's notebook; "" otherwise.
func defaultValidation(data string) string {
	parts := strings.Split(data, ":")
	if parts[0] != "fashion-mnist" || len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "train") {
		return ""
	}
	return "fashion-mnist:" + parts[1] + ":valid"
}

func runFinetune(ctx context.Context, o *finetuneOptions) error {
	rep := newProgress(o.e.stderr)
	defer rep.endLine() // an error line after a live bar starts on its own line
	var hist *finetune.History
	interrupted := ""
	_, err := o.e.changeNoted(o.src, o.out, "finetune", func(m *model.Model) (*model.Model, string, error) {
		n, h, err := o.train(ctx, m, rep)
		hist = h
		if !errors.Is(err, context.Canceled) || n == nil {
			return n, "", err
		}
		// Ctrl-C or SIGTERM: Train kept the last finished epoch.
		done := 0
		if h != nil {
			done = len(h.Epochs)
		}
		if done == 0 {
			interrupted = fmt.Sprintf("interrupted in epoch 1 of %d, before any epoch finished; the model is unchanged", o.cfg.Epochs)
			return n, "", err
		}
		interrupted = fmt.Sprintf("interrupted in epoch %d; kept epoch %d of %d", done+1, done, o.cfg.Epochs)
		return n, interrupted, err
	})
	rep.endLine()
	if hist != nil && len(hist.Epochs) > 0 {
		if rerr := o.report(hist); rerr != nil {
			return rerr
		}
	}
	if interrupted != "" {
		where := "in the workspace, whose journal records the run as interrupted"
		switch {
		case hist == nil || len(hist.Epochs) == 0:
			where = "nothing was written"
		case o.out != "":
			where = "in " + o.out
		}
		return &interruptedError{fmt.Sprintf("finetune: %s (%s)", interrupted, where), err}
	}
	// finetune.ErrExploding already says what was kept and suggests clipping.
	return err
}

// interruptedError is a run stopped by Ctrl-C or SIGTERM: its message says
// what was kept, without Go's "context canceled"; errors.Is still sees it.
type interruptedError struct {
	msg string
	err error
}

func (e *interruptedError) Error() string { return e.msg }
func (e *interruptedError) Unwrap() error { return e.err }

// train reads the data for m and trains m: the data are read once the
// model is known, which gives an image folder's default size and colour
// mode.
func (o *finetuneOptions) train(ctx context.Context, m *model.Model, rep finetune.Reporter) (*model.Model, *finetune.History, error) {
	opts := o.dataSpec.forModel(m)
	train, valid, err := dataset.LoadSplit(o.data, opts)
	if err != nil {
		return nil, nil, err
	}
	if o.validation != "" {
		opts.ValidationSplit = 0
		if valid, err = dataset.Load(o.validation, opts); err != nil {
			return nil, nil, err
		}
	}
	cfg := o.cfg
	if o.checkpoint != "" {
		cfg.Checkpoint = o.checkpointer(native.Digest(m))
	}
	if o.unfreezeFrom != "" {
		r, err := surgery.Resolve(m, o.unfreezeFrom)
		if err != nil {
			return nil, nil, usagef("finetune: --unfreeze-from %s: %v", o.unfreezeFrom, err)
		}
		cfg.UnfreezeFrom = r.FirstLayer(m)
	}
	if cfg.UnfreezeAfter > 0 && !anyFrozen(m) {
		return nil, nil, usagef("finetune: --unfreeze-after %d: nothing in the model is frozen, so there is nothing to unfreeze; freeze first (xfer freeze --upto N or --all-but-head) or leave --unfreeze-after out", cfg.UnfreezeAfter)
	}
	return finetune.Train(ctx, m, train, valid, cfg, rep)
}

// report prints the run's result (the last epoch's figures, or the
// history as JSON) and draws --plot.
func (o *finetuneOptions) report(hist *finetune.History) error {
	if o.json {
		if err := printJSON(o.e.stdout, hist); err != nil {
			return err
		}
	} else {
		last := hist.Epochs[len(hist.Epochs)-1]
		fmt.Fprintf(o.e.stdout, "finetune: epochs %d, loss %.4f, accuracy %.4f", len(hist.Epochs), last.Loss, last.Accuracy)
		if last.ValAccuracy != nil {
			fmt.Fprintf(o.e.stdout, ", val_loss %.4f, val_accuracy %.4f", *last.ValLoss, *last.ValAccuracy)
		}
		fmt.Fprintf(o.e.stdout, ", %.0f samples/s\n", hist.SamplesPerSecond)
	}
	if o.plot == "" {
		return nil
	}
	if err := plotCurves(o.plot, []curve{{history: hist}}); err != nil {
		return err
	}
	fmt.Fprintf(o.e.stderr, "wrote %s\n", o.plot)
	if len(hist.GradStats) > 0 {
		gp := gradsPlotPath(o.plot)
		if err := plotGradStats(gp, hist); err != nil {
			return err
		}
		fmt.Fprintf(o.e.stderr, "wrote %s\n", gp)
	}
	return nil
}

// checkpointer returns finetune's Checkpoint callback: it writes the model
// of each finished epoch to o.checkpoint (atomically, replacing the last),
// with a history event that says which epoch it is.
func (o *finetuneOptions) checkpointer(before string) func(int, *model.Model) error {
	return func(epoch int, m *model.Model) error {
		m.History = append(m.History, model.Event{
			Op: "finetune", Args: fmt.Sprintf("%s (checkpoint after epoch %d of %d)", o.e.typedArgs("finetune"), epoch, o.cfg.Epochs),
			Time: o.e.now().UTC().Format(time.RFC3339), Before: before, After: native.Digest(m),
		})
		if err := formats.Write(o.checkpoint, m, formats.Options{}); err != nil {
			return err
		}
		fmt.Fprintf(o.e.stderr, "checkpoint: wrote %s (epoch %d)\n", o.checkpoint, epoch)
		return nil
	}
}
