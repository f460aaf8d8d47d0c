package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/internal/tensorio"
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
			if code != 0 {
				if p := userLineProblem(t, c.args, strings.TrimSuffix(stderr, "\n")); p != "" {
					t.Errorf("%s: error line %q: %s", cmd, strings.TrimSuffix(stderr, "\n"), p)
				}
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

// TestCommandLineMessages: --version, help, "did you mean", missing and
// bad flags (issue 14, items 5 and 6), each one line that names the
// command and what to type.
func TestCommandLineMessages(t *testing.T) {
	dir, m := messageFixture(t)
	checkMessages(t, dir, []messageCase{
		{name: "version", args: []string{"--version"}, code: 0,
			stdout: []string{"xfer ", "commit", "go1.", "linux/", "BLAS: ", "libhdf5 1."}},
		{name: "help command", args: []string{"help", "freeze"}, code: 0, stdout: []string{"xfer freeze - ", "--upto REF", "--all-but-head"}},
		{name: "help without a command", args: []string{"help"}, code: 0, stdout: []string{"COMMANDS:", "completion", "--version"}},
		{name: "help of a typo", args: []string{"help", "frezee"}, code: 2, stderr: []string{`unknown command "frezee" (did you mean "freeze"?)`}},
		{name: "help of two", args: []string{"help", "freeze", "export"}, code: 2, stderr: []string{"help: give one command, not 2"}},
		{name: "unknown command", args: []string{"exprot", "x.onnx"}, code: 2, stderr: []string{`unknown command "exprot" (did you mean "export"?)`}},
		{name: "unknown command far from all", args: []string{"train"}, code: 2, stderr: []string{`unknown command "train" (run ` + "`xfer --help`" + ` for the list)`}},
		{name: "unknown flag", args: []string{"freeze", "--up-to", "3", "-m", m, "-o", filepath.Join(dir, "o.h5")}, code: 2,
			stderr: []string{"xfer: freeze: unknown flag --up-to (did you mean --upto?)"}},
		{name: "unknown flag far from all", args: []string{"freeze", "--everything", "-m", m}, code: 2,
			stderr: []string{"freeze: unknown flag --everything (run `xfer help freeze` for its flags)"}},
		{name: "unknown global flag", args: []string{"--verison"}, code: 2, stderr: []string{"unknown flag --verison (did you mean --version?)"}},
		{name: "missing required flags", args: []string{"evaluate", "-m", m}, code: 2,
			stderr: []string{"xfer: evaluate: missing --data (run `xfer help evaluate` for every flag)"}, absent: []string{"OPTIONS:"}},
		{name: "flag without its value", args: []string{"drop-head", "-m", m, "-o", filepath.Join(dir, "o.h5"), "--layers"}, code: 2,
			stderr: []string{"drop-head: --layers needs a value"}},
		{name: "flag with a bad number", args: []string{"drop-head", "--layers", "two", "-m", m, "-o", filepath.Join(dir, "o.h5")}, code: 2,
			stderr: []string{"drop-head: --layers two: want a whole number"}},
		{name: "help marks required flags", args: []string{"evaluate", "--help"}, code: 0, stdout: []string{"(required)"}},
		// Positional arguments, counted in words.
		{name: "verify with one model", args: []string{"verify", m}, code: 2, stderr: []string{"xfer: verify: want two model files A B, got 1 argument\n"}},
		{name: "import of two files", args: []string{"import", m, m}, code: 2, stderr: []string{"xfer: import: want exactly one FILE, got 2 arguments\n"}},
		{name: "export to two files", args: []string{"export", "-m", m, "a.onnx", "b.onnx"}, code: 2, stderr: []string{"xfer: export: want one FILE, got 2 arguments\n"}},
		{name: "finetune says what it trains with", args: []string{"help", "finetune"}, code: 0, stdout: []string{"SGD (momentum, Nesterov), Adam, AdaGrad, RMSprop, Nadam or AdamW"}},
		// A usage that mentions defaults in passing still shows the flag's own.
		{name: "finetune --optimizer default", args: []string{"help", "finetune"}, code: 0, stdout: []string{"(Keras's update rules and defaults) (default: sgd)\n"}},
		// The placeholder is the letter the usage uses.
		{name: "clip placeholders", args: []string{"help", "finetune"}, code: 0,
			stdout: []string{"--clip-value V ", "to [-V, V]\n", "--clip-norm N ", "--global-clip-norm N "}},
		// Defaults once and right: the usage's own words, no "(default: 0)".
		{name: "demo --seed default", args: []string{"help", "demo"}, code: 0, stdout: []string{"seed S of the run (default 42, the notebook's)\n"}},
		{name: "export --opset default", args: []string{"help", "export"}, code: 0, stdout: []string{"13 to 21 (default 17)\n"}},
		{name: "finetune --learning-rate-after default", args: []string{"help", "finetune"}, code: 0,
			stdout: []string{"learning rate once unfrozen (default: --learning-rate)\n"}, absent: []string{"(default: 0)", "(default: false)"}},
		{name: "a non-zero default is shown", args: []string{"help", "drop-head"}, code: 0, stdout: []string{"(default: 1)"}},
	})
}

// TestMissingRequired: each required flag of each command, left out, is
// one line that names the command and the flag, exit 2, before anything
// is read; --help marks the flag "(required)".
func TestMissingRequired(t *testing.T) {
	dir, m := messageFixture(t)
	var cases []messageCase
	for _, c := range newApp(&env{}).Commands {
		for _, f := range c.Flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok || !strings.HasSuffix(df.GetUsage(), " (required)") {
				continue
			}
			name := f.Names()[0]
			cases = append(cases,
				messageCase{name: c.Name + " without --" + name, args: []string{c.Name, "-m", m}, code: 2,
					stderr: []string{"xfer: " + c.Name + ": missing --" + name + " (run `xfer help " + c.Name + "` for every flag)\n"}},
				messageCase{name: c.Name + " --help", args: []string{c.Name, "--help"}, code: 0,
					stdout: []string{"--" + name + " "}})
			// The help line of the flag ends "(required)".
			if line := flagString(f); !strings.HasSuffix(line, "(required)") {
				t.Errorf("%s --%s: help line %q does not end \"(required)\"", c.Name, name, line)
			}
		}
	}
	// add-head --units, evaluate --data, finetune --data, predict --input.
	if len(cases) < 2*4 {
		t.Fatalf("found %d required flags; want at least add-head --units, evaluate --data, finetune --data and predict --input", len(cases)/2)
	}
	checkMessages(t, dir, cases)
}

