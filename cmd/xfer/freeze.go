package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

type freezeOptions struct {
	e    *env
	src  source
	out  string
	upto string
}

func newFreezeCmd(e *env, runF func(context.Context, *freezeOptions) error) *cli.Command {
	if runF == nil {
		runF = runFreeze
	}
	return &cli.Command{
		Name:  "freeze",
		Usage: "make layers 0..N (inclusive, numbered as inspect shows) non-trainable",
		Flags: append(modelFlags(), outputFlag(),
			&cli.StringFlag{Name: "upto", Required: true, Usage: "last layer `REF` to freeze: an index as inspect shows it (-1 is the last), a name, or inside a nested model base:120 or base/block_16_project (the layers before it freeze too)"},
		),
		Action: action(func(c *cli.Context) (*freezeOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("freeze: unexpected argument %q", c.Args().First())
			}
			return &freezeOptions{e: e, src: sourceOf(c), out: c.String("output"), upto: c.String("upto")}, nil
		}, runF),
	}
}

// runFreeze calls surgery.Freeze, which reports --upto out of range as a
// usage error naming the layer count.
func runFreeze(_ context.Context, o *freezeOptions) error {
	m, err := o.e.change(o.src, o.out, "freeze", func(m *model.Model) (*model.Model, error) {
		return surgery.FreezeAt(m, o.upto)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.e.stdout, "freeze: layers 0..%s frozen; %s\n", o.upto, summary(m))
	return nil
}

type unfreezeOptions struct {
	e    *env
	src  source
	out  string
	from string
}

func newUnfreezeCmd(e *env, runF func(context.Context, *unfreezeOptions) error) *cli.Command {
	if runF == nil {
		runF = runUnfreeze
	}
	return &cli.Command{
		Name:  "unfreeze",
		Usage: "make layers N.. trainable (default: all)",
		Flags: append(modelFlags(), outputFlag(),
			&cli.StringFlag{Name: "from", Value: "0", Usage: "first layer `REF` to unfreeze: an index as inspect shows it (-1 is the last), a name, or inside a nested model base:120 or base/block_16_project (the nested model then trains from there, and so do the layers after it)"},
		),
		Action: action(func(c *cli.Context) (*unfreezeOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("unfreeze: unexpected argument %q", c.Args().First())
			}
			return &unfreezeOptions{e: e, src: sourceOf(c), out: c.String("output"), from: c.String("from")}, nil
		}, runF),
	}
}

func runUnfreeze(_ context.Context, o *unfreezeOptions) error {
	m, err := o.e.change(o.src, o.out, "unfreeze", func(m *model.Model) (*model.Model, error) {
		return surgery.UnfreezeAt(m, o.from)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.e.stdout, "unfreeze: layers %s.. trainable; %s\n", o.from, summary(m))
	return nil
}
