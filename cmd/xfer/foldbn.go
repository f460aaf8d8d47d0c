package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

type foldBNOptions struct {
	e   *env
	src source
	out string
}

func newFoldBNCmd(e *env, runF func(context.Context, *foldBNOptions) error) *cli.Command {
	if runF == nil {
		runF = runFoldBN
	}
	return &cli.Command{
		Name:  "fold-bn",
		Usage: "fold each BatchNormalization into the Dense/Conv before it; predictions unchanged",
		Flags: append(modelFlags(), outputFlag()),
		Action: action(func(c *cli.Context) (*foldBNOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("fold-bn: unexpected argument %q", c.Args().First())
			}
			return &foldBNOptions{e: e, src: sourceOf(c), out: c.String("output")}, nil
		}, runF),
	}
}

func runFoldBN(_ context.Context, o *foldBNOptions) error {
	var rep surgery.FoldReport
	m, err := o.e.change(o.src, o.out, "fold-bn", func(m *model.Model) (*model.Model, error) {
		n, r, err := surgery.FoldBN(m)
		rep = r
		return n, err
	})
	if err != nil {
		return err
	}
	fmt.Fprint(o.e.stdout, rep.String())
	fmt.Fprintf(o.e.stdout, "fold-bn: %s\n", summary(m))
	return nil
}
