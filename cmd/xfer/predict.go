package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

type predictOptions struct {
	e         *env
	src       source
	inputs    []string // FILE or NAME=FILE
	outputs   []string // FILE or NAME=FILE
	batchSize int
	mcSamples int   // > 0: Monte Carlo dropout
	seed      int64 // of the Monte Carlo draws
}

// defaultBatchSize is Keras's Model.predict default batch_size.
const defaultBatchSize = 32

func newPredictCmd(e *env, runF func(context.Context, *predictOptions) error) *cli.Command {
	if runF == nil {
		runF = runPredict
	}
	return &cli.Command{
		Name:  "predict",
		Usage: "run the model on .npy or ONNX TensorProto .pb inputs",
		Flags: append(modelFlags(),
			&cli.StringSliceFlag{Name: "input", Required: true, Usage: "input `FILE` (.npy or .pb), or NAME=FILE for a model with several inputs; repeatable"},
			&cli.StringSliceFlag{Name: "output", Usage: "where to write the prediction: `FILE` (.npy or .pb), or NAME=FILE per model output; repeatable; without it the predictions are printed (a classifier's top class and its probability per row)"},
			&cli.IntFlag{Name: "batch-size", Value: defaultBatchSize, Usage: "rows per engine run"},
			&cli.IntFlag{Name: "mc-samples", Usage: "Monte Carlo dropout: the mean of `N` predictions with Dropout active (BatchNormalization in inference mode)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed of the --mc-samples draws"},
		),
		Action: action(func(c *cli.Context) (*predictOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("predict: unexpected argument %q (inputs go with --input)", c.Args().First())
			}
			o := &predictOptions{e: e, src: sourceOf(c), inputs: c.StringSlice("input"), outputs: c.StringSlice("output"), batchSize: c.Int("batch-size"),
				mcSamples: c.Int("mc-samples"), seed: c.Int64("seed")}
			if o.batchSize < 1 {
				return nil, usagef("predict: --batch-size must be at least 1, got %d", o.batchSize)
			}
			if c.IsSet("mc-samples") && (o.mcSamples < 1 || o.mcSamples > 100000) {
				return nil, usagef("predict: --mc-samples must be between 1 and 100000, got %d", o.mcSamples)
			}
			return o, nil
		}, runF),
	}
}

func runPredict(ctx context.Context, o *predictOptions) error {
	m, _, err := o.e.load(o.src)
	if err != nil {
		return err
	}
	ins, err := readInputs(m, o.inputs)
	if err != nil {
		return err
	}
	outFiles, err := bindOutputs(m, o.outputs)
	if err != nil {
		return err
	}
	inFiles := []string{o.src.file, o.src.config}
	for _, a := range o.inputs {
		_, f := splitNamed(a)
		inFiles = append(inFiles, f)
	}
	for _, f := range outFiles {
		if err := notInput("predict", f, inFiles...); err != nil {
			return err
		}
	}
	var outs map[string]*model.Tensor
	if o.mcSamples > 0 {
		if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
			return usagef("predict: --mc-samples takes a model with one input and one output")
		}
		y, err := finetune.PredictMC(m, ins[m.Inputs[0].Name], o.mcSamples, o.seed)
		if err != nil {
			return err
		}
		outs = map[string]*model.Tensor{m.Outputs[0]: y}
	} else {
		sess, err := engine.New(m)
		if err != nil {
			return err
		}
		if outs, err = runBatched(ctx, sess, m, ins, o.batchSize); err != nil {
			return err
		}
	}
	if len(o.outputs) == 0 {
		return printPredictions(o.e.stdout, m, outs)
	}
	// Encode every output before writing any, so that an output that
	// cannot be encoded leaves no other written; each file is then
	// written whole (temporary file, sync, rename).
	type encoded struct {
		name, path string
		b          []byte
	}
	var enc []encoded
	for _, name := range m.Outputs {
		path, ok := outFiles[name]
		if !ok {
			continue
		}
		b, err := encodeTensor(path, outs[name])
		if err != nil {
			return fmt.Errorf("predict: output %q: %w", name, err)
		}
		enc = append(enc, encoded{name, path, b})
	}
	for _, e := range enc {
		if err := atomicfile.WriteBytes(e.path, e.b); err != nil {
			return err
		}
		fmt.Fprintf(o.e.stderr, "wrote %s %v to %s\n", e.name, outs[e.name].Shape, e.path)
	}
	return nil
}