// TestVersionNames: --version's first line names the module version the
// binary was built as, then the commit or that none was recorded; the
// next lines the Go toolchain, the BLAS and libhdf5.
func TestVersionNames(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information in the test binary")
	}
	out := mustXfer(t, t.TempDir(), "--version")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "xfer "+bi.Main.Version+", commit ") ||
		lines[1] != runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH || !strings.HasPrefix(lines[2], "BLAS: ") || !strings.HasPrefix(lines[3], "libhdf5 ") {
		t.Errorf("xfer --version =\n%s\nwant 4 lines: xfer %s, commit ...; %s %s/%s; BLAS: ...; libhdf5 ...", out, bi.Main.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
}

// TestHelpDefaultsOnce: no flag of any command shows two defaults, or a
// zero value as its default.
func TestHelpDefaultsOnce(t *testing.T) {
	for _, c := range newApp(&env{}).Commands {
		for _, f := range c.Flags {
			line := flagString(f)
			if strings.Count(line, "(default") > 1 || strings.Contains(line, "(default: 0)") || strings.Contains(line, "(default: false)") {
				t.Errorf("%s: help line %q shows a default twice or a zero default", c.Name, line)
			}
		}
	}
}

// TestHelpDefaultsRight: a default a usage states as a number ("Keras's
// default 32", "(default 42, ...)") is the value the flag really has.
func TestHelpDefaultsRight(t *testing.T) {
	stated := regexp.MustCompile(`default:? (-?[0-9][0-9.e+-]*)`)
	checked := 0
	for _, c := range newApp(&env{}).Commands {
		for _, f := range c.Flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok {
				continue
			}
			_, usage := unquote(df.GetUsage())
			m := stated.FindStringSubmatch(usage)
			d := defaultOf(df)
			if m == nil || d == "" {
				continue // no number stated, or the flag's zero value stands for the stated default
			}
			checked++
			want, err1 := strconv.ParseFloat(strings.TrimRight(m[1], "."), 64)
			got, err2 := strconv.ParseFloat(d, 64)
			if err1 != nil || err2 != nil || got != want {
				t.Errorf("%s --%s: usage says default %s; the flag's value is %s", c.Name, f.Names()[0], m[1], d)
			}
		}
	}
	if checked < 2 { // finetune --batch-size and demo --seed at least
		t.Errorf("checked %d stated defaults; want at least finetune --batch-size and demo --seed", checked)
	}
	// export --opset is 0 unless given: the exporter then writes
	// model.DefaultOpset, which the usage must name.
	opset := ""
	for _, f := range newExportCmd(&env{}, nil).Flags {
		if f.Names()[0] == "opset" {
			opset = f.(cli.DocGenerationFlag).GetUsage()
		}
	}
	if !strings.Contains(opset, fmt.Sprintf("(default %d)", model.DefaultOpset)) {
		t.Errorf("export --opset: usage %q does not name the default opset %d", opset, model.DefaultOpset)
	}
}

