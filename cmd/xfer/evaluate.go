package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/finetune"
)

type evaluateOptions struct {
	e          *env
	src        source
	data       string
	ds         dataSpec
	loss       string
	fromLogits bool
	metrics    []string
	json       bool
}

func newEvaluateCmd(e *env, runF func(context.Context, *evaluateOptions) error) *cli.Command {
	if runF == nil {
		runF = runEvaluate
	}
	return &cli.Command{
		Name:  "evaluate",
		Usage: "loss, accuracy and Keras metrics on a data set",
		Flags: append(append(modelFlags(),
			&cli.StringFlag{Name: "data", Required: true, Usage: "data `SPEC`: " + dataset.Specs},
			&cli.StringFlag{Name: "loss", Usage: "loss name (default: chosen from the head and labels)"},
			&cli.BoolFlag{Name: "from-logits", Usage: "the head outputs logits (Keras's from_logits=True)"},
			&cli.StringFlag{Name: "metrics", Usage: "Keras metrics beyond accuracy, `LIST` of precision, recall, auc (binary heads), top_K (multi-class), as finetune reports them"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		), dataFlags()...),
		Action: action(func(c *cli.Context) (*evaluateOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("evaluate: unexpected argument %q", c.Args().First())
			}
			if err := checkLoss("evaluate", c.String("loss")); err != nil {
				return nil, err
			}
			var metrics []string
			if v := c.String("metrics"); v != "" {
				metrics = strings.Split(v, ",")
			}
			if err := finetune.CheckMetrics(metrics); err != nil {
				return nil, usagef("evaluate: --metrics: %s", strings.TrimPrefix(err.Error(), "finetune: "))
			}
			ds, err := dataOptions(c, "evaluate", e.stderr)
			if err != nil {
				return nil, err
			}
			return &evaluateOptions{e: e, src: sourceOf(c), data: c.String("data"), ds: ds,
				loss: c.String("loss"), fromLogits: c.Bool("from-logits"), metrics: metrics, json: c.Bool("json")}, nil
		}, runF),
	}
}

func runEvaluate(_ context.Context, o *evaluateOptions) error {
	m, _, err := o.e.load(o.src)
	if err != nil {
		return err
	}
	set, err := dataset.Load(o.data, o.ds.forModel(m))
	if err != nil {
		return err
	}
	met, err := finetune.EvaluateWith(m, set, finetune.EvalOptions{Loss: o.loss, FromLogits: o.fromLogits, Metrics: o.metrics})
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(o.e.stdout, met)
	}
	fmt.Fprintf(o.e.stdout, "%s: %d samples - loss: %.4f - accuracy: %.4f", o.data, met.Samples, met.Loss, met.Accuracy)
	for _, name := range o.metrics {
		fmt.Fprintf(o.e.stdout, " - %s: %.4f", name, met.Metrics[name])
	}
	fmt.Fprintln(o.e.stdout)
	return nil
}
