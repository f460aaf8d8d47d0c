package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

type freezeOptions struct {
	e          *env
	src        source
	out        string
	upto       string
	allButHead bool // upto is then -2
}

func newFreezeCmd(e *env, runF func(context.Context, *freezeOptions) error) *cli.Command {
	if runF == nil {
		runF = runFreeze
	}
	return &cli.Command{
		Name:  "freeze",
		Usage: "make layers 0..N (inclusive, numbered as inspect shows) non-trainable",
		Flags: append(modelFlags(), outputFlag(),
			&cli.StringFlag{Name: "upto", Usage: "last layer `REF` to freeze: an index as inspect shows it (-1 is the last), a name, or inside a nested model base:120 or base/block_16_project (the layers before it freeze too)"},
			&cli.BoolFlag{Name: "all-but-head", Usage: "freeze every layer but the last, the head (--upto -2)"},
		),
		Action: action(func(c *cli.Context) (*freezeOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("freeze: unexpected argument %q", c.Args().First())
			}
			o := &freezeOptions{e: e, src: sourceOf(c), out: c.String("output"), upto: c.String("upto"), allButHead: c.Bool("all-but-head")}
			switch {
			case c.IsSet("upto") && o.allButHead:
				return nil, usagef("freeze: give --upto REF or --all-but-head, not both")
			case !c.IsSet("upto") && !o.allButHead:
				return nil, usagef("freeze: missing --upto REF or --all-but-head (run `xfer help freeze` for every flag)")
			case o.allButHead:
				o.upto = "-2"
			}
			return o, nil
		}, runF),
	}
}

// runFreeze calls surgery.Freeze, which reports --upto out of range as a
// usage error naming the layer count.
func runFreeze(_ context.Context, o *freezeOptions) error {
	var what string
	m, err := o.e.change(o.src, o.out, "freeze", func(m *model.Model) (*model.Model, error) {
		if o.allButHead && len(m.Items("")) < 2 {
			return nil, usagef("freeze --all-but-head: model %q has one layer, its head: there is nothing else to freeze", m.Name)
		}
		r, err := surgery.Resolve(m, o.upto)
		if err != nil {
			return nil, err
		}
		what = layerSpan(r, false)
		return surgery.FreezeAt(m, o.upto)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.e.stdout, "freeze: %s frozen; %s\n", what, summary(m))
	return nil
}

// layerSpan says which layers a freeze up to r (from false) or an unfreeze
// from r (from true) changes, by index and name.
func layerSpan(r surgery.Ref, from bool) string {
	name := model.LocalName(r.Item.Name())
	switch {
	case r.Scope == "" && from:
		return fmt.Sprintf("layers %d.. (from %s)", r.Index, name)
	case r.Scope == "":
		return fmt.Sprintf("layers 0..%d (up to %s)", r.Index, name)
	case from:
		return fmt.Sprintf("layers %d.. of nested model %s (from %s) and every layer after it", r.Index, r.Scope, name)
	}
	return fmt.Sprintf("layers 0..%d of nested model %s (up to %s) and every layer before it", r.Index, r.Scope, name)
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
			&cli.StringFlag{Name: "from", Value: "0", Usage: "first layer `REF` to unfreeze: an index as inspect shows it (-1 is the last), a name, or inside a nested model base:120 or base/block_16_project (the nested model then trains from there, and so do the layers after it); default 0, the whole model"},
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
	var what string
	m, err := o.e.change(o.src, o.out, "unfreeze", func(m *model.Model) (*model.Model, error) {
		r, err := surgery.Resolve(m, o.from)
		if err != nil {
			return nil, err
		}
		what = layerSpan(r, true)
		return surgery.UnfreezeAt(m, o.from)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.e.stdout, "unfreeze: %s trainable; %s\n", what, summary(m))
	return nil
}
