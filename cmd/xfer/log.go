package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/workspace"
)

type logOptions struct {
	e    *env
	file string // -m: print the history a model file carries instead
	json bool
}

func newLogCmd(e *env, runF func(context.Context, *logOptions) error) *cli.Command {
	if runF == nil {
		runF = runLog
	}
	return &cli.Command{
		Name:  "log",
		Usage: "list the workspace journal: every operation, its time and the model digests",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the journal as JSON"},
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "print the history carried in model `FILE` (.h5, .keras, .onnx metadata) instead"},
		},
		Action: action(func(c *cli.Context) (*logOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("log: unexpected argument %q", c.Args().First())
			}
			return &logOptions{e: e, json: c.Bool("json"), file: c.String("model")}, nil
		}, runF),
	}
}

func runLog(_ context.Context, o *logOptions) error {
	if o.file != "" {
		return logFile(o)
	}
	ws, err := workspace.Open(o.e.wsRoot())
	if errors.Is(err, workspace.ErrNoWorkspace) {
		return fmt.Errorf("%w, or name a model file with -m FILE for the history it carries", err)
	}
	if err != nil {
		return err
	}
	j := ws.Journal()
	if o.json {
		return printJSON(o.e.stdout, j)
	}
	tw := tabwriter.NewWriter(o.e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\ttime\tbefore\tafter\tcommand")
	for _, en := range j {
		before := native.ShortDigest(en.Before)
		if before == "" {
			before = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", en.Seq, en.Time, before, native.ShortDigest(en.After), strings.TrimSpace("xfer "+en.Op+" "+en.Args))
	}
	return tw.Flush()
}

type undoOptions struct{ e *env }

func newUndoCmd(e *env, runF func(context.Context, *undoOptions) error) *cli.Command {
	if runF == nil {
		runF = runUndo
	}
	return &cli.Command{
		Name:  "undo",
		Usage: "step the workspace back one operation, restoring the previous model exactly",
		Action: action(func(c *cli.Context) (*undoOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("undo: unexpected argument %q", c.Args().First())
			}
			return &undoOptions{e: e}, nil
		}, runF),
	}
}

func runUndo(_ context.Context, o *undoOptions) error {
	ws, err := workspace.Open(o.e.wsRoot())
	if err != nil {
		return err
	}
	en, err := ws.Undo()
	if err != nil {
		return err
	}
	m, err := ws.Current()
	if err != nil {
		return err
	}
	fmt.Fprintf(o.e.stdout, "undid #%d %s; now %s (%s)\n", en.Seq, strings.TrimSpace("xfer "+en.Op+" "+en.Args), native.ShortDigest(en.Before), summary(m))
	return nil
}

// logFile prints the history events a model file carries (xfer writes them
// into .h5 attributes, .keras metadata and ONNX metadata_props).
func logFile(o *logOptions) error {
	m, err := readModel(o.file, "")
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(o.e.stdout, m.History)
	}
	if len(m.History) == 0 {
		fmt.Fprintf(o.e.stdout, "%s carries no xfer history\n", o.file)
		return nil
	}
	tw := tabwriter.NewWriter(o.e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\ttime\tbefore\tafter\tcommand")
	for i, ev := range m.History {
		before := native.ShortDigest(ev.Before)
		if before == "" {
			before = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, ev.Time, before, native.ShortDigest(ev.After), strings.TrimSpace("xfer "+ev.Op+" "+ev.Args))
	}
	return tw.Flush()
}
