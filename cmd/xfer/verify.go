package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/model"
)

type verifyOptions struct {
	e          *env
	a, b       string
	runtime    string // "xfer" or "onnxruntime": what runs B
	atol, rtol float64
	inputs     []string
	batch      int
	seed       int64
	json       bool
}

// Default tolerances of verify: the |a-b| <= atol + rtol*|b| rule of numpy's
// allclose, with the float32 round-off margins xfer's tests use against
// Keras (atol 1e-5) and ONNX's node tests (rtol 1e-3).
const (
	defaultATol = 1e-5
	defaultRTol = 1e-3
	// verifyBatch is the batch of random inputs when none are given.
	verifyBatch = 8
)

func newVerifyCmd(e *env, runF func(context.Context, *verifyOptions) error) *cli.Command {
	if runF == nil {
		runF = runVerify
	}
	return &cli.Command{
		Name:      "verify",
		Usage:     "run two models on the same inputs and report the largest difference; exit 1 when above tolerance",
		ArgsUsage: "A B",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "runtime", Value: "xfer", Usage: "what runs B: xfer (its own engine) or onnxruntime (B must be .onnx)"},
			&cli.Float64Flag{Name: "atol", Value: defaultATol, Usage: "absolute tolerance"},
			&cli.Float64Flag{Name: "rtol", Value: defaultRTol, Usage: "relative tolerance: pass when |a-b| <= atol + rtol*|b|"},
			&cli.StringSliceFlag{Name: "input", Usage: "input `FILE` or NAME=FILE (.npy, .pb); default: seeded random data shaped like A's inputs"},
			&cli.IntFlag{Name: "batch", Value: verifyBatch, Usage: "batch size of the random inputs"},
			&cli.Int64Flag{Name: "seed", Usage: "seed of the random inputs"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: action(func(c *cli.Context) (*verifyOptions, error) {
			if c.NArg() != 2 {
				return nil, usagef("verify: want two model files A B, got %s", arguments(c.NArg()))
			}
			o := &verifyOptions{e: e, a: c.Args().Get(0), b: c.Args().Get(1), runtime: c.String("runtime"),
				atol: c.Float64("atol"), rtol: c.Float64("rtol"), inputs: c.StringSlice("input"),
				batch: c.Int("batch"), seed: c.Int64("seed"), json: c.Bool("json")}
			switch o.runtime {
			case "xfer":
			case "onnxruntime":
				if f, err := formats.FormatOf(o.b); err != nil || f != formats.ONNX {
					return nil, usagef("verify: --runtime onnxruntime runs B, which must be an .onnx file, got %s", o.b)
				}
			default:
				return nil, usagef("verify: --runtime %q: want xfer or onnxruntime", o.runtime)
			}
			if o.atol < 0 || o.rtol < 0 || math.IsNaN(o.atol) || math.IsNaN(o.rtol) {
				return nil, usagef("verify: tolerances must be non-negative, got --atol %g --rtol %g", o.atol, o.rtol)
			}
			if o.batch < 1 {
				return nil, usagef("verify: --batch must be at least 1, got %d", o.batch)
			}
			return o, nil
		}, runF),
	}
}

// verifyResult is verify's report; the JSON keys are ../shared/CLI.md's.
type verifyResult struct {
	MaxAbsDiff float64  `json:"max_abs_diff"`
	MaxRelDiff float64  `json:"max_rel_diff"`
	ATol       float64  `json:"atol"`
	RTol       float64  `json:"rtol"`
	OK         bool     `json:"ok"`
	Outputs    int      `json:"outputs"`
	Elements   int      `json:"elements"`
	Runtime    string   `json:"runtime"`
	Inputs     []string `json:"inputs"`
}

func runVerify(_ context.Context, o *verifyOptions) error {
	ma, err := readModel(o.a, "")
	if err != nil {
		return err
	}
	var ins map[string]*model.Tensor
	var desc []string
	if len(o.inputs) > 0 {
		if ins, err = readInputs(ma, o.inputs); err != nil {
			return err
		}
		desc = o.inputs
	} else {
		if ins, err = randomInputs(ma, o.batch, o.seed); err != nil {
			return err
		}
		for _, v := range ma.Inputs {
			desc = append(desc, fmt.Sprintf("%s: uniform [0,1) %v seed %d", v.Name, ins[v.Name].Shape, o.seed))
		}
	}
	sa, err := engine.New(ma)
	if err != nil {
		return fmt.Errorf("verify: %s: %w", o.a, err)
	}
	outA, err := sa.Run(ins)
	if err != nil {
		return fmt.Errorf("verify: %s: %w", o.a, err)
	}
	gotA := ordered(ma.Outputs, outA)
	mb, err := readModel(o.b, "")
	if err != nil {
		return err
	}
	insB, err := renameInputs(ins, ma, mb)
	if err != nil {
		return err
	}
	var outB map[string]*model.Tensor
	if o.runtime == "onnxruntime" {
		if err := ort.Init(); err != nil {
			return err
		}
		outB, err = ort.Run(o.b, insB)
	} else {
		var sb *engine.Session
		if sb, err = engine.New(mb); err == nil {
			outB, err = sb.Run(insB)
		}
	}
	if err != nil {
		return fmt.Errorf("verify: %s: %w", o.b, err)
	}
	gotB := ordered(mb.Outputs, outB)
	res, err := compare(gotA, gotB, o.atol, o.rtol)
	if err != nil {
		return err
	}
	res.Runtime, res.Inputs = o.runtime, desc
	if o.json {
		if err := printJSON(o.e.stdout, res); err != nil {
			return err
		}
	} else {
		verdict := "OK"
		if !res.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(o.e.stdout, "%s: %d outputs, %d values; max abs diff %.3g, max rel diff %.3g (atol %g, rtol %g; B run by %s)\n",
			verdict, res.Outputs, res.Elements, res.MaxAbsDiff, res.MaxRelDiff, o.atol, o.rtol, o.runtime)
	}
	if !res.OK {
		return fmt.Errorf("verify: %s and %s differ by up to %.3g (abs) / %.3g (rel), above atol %g + rtol %g", o.a, o.b, res.MaxAbsDiff, res.MaxRelDiff, o.atol, o.rtol)
	}
	return nil
}