// TestFinetuneUsage: finetune's one line and its --optimizer flag name
// every optimizer finetune has.
func TestFinetuneUsage(t *testing.T) {
	var opt string
	for _, f := range newFinetuneCmd(&env{}, nil).Flags {
		if f.Names()[0] == "optimizer" {
			opt = f.(*cli.StringFlag).Usage
		}
	}
	for _, o := range finetune.Optimizers {
		if !strings.Contains(strings.ToLower(finetuneUsage), o) {
			t.Errorf("finetune's usage %q does not name optimizer %s", finetuneUsage, o)
		}
		if !strings.Contains(opt, o) {
			t.Errorf("--optimizer's usage %q does not name %s", opt, o)
		}
	}
}

// TestFreezeMessages: freeze --upto -1 and --all-but-head (issue 14, item
// 7), and what freeze and unfreeze report.
func TestFreezeMessages(t *testing.T) {
	dir, m := messageFixture(t)
	o := filepath.Join(dir, "o.h5")
	one := writeModel(t, dir, "one.xnat", func() *model.Model { x := mlp(t); x.Layers = x.Layers[:1]; x.Outputs = x.Layers[0].Outputs; return x }())
	checkMessages(t, dir, []messageCase{
		{name: "upto -1", args: []string{"freeze", "--upto", "-1", "-m", m, "-o", o}, code: 0,
			stdout: []string{"freeze: layers 0..1 (up to dense_1) frozen; 2 layers, 23 params (0 trainable, 23 non-trainable)"}},
		{name: "all but head", args: []string{"freeze", "--all-but-head", "-m", m, "-o", o}, code: 0,
			stdout: []string{"freeze: layers 0..0 (up to dense) frozen; 2 layers, 23 params (8 trainable, 15 non-trainable)"}},
		{name: "both", args: []string{"freeze", "--all-but-head", "--upto", "0", "-m", m, "-o", o}, code: 2,
			stderr: []string{"freeze: give --upto REF or --all-but-head, not both"}},
		{name: "neither", args: []string{"freeze", "-m", m, "-o", o}, code: 2,
			stderr: []string{"freeze: missing --upto REF or --all-but-head"}},
		{name: "all but head of a head", args: []string{"freeze", "--all-but-head", "-m", one, "-o", o}, code: 2,
			stderr: []string{`freeze --all-but-head: model "mlp" has one layer, its head: there is nothing else to freeze`}},
		{name: "unfreeze from", args: []string{"unfreeze", "--from", "-1", "-m", m, "-o", o}, code: 0,
			stdout: []string{"unfreeze: layers 1.. (from dense_1) trainable"}},
	})
}

