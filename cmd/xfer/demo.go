package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/demo"
	"github.com/xferml/xfer/internal/atomicfile"
)

type demoOptions struct {
	e        *env
	opts     demo.Options
	json     bool
	ablation bool
}

// maxSeeds bounds --seeds: each seed trains two models for 20 epochs.
const maxSeeds = 1000

func newDemoCmd(e *env, runF func(context.Context, *demoOptions) error) *cli.Command {
	if runF == nil {
		runF = runDemo
	}
	return &cli.Command{
		Name:  "demo",
		Usage: "the book's chapter-11 experiment: model A, model B, model B on A on Fashion-MNIST",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "`DIR` for model_A.h5, model_B_on_A.h5, model_B_on_A.onnx and curves.png"},
			&cli.BoolFlag{Name: "json", Usage: "print the results as JSON"},
			&cli.Int64Flag{Name: "seed", Value: 42, Usage: "seed `S` of the run (default 42, the notebook's)"},
			&cli.StringFlag{Name: "seeds", Usage: "run B and B on A once per seed: a range `A-B` or a list 1,2,5"},
			&cli.Float64Flag{Name: "epochs-scale", Value: 1, Usage: "multiply every epoch count by `F` (quick runs: 0.1)"},
			&cli.StringFlag{Name: "hidden-init", Usage: "kernel initializer of the hidden layers (default glorot_uniform as the notebook; SELU calls for lecun_normal)"},
			&cli.StringFlag{Name: "data-dir", Usage: "`DIR` holding Fashion-MNIST's IDX files"},
			&cli.BoolFlag{Name: "ablation", Usage: "instead, chapter 11's comparisons: Glorot/He/LeCun x ReLU/LeakyReLU/ELU/SELU/PReLU/RReLU, with and without BatchNormalization and clipping, 5 seeds each (about 10 minutes on 2 cores); writes ablation.md and ablation.png to --out"},
		},
		Action: action(func(c *cli.Context) (*demoOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("demo: unexpected argument %q", c.Args().First())
			}
			o := &demoOptions{e: e, json: c.Bool("json"), ablation: c.Bool("ablation"), opts: demo.Options{
				Out: c.String("out"), Seed: c.Int64("seed"), EpochsScale: c.Float64("epochs-scale"),
				HiddenInit: c.String("hidden-init"), JSON: c.Bool("json"), Data: dataset.Options{DataDir: c.String("data-dir")},
			}}
			if c.IsSet("seed") && c.IsSet("seeds") {
				return nil, usagef("demo: give --seed or --seeds, not both")
			}
			if o.opts.Seed == 0 {
				// demo.Options reads seed 0 as its default, 42: running 42
				// when 0 was asked for would be a silent lie.
				return nil, usagef("demo: --seed 0: model A cannot take seed 0 (0 stands for the default, 42); give another seed, or --seeds 0 for B and B on A")
			}
			if c.IsSet("seeds") {
				seeds, err := parseSeeds(c.String("seeds"))
				if err != nil {
					return nil, err
				}
				o.opts.Seeds = seeds
			}
			if f := o.opts.EpochsScale; !(f > 0 && f <= 100) {
				return nil, usagef("demo: --epochs-scale must be in (0, 100], got %g", f)
			}
			return o, nil
		}, runF),
	}
}

// parseSeeds reads "0-9" or "1,2,5".
func parseSeeds(s string) ([]int64, error) {
	bad := func() error { return usagef("demo: --seeds %q: want a range like 0-9 or a list like 1,2,5", s) }
	if lo, hi, ok := strings.Cut(s, "-"); ok && lo != "" {
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b, err2 := strconv.ParseInt(hi, 10, 64)
		if err1 != nil || err2 != nil || b < a {
			return nil, bad()
		}
		if b-a >= maxSeeds {
			return nil, usagef("demo: --seeds %q is %d seeds; at most %d", s, b-a+1, maxSeeds)
		}
		var seeds []int64
		for v := a; ; v++ { // stops at b itself: v <= b never fails when b is MaxInt64
			seeds = append(seeds, v)
			if v == b {
				break
			}
		}
		return seeds, nil
	}
	var seeds []int64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, bad()
		}
		seeds = append(seeds, v)
	}
	if len(seeds) > maxSeeds {
		return nil, usagef("demo: --seeds lists %d seeds; at most %d", len(seeds), maxSeeds)
	}
	return seeds, nil
}

func runDemo(ctx context.Context, o *demoOptions) error {
	if o.opts.Out != "" {
		if err := os.MkdirAll(o.opts.Out, 0o755); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	if o.ablation {
		return runAblation(ctx, o)
	}
	p := newProgress(o.e.stderr)
	defer p.endLine()
	o.opts.Progress = p
	res, err := demo.Run(ctx, o.opts)
	p.endLine()
	if err != nil {
		return err
	}
	if o.opts.Out != "" {
		p := filepath.Join(o.opts.Out, "curves.png")
		if err := plotCurves(p, []curve{
			{"A", res.ModelA.History}, {"B", res.ModelB.History}, {"B on A", res.ModelBOnA.History},
		}); err != nil {
			return fmt.Errorf("demo: writing %s: %w", p, err)
		}
		res.Files = append(res.Files, p)
	}
	if o.json {
		if err := printJSON(o.e.stdout, res); err != nil {
			return err
		}
	} else {
		res.WriteTable(o.e.stdout)
	}
	writtenNote(o.e.stderr, o.opts.Out, res.Files)
	return nil
}

// writtenNote says on w where demo wrote its files, or that it wrote none
// (no --out).
func writtenNote(w io.Writer, out string, files []string) {
	if out == "" {
		fmt.Fprintln(w, "demo: no --out DIR given, so no file was written (--out DIR keeps the models and the learning curves)")
		return
	}
	fmt.Fprintf(w, "demo: wrote %s\n", strings.Join(files, ", "))
}

// runAblation runs demo --ablation: the table to stdout (or JSON) and, with
// --out, ablation.md and ablation.png.
func runAblation(ctx context.Context, o *demoOptions) error {
	rows, err := demo.Ablation(ctx, demo.AblationOptions{Data: o.opts.Data, Progress: o.e.stderr})
	if err != nil {
		return err
	}
	var files []string
	if o.opts.Out != "" {
		var b strings.Builder
		demo.WriteAblationTable(&b, rows)
		md := filepath.Join(o.opts.Out, "ablation.md")
		if err := atomicfile.WriteBytes(md, []byte(b.String())); err != nil {
			return err
		}
		png := filepath.Join(o.opts.Out, "ablation.png")
		if err := plotAblation(png, rows); err != nil {
			return err
		}
		files = []string{md, png}
	}
	if o.json {
		if err := printJSON(o.e.stdout, ablationJSON{rows}); err != nil {
			return err
		}
	} else {
		demo.WriteAblationTable(o.e.stdout, rows)
	}
	writtenNote(o.e.stderr, o.opts.Out, files)
	return nil
}