// maxVerifyElements bounds one random input (2^28 float32 values, 1 GiB),
// checked before allocating.
const maxVerifyElements = 1 << 28

// randomInputs draws uniform [0, 1) float32 inputs shaped like m's, with
// the batch (an unknown first dim) set to batch.
func randomInputs(m *model.Model, batch int, seed int64) (map[string]*model.Tensor, error) {
	rng := rand.New(rand.NewSource(seed))
	ins := map[string]*model.Tensor{}
	for _, v := range m.Inputs {
		shape := append([]int(nil), v.Shape...)
		for i, d := range shape {
			switch {
			case d >= 0:
			case i == 0:
				shape[i] = batch
			default:
				return nil, usagef("verify: input %q has shape %v with an unknown dim %d: give the data with --input", v.Name, v.Shape, i)
			}
		}
		if v.DType != model.Float32 {
			return nil, usagef("verify: input %q is %v: give the data with --input", v.Name, v.DType)
		}
		n := model.NumElements(shape)
		if n < 0 || n > maxVerifyElements {
			return nil, usagef("verify: --batch %d makes input %q of shape %v more than %d values; use a smaller --batch", batch, v.Name, shape, maxVerifyElements)
		}
		t := &model.Tensor{Name: v.Name, DType: model.Float32, Shape: shape, F32: make([]float32, n)}
		for i := range t.F32 {
			t.F32[i] = rng.Float32()
		}
		ins[v.Name] = t
	}
	return ins, nil
}

// renameInputs maps A's inputs onto B's, by name when B has them all,
// otherwise by position.
func renameInputs(ins map[string]*model.Tensor, a, b *model.Model) (map[string]*model.Tensor, error) {
	if len(a.Inputs) != len(b.Inputs) {
		return nil, fmt.Errorf("verify: A has %s, B has %d", count(len(a.Inputs), "input"), len(b.Inputs))
	}
	out := map[string]*model.Tensor{}
	for i, v := range b.Inputs {
		if t, ok := ins[v.Name]; ok {
			out[v.Name] = t
			continue
		}
		out[v.Name] = ins[a.Inputs[i].Name]
	}
	return out, nil
}

func ordered(names []string, outs map[string]*model.Tensor) []*model.Tensor {
	ts := make([]*model.Tensor, 0, len(names))
	for _, n := range names {
		if t, ok := outs[n]; ok {
			ts = append(ts, t)
		}
	}
	if len(ts) != len(names) || len(ts) != len(outs) {
		// Fall back to whatever the runtime returned, by name order.
		ts = ts[:0]
		for _, k := range slices.Sorted(maps.Keys(outs)) {
			ts = append(ts, outs[k])
		}
	}
	return ts
}

// compare checks a against b (b is the reference: |a-b| <= atol + rtol*|b|)
// output by output: count, then shape, then values.
func compare(a, b []*model.Tensor, atol, rtol float64) (*verifyResult, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("verify: A has %s, B has %d", count(len(a), "output"), len(b))
	}
	r := &verifyResult{ATol: atol, RTol: rtol, OK: true, Outputs: len(a)}
	for i := range a {
		x, y := a[i], b[i]
		if !slices.Equal(x.Shape, y.Shape) {
			return nil, fmt.Errorf("verify: output %d: A's shape %v, B's %v", i, x.Shape, y.Shape)
		}
		xs, ys := floats(x), floats(y)
		if len(xs) != len(ys) {
			return nil, fmt.Errorf("verify: output %d: A has %d values, B has %d", i, len(xs), len(ys))
		}
		for j := range xs {
			d := math.Abs(xs[j] - ys[j])
			if math.IsNaN(xs[j]) != math.IsNaN(ys[j]) {
				d = math.Inf(1)
			} else if math.IsNaN(d) {
				d = 0 // both NaN, or equal infinities
			}
			r.Elements++
			r.MaxAbsDiff = math.Max(r.MaxAbsDiff, d)
			if ay := math.Abs(ys[j]); ay > 0 {
				r.MaxRelDiff = math.Max(r.MaxRelDiff, d/ay)
			}
			if d > atol+rtol*math.Abs(ys[j]) {
				r.OK = false
			}
		}
	}
	return r, nil
}

func floats(t *model.Tensor) []float64 {
	if t.DType == model.Int64 {
		v := make([]float64, len(t.I64))
		for i, x := range t.I64 {
			v[i] = float64(x)
		}
		return v
	}
	v := make([]float64, len(t.F32))
	for i, x := range t.F32 {
		v[i] = float64(x)
	}
	return v
}