// TestAddHeadMessages: add-head's default activation and the layers
// --pool, --flatten and --dropout put before the Dense head (issue 14,
// item 7), on a PyTorch CNN cut before its pooling.
func TestAddHeadMessages(t *testing.T) {
	dir, m := messageFixture(t)
	cnn, err := filepath.Abs("../../fixtures/torch/cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.xnat")
	mustXfer(t, dir, "drop-head", "--layers", "3", "-m", cnn, "-o", cut) // conv2's [N 8 6 6]
	o := filepath.Join(dir, "o.xnat")
	checkMessages(t, dir, []messageCase{
		{name: "linear by default", args: []string{"add-head", "--units", "2", "-m", m, "-o", o}, code: 0,
			stdout: []string{"add-head: added dense_2 (Dense, 2 units, linear); 3 layers"}},
		{name: "activation from --loss", args: []string{"add-head", "--units", "1", "--loss", "binary_crossentropy", "-m", m, "-o", o}, code: 0,
			stdout: []string{"add-head: added dense_2 (Dense, 1 units, sigmoid)"}},
		{name: "pool, dropout and dense on a CNN", args: []string{"add-head", "--units", "3", "--pool", "avg", "--dropout", "0.2", "--loss", "sparse_categorical_crossentropy", "-m", cut, "-o", o}, code: 0,
			stdout: []string{"add-head: added reducemean (ReduceMean), dropout (Dropout 0.2), dense (Dense, 3 units, softmax); 8 layers"}},
		{name: "flatten", args: []string{"add-head", "--units", "3", "--flatten", "-m", cut, "-o", o}, code: 0,
			stdout: []string{"add-head: added flatten (Flatten), dense (Dense, 3 units, linear)"}},
		{name: "no flatten on a CNN", args: []string{"add-head", "--units", "3", "-m", cut, "-o", o}, code: 1,
			stderr: []string{"xfer: add-head: unsupported: the model ends at layer \"conv2\" with output shape (None, 8, 6, 6); a Dense head needs a 2-D float [batch, features] output", "(add-head --flatten, or --pool avg|max)"}, absent: []string{"add-head: unsupported: add-head"}},
		{name: "pool a 2-D output", args: []string{"add-head", "--units", "3", "--pool", "max", "-m", m, "-o", o}, code: 2,
			stderr: []string{"xfer: add-head --pool max: the model ends at layer \"dense_1\" with output shape (None, 2); pooling needs [batch, spatial..., channels]"}},
		{name: "bad pooling", args: []string{"add-head", "--units", "3", "--pool", "mean", "-m", m, "-o", o}, code: 2,
			stderr: []string{`add-head: --pool "mean": want avg or max`}},
	})
}

// TestNoChangeMessages: a step that changes nothing writes no journal
// entry and says so; finetune --unfreeze-after on a model with nothing
// frozen says there is nothing to unfreeze; drop-head names the layers it
// removed and where the model ends (issue 14, item 7).
func TestNoChangeMessages(t *testing.T) {
	dir, m := messageFixture(t)
	mustXfer(t, dir, "import", m)
	data := "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y.npy")
	checkMessages(t, dir, []messageCase{
		{name: "fold-bn without BatchNormalization", args: []string{"fold-bn"}, code: 0,
			stdout: []string{"no BatchNormalization layers"}, stderr: []string{"fold-bn: the model is unchanged; the journal has no new entry"}},
		{name: "unfreeze of a trainable model", args: []string{"unfreeze"}, code: 0,
			stderr: []string{"unfreeze: the model is unchanged; the journal has no new entry"}},
		{name: "unfreeze-after with nothing frozen", args: []string{"finetune", "--data", data, "--epochs", "2", "--unfreeze-after", "1"}, code: 2,
			stderr: []string{"finetune: --unfreeze-after 1: nothing in the model is frozen, so there is nothing to unfreeze; freeze first"}, absent: []string{"Epoch"}},
	})
	if j := mustXfer(t, dir, "log"); strings.Count(j, "\n") != 2 { // the header and the import
		t.Errorf("log after steps that changed nothing =\n%s\nwant the import only", j)
	}
	checkMessages(t, dir, []messageCase{
		{name: "drop-head names the layers", args: []string{"drop-head"}, code: 0,
			stdout: []string{"drop-head: removed dense_1 (Dense); the model now ends at dense (None, 3); 1 layers, 15 params"}, absent: []string{":0", "/"}},
		{name: "file mode writes even an unchanged model", args: []string{"fold-bn", "-m", m, "-o", filepath.Join(dir, "same.h5")}, code: 0,
			stderr: []string{"wrote " + filepath.Join(dir, "same.h5")}},
	})
}

