package main

import (
	"context"
	"fmt"
	"math/rand"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

type cloneOptions struct {
	e      *env
	src    source
	out    string
	reinit bool
	seed   int64
}

func newCloneCmd(e *env, runF func(context.Context, *cloneOptions) error) *cli.Command {
	if runF == nil {
		runF = runClone
	}
	return &cli.Command{
		Name:  "clone",
		Usage: "same architecture; copied weights, or fresh ones from each layer's initializer with --reinit",
		Flags: append(modelFlags(), outputFlag(),
			&cli.BoolFlag{Name: "reinit", Usage: "draw fresh weights from each layer's own initializer (Keras clone_model)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed `S` of the fresh weights"},
		),
		Action: action(func(c *cli.Context) (*cloneOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("clone: unexpected argument %q", c.Args().First())
			}
			if c.IsSet("seed") && !c.Bool("reinit") {
				return nil, usagef("clone: --seed only matters with --reinit")
			}
			return &cloneOptions{e: e, src: sourceOf(c), out: c.String("output"), reinit: c.Bool("reinit"), seed: c.Int64("seed")}, nil
		}, runF),
	}
}

func runClone(_ context.Context, o *cloneOptions) error {
	m, err := o.e.change(o.src, o.out, "clone", func(m *model.Model) (*model.Model, error) {
		return surgery.Clone(m, o.reinit, rand.New(rand.NewSource(o.seed)))
	})
	if err != nil {
		return err
	}
	what := "weights copied"
	if o.reinit {
		what = fmt.Sprintf("weights drawn anew (seed %d)", o.seed)
	}
	fmt.Fprintf(o.e.stdout, "clone: %s; %s\n", what, summary(m))
	return nil
}
