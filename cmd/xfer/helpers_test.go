package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// fixedNow is the clock of the tests' journal entries.
var fixedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// xfer runs the command line in workspace root dir and returns stdout,
// stderr and the exit status.
func xfer(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	// The search for a workspace stops below the temporary directory: one
	// left in /tmp by someone else is not the test's.
	e := &env{stdout: &out, stderr: &errb, root: dir, ceiling: os.TempDir(), now: func() time.Time { return fixedNow }, args: append([]string{"xfer"}, args...)}
	code := e.run(context.Background())
	return out.String(), errb.String(), code
}

// mustXfer is xfer that fails the test on a non-zero exit.
func mustXfer(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, errs, code := xfer(t, dir, args...)
	if code != 0 {
		t.Fatalf("xfer %s: exit %d; stderr:\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// parseOnly runs one command with its run function replaced, returning the
// options it parsed and the exit status.
func parseOnly[O any](t *testing.T, mk func(*env, func(context.Context, *O) error) *cli.Command, args ...string) (*O, int, string) {
	t.Helper()
	var got *O
	var errb bytes.Buffer
	e := &env{stdout: &bytes.Buffer{}, stderr: &errb, now: func() time.Time { return fixedNow }}
	cmd := mk(e, func(_ context.Context, o *O) error { got = o; return nil })
	app := newApp(e)
	cmd.OnUsageError = app.Commands[0].OnUsageError
	app.Commands = []*cli.Command{cmd}
	setUpFlags(app)
	e.args = append([]string{"xfer", cmd.Name}, args...)
	code := e.runApp(context.Background(), app)
	return got, code, errb.String()
}

// sharedInterop walks up from the working directory to the shared/interop
// directory beside the repository, or skips the test loudly.
func sharedInterop(t *testing.T, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "interop", sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("SKIP LOUDLY: shared/interop/%s not found beside the repository; Keras peer files unavailable", sub)
		}
		dir = parent
	}
}

// mlp returns a 4 -> 3 (relu) -> 2 (softmax) Keras-style model with fixed
// weights.
func mlp(t *testing.T) *model.Model {
	t.Helper()
	d1, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 4, Units: 3, Activation: "relu", UseBias: true, Trainable: true,
		Kernel: []float32{0.1, -0.2, 0.3, 0.4, 0.5, -0.6, -0.7, 0.8, 0.9, 1.0, -1.1, 1.2}, Bias: []float32{0.1, 0.2, -0.3}})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := layers.Dense(layers.DenseSpec{Name: "dense_1", Input: d1.Outputs[0], InFeatures: 3, Units: 2, Activation: "softmax", UseBias: true, Trainable: true,
		Kernel: []float32{0.5, -0.5, 0.25, 0.75, -1, 1}, Bias: []float32{0.05, -0.05}})
	if err != nil {
		t.Fatal(err)
	}
	return &model.Model{Name: "mlp", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 4}}},
		Outputs: d2.Outputs, Layers: []*model.Layer{d1, d2}, Meta: map[string]string{}}
}

// writeModel writes m to dir/name (format by extension) and returns the path.
func writeModel(t *testing.T, dir, name string, m *model.Model) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := formats.Write(p, m, formats.Options{}); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