// printPredictions prints each output of m, row by row: for a classifier
// (a softmax over several classes, a sigmoid unit) the top class and its
// probability, else the values.
func printPredictions(w io.Writer, m *model.Model, outs map[string]*model.Tensor) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, name := range m.Outputs {
		t := outs[name]
		if t == nil {
			continue
		}
		if len(m.Outputs) > 1 {
			if i > 0 {
				fmt.Fprintln(tw)
			}
			fmt.Fprintf(tw, "output %s:\n", name)
		}
		act := ""
		for _, l := range m.Layers {
			if slices.Contains(l.Outputs, name) {
				act = activationOf(l)
			}
		}
		rows, per := 1, model.NumElements(t.Shape)
		if len(t.Shape) > 0 {
			rows = t.Shape[0]
			per = model.NumElements(t.Shape[1:])
		}
		if rows <= 0 || per <= 0 {
			fmt.Fprintf(tw, "(no values: shape %v)\n", t.Shape)
			continue
		}
		classifier := t.DType.IsFloat() && len(t.Shape) == 2 && (act == "softmax" && per > 1 || act == "sigmoid" && per == 1)
		switch {
		case classifier && per == 1:
			// Keras's binary classifier: class 1 when p >= 0.5.
			fmt.Fprintln(tw, "row\tclass\tprobability")
			for r := range rows {
				p, class := float64(t.F32[r]), 0
				if p >= 0.5 {
					class = 1
				} else {
					p = 1 - p
				}
				fmt.Fprintf(tw, "%d\t%d\t%.4f\n", r, class, p)
			}
		case classifier:
			fmt.Fprintln(tw, "row\tclass\tprobability")
			for r := range rows {
				row := t.F32[r*per : (r+1)*per]
				best := 0
				for k, v := range row {
					if v > row[best] {
						best = k
					}
				}
				fmt.Fprintf(tw, "%d\t%d\t%.4f\n", r, best, row[best])
			}
		default:
			fmt.Fprintf(tw, "row\tvalues %s\n", shapeString(dims(append([]int{-1}, t.Shape[min(1, len(t.Shape)):]...))))
			for r := range rows {
				vals := make([]string, per)
				for k := range per {
					if t.DType.IsFloat() {
						vals[k] = strconv.FormatFloat(float64(t.F32[r*per+k]), 'g', 6, 32)
					} else {
						vals[k] = strconv.FormatInt(t.I64[r*per+k], 10)
					}
				}
				fmt.Fprintf(tw, "%d\t%s\n", r, strings.Join(vals, " "))
			}
		}
	}
	return tw.Flush()
}