// TestInspectMessages: inspect shows the inputs and each layer's
// activation, for a Keras-style model (from its config) and a PyTorch one
// (from its nodes).
func TestInspectMessages(t *testing.T) {
	dir, m := messageFixture(t)
	cnn, err := filepath.Abs("../../fixtures/torch/cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	checkMessages(t, dir, []messageCase{
		{name: "keras", args: []string{"inspect", "-m", m}, code: 0, stdout: []string{"Input: x (None, 4)\n", "Activation", "(None, 3)     relu ", "(None, 2)     softmax "}},
		{name: "torch", args: []string{"inspect", "-m", cnn}, code: 0, stdout: []string{"Input: input (None, 1, 28, 28)\n", "conv2 (Conv)              (None, 8, 6, 6)    relu ", "fc (Dense)                (None, 8)          linear "}},
		{name: "json", args: []string{"inspect", "--json", "-m", m}, code: 0, stdout: []string{`"inputs": [`, `"name": "x"`, `"activation": "softmax"`}},
	})
}

// TestPredictPrints: predict without --output prints the predictions: a
// classifier's top class and its probability per row (issue 14, item 7).
func TestPredictPrints(t *testing.T) {
	dir, m := messageFixture(t)
	x := filepath.Join(dir, "x.npy")
	// The mlp's softmax on x's rows, and a one-unit sigmoid and a linear
	// head on the same hidden layer.
	sig := filepath.Join(dir, "sig.xnat")
	mustXfer(t, dir, "drop-head", "-m", m, "-o", filepath.Join(dir, "body.xnat"))
	mustXfer(t, dir, "add-head", "--units", "1", "--activation", "sigmoid", "--seed", "1", "-m", filepath.Join(dir, "body.xnat"), "-o", sig)
	lin := filepath.Join(dir, "lin.xnat")
	mustXfer(t, dir, "add-head", "--units", "2", "--seed", "1", "-m", filepath.Join(dir, "body.xnat"), "-o", lin)
	want := func(path string) *model.Tensor {
		out := filepath.Join(t.TempDir(), "y.npy")
		mustXfer(t, dir, "predict", "-m", path, "--input", x, "--output", out)
		y, err := tensorio.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return y
	}
	soft, sg, ln := want(m), want(sig), want(lin)
	top := func(r int) (int, float32) {
		if soft.F32[2*r] >= soft.F32[2*r+1] {
			return 0, soft.F32[2*r]
		}
		return 1, soft.F32[2*r+1]
	}
	c0, p0 := top(0)
	c4, p4 := top(4)
	p := sg.F32[3]
	c3 := 1
	if p < 0.5 {
		c3, p = 0, 1-p
	}
	checkMessages(t, dir, []messageCase{
		{name: "softmax", args: []string{"predict", "-m", m, "--input", x}, code: 0,
			stdout: []string{"row  class  probability\n", fmt.Sprintf("0    %d      %.4f\n", c0, p0), fmt.Sprintf("4    %d      %.4f\n", c4, p4)}},
		{name: "sigmoid", args: []string{"predict", "-m", sig, "--input", x}, code: 0,
			stdout: []string{"row  class  probability\n", fmt.Sprintf("3    %d      %.4f\n", c3, p)}},
		{name: "linear", args: []string{"predict", "-m", lin, "--input", x}, code: 0,
			stdout: []string{"row  values (None, 2)\n", fmt.Sprintf("1    %s %s\n", strconv.FormatFloat(float64(ln.F32[2]), 'g', 6, 32), strconv.FormatFloat(float64(ln.F32[3]), 'g', 6, 32))}},
	})
}

