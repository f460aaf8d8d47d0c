package main

import (
	"context"
	"fmt"
	"math/rand"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

type addHeadOptions struct {
	e    *env
	src  source
	out  string
	spec surgery.HeadSpec
	seed int64
}

func newAddHeadCmd(e *env, runF func(context.Context, *addHeadOptions) error) *cli.Command {
	if runF == nil {
		runF = runAddHead
	}
	return &cli.Command{
		Name:  "add-head",
		Usage: "append a Dense layer on the model's output",
		Flags: append(modelFlags(), outputFlag(),
			&cli.IntFlag{Name: "units", Required: true, Usage: "number of units `U`"},
			&cli.StringFlag{Name: "activation", Required: true, Usage: "Keras activation `A` (sigmoid, softmax, relu, linear, ...)"},
			&cli.StringFlag{Name: "kernel-initializer", Value: "glorot_uniform", Usage: "Keras initializer `I` of the kernel (the bias starts at zeros)"},
			&cli.StringFlag{Name: "name", Usage: "layer `NAME` (default: the next free dense_N)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed `S` of the kernel's random draw"},
		),
		Action: action(func(c *cli.Context) (*addHeadOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("add-head: unexpected argument %q", c.Args().First())
			}
			o := &addHeadOptions{e: e, src: sourceOf(c), out: c.String("output"), seed: c.Int64("seed"),
				spec: surgery.HeadSpec{Units: c.Int("units"), Activation: c.String("activation"),
					KernelInitializer: c.String("kernel-initializer"), Name: c.String("name")}}
			if o.spec.Units < 1 {
				return nil, usagef("add-head: --units must be at least 1, got %d", o.spec.Units)
			}
			return o, nil
		}, runF),
	}
}

func runAddHead(_ context.Context, o *addHeadOptions) error {
	m, err := o.e.change(o.src, o.out, "add-head", func(m *model.Model) (*model.Model, error) {
		return surgery.AddHead(m, o.spec, rand.New(rand.NewSource(o.seed)))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.e.stdout, "add-head: %s\n", summary(m))
	return nil
}
