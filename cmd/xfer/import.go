package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/workspace"
)

type importOptions struct {
	e      *env
	file   string
	config string
}

func newImportCmd(e *env, runF func(context.Context, *importOptions) error) *cli.Command {
	if runF == nil {
		runF = runImport
	}
	return &cli.Command{
		Name:      "import",
		Usage:     "read a model into the workspace (./.xfer) and print its summary",
		ArgsUsage: "FILE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "Keras model config `JSON` for a weights-only .h5"},
		},
		Action: action(func(c *cli.Context) (*importOptions, error) {
			if c.NArg() != 1 {
				return nil, usagef("import: want exactly one FILE, got %s", arguments(c.NArg()))
			}
			return &importOptions{e: e, file: c.Args().First(), config: c.String("config")}, nil
		}, runF),
	}
}

func runImport(_ context.Context, o *importOptions) error {
	m, err := readModel(o.file, o.config)
	if err != nil {
		return err
	}
	ws, err := workspace.OpenOrCreate(o.e.wsRoot())
	if err != nil {
		return err
	}
	before := ""
	if j := ws.Journal(); len(j) > 0 {
		before = j[len(j)-1].After
	}
	// The import event (digests before and after) is recorded by the
	// commit, which hashes the params once for the digest and the objects.
	if _, err := ws.CommitRecorded(m, "import", o.e.typedArgs("import"), o.e.now()); err != nil {
		return err
	}
	fmt.Fprintf(o.e.stderr, "imported %s into %s\n", filepath.Base(o.file), ws.Dir())
	if before != "" {
		fmt.Fprintln(o.e.stderr, "(this replaced the workspace's model; `xfer undo` brings it back)")
	}
	return writeTable(o.e.stdout, o.e.stderr, m)
}
