package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/model"
)

// messageCase is one message of the command line (issue 14: a test for
// each): the command, its exit status and what its output must say.
type messageCase struct {
	name string
	args []string
	code int
	// stderr and stdout list what must appear in each; on a non-zero
	// exit stderr must be one "xfer: " line.
	stderr, stdout []string
	// absent lists what must not appear in stdout or stderr.
	absent []string
}

// messageFixture writes a small classifier and its data into a fresh
// directory and returns the directory and the model's path.
func messageFixture(t *testing.T) (dir, mlpPath string) {
	t.Helper()
	dir = t.TempDir()
	mlpPath = writeModel(t, dir, "m.h5", mlp(t))
	x := make([]float32, 5*4)
	for i := range x {
		x[i] = float32(i) / 20
	}
	writeNPY(t, dir, "x.npy", &model.Tensor{DType: model.Float32, Shape: []int{5, 4}, F32: x})
	writeNPY(t, dir, "y.npy", &model.Tensor{DType: model.Float32, Shape: []int{5}, F32: []float32{0, 1, 0, 1, 1}})
	return dir, mlpPath
}

// checkMessages runs each case in dir.
func checkMessages(t *testing.T, dir string, cases []messageCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := xfer(t, dir, c.args...)
			cmd := "xfer " + strings.Join(c.args, " ")
			if code != c.code {
				t.Fatalf("%s: exit %d; want %d\nstdout:\n%s\nstderr:\n%s", cmd, code, c.code, stdout, stderr)
			}
			if code != 0 && (!strings.HasPrefix(stderr, "xfer: ") || strings.Count(stderr, "\n") != 1) {
				t.Errorf("%s: stderr is not one \"xfer: \" line:\n%s", cmd, stderr)
			}
			for _, w := range c.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("%s: stderr\n%s\ndoes not say %q", cmd, stderr, w)
				}
			}
			for _, w := range c.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("%s: stdout\n%s\ndoes not say %q", cmd, stdout, w)
				}
			}
			for _, w := range c.absent {
				if strings.Contains(stdout+stderr, w) {
					t.Errorf("%s: output says %q:\n%s%s", cmd, w, stdout, stderr)
				}
			}
		})
	}
}

// TestPlotMessages: --plot takes .png, .svg and .pdf, and says so before
// training when given anything else.
func TestPlotMessages(t *testing.T) {
	dir, m := messageFixture(t)
	data := "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y.npy")
	checkMessages(t, dir, []messageCase{
		{name: "plot gif", args: []string{"finetune", "-m", m, "-o", filepath.Join(dir, "o.h5"), "--data", data, "--plot", "c.gif"}, code: 2,
			stderr: []string{"finetune: --plot c.gif: want a .png, .svg or .pdf file"}, absent: []string{"Epoch"}},
		{name: "plot svg", args: []string{"finetune", "-m", m, "-o", filepath.Join(dir, "o.h5"), "--data", data, "--plot", filepath.Join(dir, "c.svg")}, code: 0,
			stderr: []string{"wrote " + filepath.Join(dir, "c.svg")}},
		{name: "help names the formats", args: []string{"finetune", "--help"}, code: 0, stdout: []string{".png, .svg or .pdf"}},
	})
}
