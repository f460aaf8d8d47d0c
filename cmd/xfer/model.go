package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/workspace"
)

// source says where a command reads its model: a file (-m) or the workspace.
type source struct {
	file   string // -m, --model; "" means the workspace
	config string // --config for a weights-only .h5
}

// modelFlags are the flags of every command that reads a model.
func modelFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "read the model from `FILE` (.h5, .keras, .onnx, .xnat) instead of the workspace"},
		&cli.StringFlag{Name: "config", Usage: "Keras model config `JSON` for a weights-only .h5 given with -m"},
	}
}

// outputFlag is the flag of every command that changes a model.
func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the changed model to `FILE` (format by extension) instead of the workspace"}
}

func sourceOf(c *cli.Context) source {
	return source{file: c.String("model"), config: c.String("config")}
}

// readModel reads the model file at path (config: a Keras config JSON for a
// weights-only .h5). Keras files are read in a child process, so that a
// libhdf5 crash on a corrupt or hostile file is one error line, not a dead
// process (formats.ReadInChild; run serves the child).
func readModel(path, config string) (*model.Model, error) {
	return formats.Read(path, formats.Options{ConfigPath: config, IsolateHDF5: true})
}

// wsRoot returns the directory holding the workspace commands act on: the
// working directory's, or its nearest parent's (workspace.Find).
func (e *env) wsRoot() string { return workspace.Find(e.root, e.ceiling) }

// load returns the model of src; ws is the open workspace in workspace mode.
func (e *env) load(src source) (m *model.Model, ws *workspace.Workspace, err error) {
	if src.file != "" {
		m, err = readModel(src.file, src.config)
		return m, nil, err
	}
	if src.config != "" {
		return nil, nil, usagef("--config goes with -m FILE (or with import)")
	}
	ws, err = workspace.Open(e.wsRoot())
	if errors.Is(err, workspace.ErrNoWorkspace) {
		// Every command that loads a model also takes one from a file.
		return nil, nil, fmt.Errorf("%w, or name a model file with -m FILE", err)
	}
	if err != nil {
		return nil, nil, err
	}
	m, err = ws.Current()
	return m, ws, err
}

// change is one model-changing operation: it loads src, applies fn, records
// a history event (op, typed arguments, time, digests before and after) in
// the new model and stores it: to the file out when given, else as a new
// workspace step. It returns the new model. When fn returns both a model and
// an error (training interrupted, keeping the last good epoch), the model is
// stored and the error returned.
func (e *env) change(src source, out, op string, fn func(*model.Model) (*model.Model, error)) (*model.Model, error) {
	return e.changeNoted(src, out, op, func(m *model.Model) (*model.Model, string, error) {
		n, err := fn(m)
		return n, "", err
	})
}

// changeNoted is change with a note from fn that the history event and the
// journal entry add to the arguments in parentheses ("interrupted in epoch
// 3; kept epoch 2 of 20"): what the step did beyond what was typed.
func (e *env) changeNoted(src source, out, op string, fn func(*model.Model) (*model.Model, string, error)) (*model.Model, error) {
	if src.file != "" && out == "" {
		return nil, usagef("%s: -m FILE needs -o FILE for the result (the input file is never modified)", op)
	}
	if out != "" {
		if _, err := formats.FormatOf(out); err != nil {
			return nil, &usageError{err}
		}
		if err := notInput(op, out, src.file, src.config); err != nil {
			return nil, err
		}
	}
	m, ws, err := e.load(src)
	if err != nil {
		return nil, err
	}
	before := ""
	if ws != nil {
		if j := ws.Journal(); len(j) > 0 {
			before = j[len(j)-1].After // what Current checked m against
		}
	}
	if before == "" {
		before = native.Digest(m)
	}
	n, note, ferr := fn(m)
	if n == nil {
		return nil, ferr
	}
	hashed := native.DigestHashed(n)
	after := hashed.Digest
	if ferr != nil && after == before {
		return nil, ferr // failed before changing anything: nothing to record
	}
	if out == "" && after == before {
		// Like git with nothing to commit: the journal records changes.
		fmt.Fprintf(e.stderr, "%s: the model is unchanged; the journal has no new entry\n", op)
		return m, nil
	}
	if n == m {
		n = m.Clone() // never record history in the caller's model
	}
	args := e.typedArgs(op)
	if note != "" {
		args = strings.TrimSpace(args + " (" + note + ")")
	}
	n.History = append(append([]model.Event(nil), m.History...), model.Event{
		Op: op, Args: args, Time: e.now().UTC().Format(time.RFC3339),
		Before: before, After: after,
	})
	if out != "" {
		if err := formats.Write(out, n, formats.Options{}); err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stderr, "wrote %s\n", out)
		return n, ferr
	}
	if _, err := ws.CommitHashed(n, hashed, op, args, e.now()); err != nil {
		return nil, err
	}
	return n, ferr
}

// notInput refuses an output path that names one of the command's input
// files (the same file by device and inode, whatever the spelling): an input
// is never modified.
func notInput(op, out string, inputs ...string) error {
	so, err := os.Stat(out)
	if err != nil {
		return nil // not there yet: not an input
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if si, err := os.Stat(in); err == nil && os.SameFile(so, si) {
			return usagef("%s: the output %s is the input file %s; inputs are never modified: write the result elsewhere", op, out, in)
		}
	}
	return nil
}

// summary prints one line about m: its layers and param counts.
func summary(m *model.Model) string {
	total, tr, nt := m.ParamCounts()
	// Layers as Keras's model.layers counts them: a nested model is one.
	return fmt.Sprintf("%d layers, %s params (%s trainable, %s non-trainable)", len(m.Items("")), commas(total), commas(tr), commas(nt))
}

// commas formats n with thousands separators, as Keras's summary does.
func commas(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