// TestUserMessage: error lines name what the user ran, not the package
// that found the problem (issue 14, item 8).
func TestUserMessage(t *testing.T) {
	tests := []struct{ cmd, msg, want string }{
		{"freeze", `surgery: bad argument: layer 9 is out of range: model "m" has 2 layers`, `freeze: layer 9 is out of range: model "m" has 2 layers`},
		{"inspect", "formats: unknown model format: a.h5 is empty", "inspect: a.h5 is empty"},
		{"export", "keras: write a.h5: atomicfile: cannot write a.h5: it is a directory", "export: cannot write a.h5: it is a directory"},
		{"predict", `x.npy: tensorio: unsupported: .npy dtype "<c8"`, `predict: x.npy: unsupported: .npy dtype "<c8"`},
		{"finetune", "finetune: --epochs must be at least 1, got 0", "finetune: --epochs must be at least 1, got 0"},
		{"evaluate", "finetune: the labels of npy:x,y are ...", "evaluate: the labels of npy:x,y are ..."},
		{"inspect", `a.onnx: model: invalid: layer "d": node "n": op Einsum is not supported`, `inspect: a.onnx: layer "d": node "n": op Einsum is not supported`},
		{"freeze --all-but-head", "freeze --all-but-head: one layer", "freeze --all-but-head: one layer"},
		{"", `unknown command "x"`, `unknown command "x"`},
		// Only whole prefixes go: a word that ends like one stays.
		{"import", "metadataset: x", "import: metadataset: x"},
		{"add-head", "surgery: unsupported: add-head: the model ends at layer \"p\"", "add-head: unsupported: the model ends at layer \"p\""},
	}
	for _, tt := range tests {
		if got := userMessage(tt.cmd, tt.msg); got != tt.want {
			t.Errorf("userMessage(%q, %q) = %q; want %q", tt.cmd, tt.msg, got, tt.want)
		}
	}
	dir, m := messageFixture(t)
	checkMessages(t, dir, []messageCase{
		{name: "a surgery error names the command", args: []string{"freeze", "--upto", "9", "-m", m, "-o", filepath.Join(dir, "o.h5")}, code: 2,
			stderr: []string{`xfer: freeze: layer 9 is out of range: model "mlp" has 2 layers`}, absent: []string{"surgery", "bad argument"}},
		{name: "a write error names the file once", args: []string{"export", "-m", m, "-o", filepath.Join(dir, "no", "o.onnx")}, code: 1,
			stderr: []string{"xfer: export: cannot write " + filepath.Join(dir, "no", "o.onnx")}, absent: []string{"atomicfile"}},
	})
}

// modulePackages returns the name of every package of the module (from
// the package clause of its non-test files) but main: the prefixes an
// error carries from inside xfer ("surgery: ", "tensorio: ").
var modulePackages = sync.OnceValues(func() ([]string, error) {
	const root = "../.."
	seen := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly)
		if err != nil {
			return err
		}
		if n := f.Name.Name; n != "main" {
			seen[n] = true
		}
		return nil
	})
	return slices.Sorted(maps.Keys(seen)), err
})

// proseWords are the package names that are also words of xfer's
// messages ("its layers: dense, dense_1"): userLineProblem refuses them
// only where a prefix stands, at the start of a clause.
var proseWords = map[string]bool{
	"conformance": true, "dataset": true, "demo": true, "engine": true, "finetune": true, "formats": true, "initializers": true,
	"kernels": true, "layers": true, "limits": true, "model": true, "native": true, "peers": true, "workspace": true,
}

