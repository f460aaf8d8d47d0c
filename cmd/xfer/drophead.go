package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

type dropHeadOptions struct {
	e      *env
	src    source
	out    string // -o FILE
	layers int
	output string // --output NAME: which model output to cut at
}

func newDropHeadCmd(e *env, runF func(context.Context, *dropHeadOptions) error) *cli.Command {
	if runF == nil {
		runF = runDropHead
	}
	return &cli.Command{
		Name:  "drop-head",
		Usage: "remove the last N layers",
		// drop-head is the one command where --output names a model output
		// (issue 4: "drop-head asks which with --output NAME"); its result
		// file is -o or --out.
		Flags: append(modelFlags(),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the changed model to `FILE` instead of the workspace"},
			&cli.IntFlag{Name: "layers", Value: 1, Usage: "how many layers to remove"},
			&cli.StringFlag{Name: "output", Usage: "for a model with several outputs, the output `NAME` whose head to drop"},
		),
		Action: action(func(c *cli.Context) (*dropHeadOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("drop-head: unexpected argument %q", c.Args().First())
			}
			o := &dropHeadOptions{e: e, src: sourceOf(c), out: c.String("out"), layers: c.Int("layers"), output: c.String("output")}
			if o.layers < 1 {
				return nil, usagef("drop-head: --layers must be at least 1, got %d", o.layers)
			}
			if _, err := formats.FormatOf(o.output); o.output != "" && err == nil {
				return nil, usagef("drop-head: --output names the model output to cut at; to write the result to %s use -o %s", o.output, o.output)
			}
			return o, nil
		}, runF),
	}
}

func runDropHead(_ context.Context, o *dropHeadOptions) error {
	var before []*model.Layer
	m, err := o.e.change(o.src, o.out, "drop-head", func(m *model.Model) (*model.Model, error) {
		before = m.Layers
		return surgery.DropHead(m, o.layers, o.output)
	})
	if err != nil {
		return err
	}
	var removed []string
	for _, l := range before {
		if m.Layer(l.Name) == nil {
			removed = append(removed, fmt.Sprintf("%s (%s)", l.Name, l.Kind))
		}
	}
	shapes, _ := m.InferShapes()
	var ends []string
	for _, out := range m.Outputs {
		end := out
		for _, l := range m.Layers {
			if slices.Contains(l.Outputs, out) {
				end = l.Name
			}
		}
		if v := shapes[out]; v != nil {
			end += " " + shapeString(dims(v.Shape))
		}
		ends = append(ends, end)
	}
	fmt.Fprintf(o.e.stdout, "drop-head: removed %s; the model now ends at %s; %s\n", strings.Join(removed, ", "), strings.Join(ends, ", "), summary(m))
	return nil
}