// splitNamed splits NAME=FILE; a bare FILE gives name "". A '=' inside a
// path is kept when the part before it is not a plain name.
func splitNamed(arg string) (name, file string) {
	i := strings.IndexByte(arg, '=')
	if i <= 0 || strings.ContainsAny(arg[:i], `/\`) {
		return "", arg
	}
	return arg[:i], arg[i+1:]
}

// readInputs reads --input values into tensors keyed by graph input name.
func readInputs(m *model.Model, args []string) (map[string]*model.Tensor, error) {
	names := make([]string, len(m.Inputs))
	for i, v := range m.Inputs {
		names[i] = v.Name
	}
	ins := map[string]*model.Tensor{}
	for _, a := range args {
		name, file := splitNamed(a)
		t, err := tensorio.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if name == "" {
			switch {
			case len(m.Inputs) == 1:
				name = names[0]
			case t.Name != "" && m.Input(t.Name) != nil:
				name = t.Name // a TensorProto names its graph input
			default:
				return nil, usagef("model %q has %d inputs (%s): give each as --input NAME=FILE", m.Name, len(m.Inputs), strings.Join(names, ", "))
			}
		}
		if m.Input(name) == nil {
			return nil, usagef("model %q has no input %q (inputs: %s)", m.Name, name, strings.Join(names, ", "))
		}
		if _, dup := ins[name]; dup {
			return nil, usagef("input %q given twice", name)
		}
		t.Name = name
		// Integer arrays (labels-style data, pixel counts) feed float
		// models; other dtypes convert when no value changes.
		if t, err = tensorio.As(t, m.Input(name).DType); err != nil {
			return nil, fmt.Errorf("predict: --input %s for model input %q: %w", file, name, err)
		}
		if want := m.Input(name).Shape; len(want) > 0 && !shapeFits(t.Shape, want) {
			return nil, fmt.Errorf("predict: --input %s: shape %v does not fit model input %q of shape %v (-1 is free)", file, t.Shape, name, want)
		}
		ins[name] = t
	}
	for _, n := range names {
		if _, ok := ins[n]; !ok {
			return nil, usagef("missing --input for model input %q (inputs: %s)", n, strings.Join(names, ", "))
		}
	}
	return ins, nil
}

// shapeFits reports whether a tensor of shape got can feed an input of shape
// want (same rank; equal dims where want's is not free, -1).
func shapeFits(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if w >= 0 && got[i] != w {
			return false
		}
	}
	return true
}

// bindOutputs maps model output names to the files to write.
func bindOutputs(m *model.Model, args []string) (map[string]string, error) {
	files := map[string]string{}
	for _, a := range args {
		name, file := splitNamed(a)
		if name == "" {
			if len(m.Outputs) != 1 {
				return nil, usagef("model %q has %d outputs (%s): give each as --output NAME=FILE", m.Name, len(m.Outputs), strings.Join(m.Outputs, ", "))
			}
			name = m.Outputs[0]
		}
		if !slices.Contains(m.Outputs, name) {
			return nil, usagef("model %q has no output %q (outputs: %s)", m.Name, name, strings.Join(m.Outputs, ", "))
		}
		if ext := strings.ToLower(filepath.Ext(file)); ext != ".npy" && ext != ".pb" {
			return nil, usagef("output %s: want a .npy or .pb file", file)
		}
		files[name] = file
	}
	return files, nil
}

// runBatched runs sess on consecutive row ranges of at most batch rows and
// concatenates the outputs along the batch axis. Rows are split only when
// every graph input is batch-first (an unknown first dim) and all inputs
// agree on it; otherwise (ONNX graphs with fixed shapes, a Gemm's bias as an
// input) the inputs go to the engine whole.
func runBatched(ctx context.Context, sess runner, m *model.Model, ins map[string]*model.Tensor, batch int) (map[string]*model.Tensor, error) {
	rows := -1
	for _, v := range m.Inputs {
		t := ins[v.Name]
		if len(v.Shape) == 0 || v.Shape[0] >= 0 || t == nil || len(t.Shape) == 0 || (rows >= 0 && t.Shape[0] != rows) {
			return sess.Run(ins)
		}
		rows = t.Shape[0]
	}
	if rows <= batch {
		return sess.Run(ins)
	}
	var parts []map[string]*model.Tensor
	for lo := 0; lo < rows; lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batch, rows)
		chunk := map[string]*model.Tensor{}
		for name, t := range ins {
			chunk[name] = sliceRows(t, lo, hi)
		}
		out, err := sess.Run(chunk)
		if err != nil {
			return nil, fmt.Errorf("rows %d..%d: %w", lo, hi-1, err)
		}
		// The engine may reuse its output buffers between runs: copy.
		for k, v := range out {
			out[k] = v.Clone()
		}
		parts = append(parts, out)
	}
	return concatRows(parts)
}

// runner is what runBatched needs of an engine session.
type runner interface {
	Run(map[string]*model.Tensor) (map[string]*model.Tensor, error)
}

func sliceRows(t *model.Tensor, lo, hi int) *model.Tensor {
	per := 1
	for _, d := range t.Shape[1:] {
		per *= d
	}
	c := &model.Tensor{Name: t.Name, DType: t.DType, Shape: append([]int{hi - lo}, t.Shape[1:]...)}
	if t.DType.IsFloat() {
		c.F32 = t.F32[lo*per : hi*per]
	} else {
		c.I64 = t.I64[lo*per : hi*per]
	}
	return c
}

func concatRows(parts []map[string]*model.Tensor) (map[string]*model.Tensor, error) {
	out := map[string]*model.Tensor{}
	for name, first := range parts[0] {
		t := &model.Tensor{Name: name, DType: first.DType, Shape: slices.Clone(first.Shape)}
		t.Shape[0] = 0
		for _, p := range parts {
			pt := p[name]
			if len(pt.Shape) == 0 || !slices.Equal(pt.Shape[1:], first.Shape[1:]) {
				return nil, fmt.Errorf("output %q changes shape between batches: %v vs %v", name, pt.Shape, first.Shape)
			}
			t.Shape[0] += pt.Shape[0]
			t.F32 = append(t.F32, pt.F32...)
			t.I64 = append(t.I64, pt.I64...)
		}
		out[name] = t
	}
	return out, nil
}

// encodeTensor encodes t as .npy or .pb by path's extension.
func encodeTensor(path string, t *model.Tensor) ([]byte, error) {
	if strings.EqualFold(filepath.Ext(path), ".pb") {
		return tensorio.EncodePB(t)
	}
	return tensorio.EncodeNPY(t)
}
