package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/surgery"
	"github.com/xferml/xfer/workspace"
)

// Exit statuses (shared/CLI.md beside the repository, "Conventions").
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// env is what every command needs from the outside world; tests replace it.
type env struct {
	stdout, stderr io.Writer
	// root is the directory the workspace (./.xfer) is looked for from, up
	// through its parents as git looks for .git; "" means ".".
	root string
	// ceiling, when not "", stops that search below it (tests: the
	// temporary directory).
	ceiling string
	// now is the clock journal entries and history events read.
	now func() time.Time
	// args are the command line as typed (args[0] is the program).
	args []string
}

// usageError is a bad flag or argument: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// arguments counts command-line arguments in words: "1 argument", "2
// arguments".
func arguments(n int) string { return count(n, "argument") }

// count says n things: "1 input", "2 inputs".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// runtimeError marks an error returned by a command's run function, so that
// run can tell it from urfave/cli's own parse errors (which are usage errors).
type runtimeError struct{ err error }

func (e *runtimeError) Error() string { return e.err.Error() }
func (e *runtimeError) Unwrap() error { return e.err }

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		// A child started by formats.ReadInChild (a hidden command).
		if code, ok := formats.ServeChild(args[1:], stdout, stderr); ok {
			return code
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	// SIGTERM (kill's default, what service managers and CI runners send
	// first) is a polite stop like Ctrl-C.
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	defer func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}()
	go func() {
		select {
		case <-sig:
			// The first Ctrl-C or SIGTERM cancels ctx: training stops after
			// the current step and keeps the last finished epoch. Stopping
			// the relay restores the default handlers, so a second signal
			// ends the process at once.
			// The command then ends with one line saying what it kept
			// (finetune: "interrupted in epoch 2; kept epoch 1"), printed
			// where a live progress bar was.
			signal.Stop(sig)
			cancel()
		case <-done:
		}
	}()
	e := &env{stdout: stdout, stderr: stderr, now: clock(os.Getenv("SOURCE_DATE_EPOCH")), args: args}
	return e.run(ctx)
}

// clock returns the time source of history events: the fixed time of
// SOURCE_DATE_EPOCH (seconds since 1970, https://reproducible-builds.org/specs/source-date-epoch/)
// when set, so that scripted pipelines write byte-identical files, else the
// wall clock.
func clock(epoch string) func() time.Time {
	if sec, err := strconv.ParseInt(epoch, 10, 64); err == nil && epoch != "" {
		t := time.Unix(sec, 0).UTC()
		return func() time.Time { return t }
	}
	return time.Now
}

func (e *env) run(ctx context.Context) int { return e.runApp(ctx, newApp(e)) }

func (e *env) runApp(ctx context.Context, app *cli.App) (code int) {
	// A panic is a bug in xfer, but the user still gets one line, not a Go
	// trace (XFER_DEBUG=1 prints the trace for a bug report).
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "xfer: internal error: %v (this is a bug in xfer: please report it with the command and input; XFER_DEBUG=1 shows where)\n", r)
			if os.Getenv("XFER_DEBUG") != "" {
				e.stderr.Write(debug.Stack())
			}
			code = exitRuntime
		}
	}()
	err := app.RunContext(ctx, interspersed(app, e.args))
	if err == nil {
		return exitOK
	}
	msg := err.Error()
	cmd := ""
	if len(e.args) > 1 && app.Command(e.args[1]) != nil {
		cmd = app.Command(e.args[1]).Name
	}
	if errors.Is(err, context.Canceled) && !strings.Contains(msg, "interrupted") {
		// A command stopped by Ctrl-C or SIGTERM that has no more to say.
		msg = "interrupted before it finished"
	}
	msg = userMessage(cmd, msg)
	if !strings.HasPrefix(msg, "xfer: ") {
		msg = "xfer: " + msg
	}
	fmt.Fprintln(e.stderr, msg)
	return exitCode(err)
}

// exitCode maps an error to an exit status: usage errors (ours, urfave/cli's
// flag parsing, surgery's bad arguments, no workspace, a data spec that names
// no data set, a model, loss and data that do not fit together) are 2, everything a command's run
// function returns otherwise is 1.
func exitCode(err error) int {
	var u *usageError
	// Running a workspace command before `xfer import` is a usage mistake.
	if errors.As(err, &u) || errors.Is(err, surgery.ErrUsage) || errors.Is(err, workspace.ErrNoWorkspace) || errors.Is(err, dataset.ErrSpec) || errors.Is(err, finetune.ErrMismatch) {
		return exitUsage
	}
	var r *runtimeError
	if errors.As(err, &r) {
		return exitRuntime
	}
	return exitUsage // urfave/cli: unknown flag, missing value, required flag
}