// userLineProblem says what is wrong with line, the error line of `xfer
// args...`, or returns "": it must start with the command ("xfer: freeze:
// ..." or "xfer: freeze --all-but-head: ...") and carry no package prefix
// of the module at the start of a clause (issue 14, item 8: the line says
// what the user did, not which package found the problem).
func userLineProblem(t *testing.T, args []string, line string) string {
	t.Helper()
	pkgs, err := modulePackages()
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("found %d packages in the module (%v); want all of them", len(pkgs), pkgs)
	}
	msg, ok := strings.CutPrefix(line, "xfer: ")
	if !ok {
		return `it does not start with "xfer: "`
	}
	cmd := ""
	if len(args) > 0 {
		if c := newApp(&env{}).Command(args[0]); c != nil && !c.Hidden {
			cmd = c.Name
		}
	}
	if cmd != "" {
		rest, ok := strings.CutPrefix(msg, cmd)
		if !ok || !strings.HasPrefix(rest, ": ") && !strings.HasPrefix(rest, " ") {
			return "it does not name the command " + cmd + " first"
		}
		msg = strings.TrimPrefix(strings.TrimPrefix(rest, ":"), " ")
	}
	for _, p := range pkgs {
		// A package whose name is no word of the messages' prose
		// ("surgery: ", "tensorio: ") may not start a word anywhere.
		if !proseWords[p] && regexp.MustCompile(`(^|[ (])`+regexp.QuoteMeta(p)+`: `).MatchString(msg) {
			return fmt.Sprintf("it carries the package prefix %q", p+": ")
		}
		for i := 0; ; {
			j := strings.Index(msg[i:], p+": ")
			if j < 0 {
				break
			}
			j += i
			if j == 0 || strings.HasSuffix(msg[:j], ": ") || strings.HasSuffix(msg[:j], "(") {
				return fmt.Sprintf("it carries the package prefix %q", p+": ")
			}
			i = j + len(p)
		}
	}
	return ""
}

// TestUserLineProblem: the check the message tests apply to every error
// line.
func TestUserLineProblem(t *testing.T) {
	tests := []struct {
		args []string
		line string
		want string // "" or a substring of the problem
	}{
		{[]string{"freeze", "--upto", "9"}, `xfer: freeze: layer 9 is out of range: model "m" has 2 layers`, ""},
		{[]string{"freeze", "--all-but-head"}, `xfer: freeze --all-but-head: model "m" has one layer`, ""},
		{[]string{"freeze", "--upto", "nope"}, `xfer: freeze: no layer called "nope" (its layers: dense, dense_1)`, ""},
		{[]string{"exprot"}, `xfer: unknown command "exprot" (did you mean "export"?)`, ""},
		{[]string{"freeze", "--upto", "9"}, `xfer: freeze: surgery: bad argument: layer 9`, `package prefix "surgery: "`},
		{[]string{"inspect", "-m", "a.h5"}, `xfer: inspect: a.h5: formats: unknown model format`, `package prefix "formats: "`},
		{[]string{"predict"}, `xfer: predict: x.npy (tensorio: short)`, `package prefix "tensorio: "`},
		{[]string{"export"}, `xfer: atomicfile: cannot write a.onnx`, "does not name the command export"},
		{[]string{"freeze"}, `xfer: freezer: x`, "does not name the command freeze"},
		{[]string{"freeze"}, `freeze: x`, `does not start with "xfer: "`},
		{[]string{"finetune"}, `xfer: finetune: --unfreeze-from surgery: bad argument: layer nope`, `package prefix "surgery: "`},
		{[]string{"inspect"}, `xfer: inspect: a.h5 (tensorio: short)`, `package prefix "tensorio: "`},
		{[]string{"export"}, `xfer: export: cannot write out/m.onnx: directory out does not exist`, ""}, // a file name, not a prefix
	}
	for _, tt := range tests {
		got := userLineProblem(t, tt.args, tt.line)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("userLineProblem(%q, %q) = %q; want %q", tt.args, tt.line, got, tt.want)
		}
	}
}