func newApp(e *env) *cli.App {
	app := &cli.App{
		Name:  "xfer",
		Usage: "move trained networks between Keras and ONNX; reuse them for new tasks",
		// One convention a line: --help prints them, docs/CLI.md lists them.
		Description: strings.Join([]string{
			"Workspace: `xfer import FILE` creates ./.xfer (found from sub-directories too, as git finds .git); later commands act on its model, and `xfer log` / `xfer undo` walk its journal.",
			"Files: every command that reads a model also takes -m FILE, and every command that changes one -o FILE (format by extension); an input file is never modified.",
			"Formats are told by content: Keras HDF5 (.h5, .hdf5), Keras 3 (.keras), ONNX (.onnx), xfer snapshots (.xnat).",
			"Layers are numbered as Keras's model.layers and `xfer inspect` number them, from 0; negative numbers count from the end; base:120 is layer 120 of nested model base.",
			"Results go to stdout (a table, or JSON with --json), progress and diagnostics to stderr; a failure is one `xfer: COMMAND: ...` line saying what is wrong and what to do.",
			"Exit status: 0 success, 1 runtime error (a bad file, a failed check), 2 usage error (a bad or missing flag, an unknown command).",
			"Outputs are written to a temporary file and renamed, so a kill leaves the old file or the new one. Ctrl-C or SIGTERM stops training after the current step and keeps the last finished epoch; a second one ends at once.",
		}, "\n"),
		Writer:          e.stdout,
		ErrWriter:       e.stderr,
		HideHelpCommand: true, // newHelpCmd instead: one that knows unknown commands
		HideVersion:     true, // --version below: more than a version string
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "version", Usage: "print xfer's version and commit, and the versions of Go, the BLAS and libhdf5 it runs with"},
			// urfave/cli adds --help itself only when no command is called help.
			cli.HelpFlag,
		},
		DisableSliceFlagSeparator: true,
		// Never os.Exit from inside the library: run maps errors to codes.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &usageError{err}
		},
		Before: func(*cli.Context) error {
			// A typo in the memory ceiling is a usage error, not a silent default.
			if err := limits.Env(); err != nil {
				return &usageError{err}
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return unknownCommand(c.App, c.Args().First())
			}
			if c.Bool("version") {
				_, err := io.WriteString(e.stdout, versionText())
				return err
			}
			cli.ShowAppHelp(c)
			return usagef("no command given")
		},
		Commands: []*cli.Command{
			newImportCmd(e, nil),
			newInspectCmd(e, nil),
			newPredictCmd(e, nil),
			newExportCmd(e, nil),
			newDropHeadCmd(e, nil),
			newAddHeadCmd(e, nil),
			newFreezeCmd(e, nil),
			newUnfreezeCmd(e, nil),
			newCloneCmd(e, nil),
			newFoldBNCmd(e, nil),
			newFinetuneCmd(e, nil),
			newEvaluateCmd(e, nil),
			newVerifyCmd(e, nil),
			newLogCmd(e, nil),
			newUndoCmd(e, nil),
			newDemoCmd(e, nil),
			newHelpCmd(e),
			newCompletionCmd(e),
			newDocsCmd(e),
		},
	}
	// One clear line, not the help page, on a bad or missing flag.
	setUpFlags(app)
	return app
}

// interspersed moves a command's flags before its positional arguments, so
// that `xfer verify a.h5 b.onnx --json` works: urfave/cli v2 stops parsing
// flags at the first positional argument. Tokens after "--" stay positional.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	flags := []string{}
	var pos []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			pos = append(pos, rest[i:]...)
			i = len(rest)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	return append(out, pos...)
}

// action adapts a run function to urfave/cli: it marks the errors run
// returns as runtime errors unless they already say they are usage errors.
func action[O any](parse func(c *cli.Context) (*O, error), runF func(context.Context, *O) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		o, err := parse(c)
		if err != nil {
			var u *usageError
			if errors.As(err, &u) {
				return err
			}
			return &usageError{err}
		}
		if err := runF(c.Context, o); err != nil {
			var u *usageError
			if errors.As(err, &u) {
				return err
			}
			return &runtimeError{err}
		}
		return nil
	}
}

// typedArgs returns the command line after the command name, as typed, for
// the journal.
func (e *env) typedArgs(cmd string) string {
	for i, a := range e.args {
		if i > 0 && a == cmd {
			return strings.TrimSpace(strings.Join(e.args[i+1:], " "))
		}
	}
	return ""
}
