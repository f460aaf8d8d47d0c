package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/surgery"
)

// Flag parsing, command by command, with the run functions replaced.

func TestParseFreeze(t *testing.T) {
	tests := []struct {
		args []string
		want *freezeOptions
		code int
	}{
		{[]string{"--upto", "5"}, &freezeOptions{upto: "5"}, 0},
		{[]string{"--upto", "5", "-m", "a.h5", "-o", "b.h5"}, &freezeOptions{upto: "5", src: source{file: "a.h5"}, out: "b.h5"}, 0},
		{[]string{"-m", "a.h5", "--upto=2", "--output", "b.onnx"}, &freezeOptions{upto: "2", src: source{file: "a.h5"}, out: "b.onnx"}, 0},
		{[]string{}, nil, 2}, // --upto is required
		{[]string{"--upto", "base:-20"}, &freezeOptions{upto: "base:-20"}, 0}, // a reference, resolved against the model
		{[]string{"--upto", "1", "extra"}, nil, 2},
		{[]string{"--bogus"}, nil, 2},
	}
	for _, tt := range tests {
		got, code, stderr := parseOnly(t, newFreezeCmd, tt.args...)
		if code != tt.code {
			t.Errorf("freeze %v: exit %d; want %d (stderr %q)", tt.args, code, tt.code, stderr)
			continue
		}
		if tt.want != nil {
			got.e = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("freeze %v = %+v; want %+v", tt.args, got, tt.want)
			}
		}
	}
}

func TestParseUnfreezeDefault(t *testing.T) {
	got, code, _ := parseOnly(t, newUnfreezeCmd)
	if code != 0 || got.from != "0" {
		t.Errorf("unfreeze: exit %d, from %q; want 0, \"0\" (all layers)", code, got.from)
	}
}

func TestParseAddHead(t *testing.T) {
	got, code, stderr := parseOnly(t, newAddHeadCmd, "--units", "1", "--activation", "sigmoid", "--seed", "7", "--name", "head")
	if code != 0 {
		t.Fatalf("add-head: exit %d: %s", code, stderr)
	}
	want := surgery.HeadSpec{Units: 1, Activation: "sigmoid", KernelInitializer: "glorot_uniform", Name: "head"}
	if got.spec != want || got.seed != 7 {
		t.Errorf("add-head spec = %+v seed %d; want %+v seed 7", got.spec, got.seed, want)
	}
	for _, args := range [][]string{
		{"--activation", "sigmoid"},                  // no --units
		{"--units", "0", "--activation", "sigmoid"},  // units < 1
		{"--units", "-3", "--activation", "sigmoid"}, // units < 1
		{"--units", "2", "--pool", "mean"},           // avg or max
		{"--units", "2", "--dropout", "1"},           // a rate in [0, 1)
		{"--units", "2", "--loss", "hinge"},          // not a loss xfer trains with
	} {
		if _, code, _ := parseOnly(t, newAddHeadCmd, args...); code != 2 {
			t.Errorf("add-head %v: exit %d; want 2", args, code)
		}
	}
	// The activation: --activation, else the one --loss calls for, else
	// Keras's linear.
	for _, tt := range []struct {
		args []string
		want surgery.HeadSpec
	}{
		{[]string{"--units", "2"}, surgery.HeadSpec{Units: 2, Activation: "linear", KernelInitializer: "glorot_uniform"}},
		{[]string{"--units", "3", "--loss", "sparse_categorical_crossentropy"}, surgery.HeadSpec{Units: 3, Activation: "softmax", KernelInitializer: "glorot_uniform"}},
		{[]string{"--units", "3", "--loss", "categorical_crossentropy"}, surgery.HeadSpec{Units: 3, Activation: "softmax", KernelInitializer: "glorot_uniform"}},
		{[]string{"--units", "1", "--loss", "binary_crossentropy"}, surgery.HeadSpec{Units: 1, Activation: "sigmoid", KernelInitializer: "glorot_uniform"}},
		{[]string{"--units", "1", "--loss", "mse", "--activation", "relu"}, surgery.HeadSpec{Units: 1, Activation: "relu", KernelInitializer: "glorot_uniform"}},
		{[]string{"--units", "4", "--pool", "max", "--flatten", "--dropout", "0.2"}, surgery.HeadSpec{Units: 4, Activation: "linear", KernelInitializer: "glorot_uniform", Pool: "max", Flatten: true, Dropout: 0.2}},
	} {
		got, code, stderr := parseOnly(t, newAddHeadCmd, tt.args...)
		if code != 0 || got.spec != tt.want {
			t.Errorf("add-head %v: exit %d (%s), spec %+v; want %+v", tt.args, code, stderr, got.spec, tt.want)
		}
	}
}

func TestParseDropHead(t *testing.T) {
	got, code, _ := parseOnly(t, newDropHeadCmd)
	if code != 0 || got.layers != 1 || got.output != "" {
		t.Errorf("drop-head defaults: exit %d, %+v; want layers 1", code, got)
	}
	got, code, _ = parseOnly(t, newDropHeadCmd, "--layers", "2", "--output", "y", "-o", "out.h5")
	if code != 0 || got.layers != 2 || got.output != "y" || got.out != "out.h5" {
		t.Errorf("drop-head --layers 2 --output y -o out.h5: exit %d, %+v", code, got)
	}
	// --output is the model output to cut at: a file name there is a mistake.
	if _, code, stderr := parseOnly(t, newDropHeadCmd, "--output", "out.h5"); code != 2 {
		t.Errorf("drop-head --output out.h5: exit %d (%s); want 2", code, stderr)
	}
	if _, code, _ := parseOnly(t, newDropHeadCmd, "--layers", "0"); code != 2 {
		t.Errorf("drop-head --layers 0: exit %d; want 2", code)
	}
}

func TestParseClone(t *testing.T) {
	got, code, _ := parseOnly(t, newCloneCmd, "--reinit", "--seed", "3")
	if code != 0 || !got.reinit || got.seed != 3 {
		t.Errorf("clone --reinit --seed 3: exit %d, %+v", code, got)
	}
	if _, code, _ := parseOnly(t, newCloneCmd, "--seed", "3"); code != 2 {
		t.Errorf("clone --seed without --reinit: exit %d; want 2", code)
	}
}

func TestParsePredict(t *testing.T) {
	got, code, _ := parseOnly(t, newPredictCmd, "--input", "a=x.npy", "--input", "b=y,z.npy", "--output", "out.npy", "--batch-size", "4")
	if code != 0 || !reflect.DeepEqual(got.inputs, []string{"a=x.npy", "b=y,z.npy"}) || got.batchSize != 4 {
		t.Errorf("predict: exit %d, %+v", code, got)
	}
	got, _, _ = parseOnly(t, newPredictCmd, "--input", "x.npy", "--output", "y.npy")
	if got.batchSize != defaultBatchSize {
		t.Errorf("predict default batch = %d; want %d", got.batchSize, defaultBatchSize)
	}
	// Without --output the predictions are printed.
	if got, code, _ := parseOnly(t, newPredictCmd, "--input", "x.npy"); code != 0 || len(got.outputs) != 0 {
		t.Errorf("predict --input x.npy: exit %d, outputs %v; want 0 and none", code, got.outputs)
	}
	for _, args := range [][]string{{"--output", "y.npy"}, {"--input", "x.npy", "--output", "y.npy", "--batch-size", "0"}} {
		if _, code, _ := parseOnly(t, newPredictCmd, args...); code != 2 {
			t.Errorf("predict %v: exit %d; want 2", args, code)
		}
	}
}

func TestParseExport(t *testing.T) {
	tests := []struct {
		args  []string
		out   string
		opset int
		code  int
	}{
		{[]string{"m.onnx"}, "m.onnx", 0, 0},
		{[]string{"m.onnx", "--opset", "13"}, "m.onnx", 13, 0},
		{[]string{"-m", "in.h5", "-o", "out.keras"}, "out.keras", 0, 0},
		{[]string{"m.onnx", "--opset", "12"}, "", 0, 2},
		{[]string{"m.onnx", "--opset", "22"}, "", 0, 2},
		{[]string{"m.pt"}, "", 0, 2},
		{[]string{"m.h5", "--opset", "13"}, "", 0, 2},
		{[]string{}, "", 0, 2},
		{[]string{"a.h5", "-o", "b.h5"}, "", 0, 2},
	}
	for _, tt := range tests {
		got, code, stderr := parseOnly(t, newExportCmd, tt.args...)
		if code != tt.code || (code == 0 && (got.out != tt.out || got.opset != tt.opset)) {
			t.Errorf("export %v: exit %d %+v (%s); want exit %d out %q opset %d", tt.args, code, got, stderr, tt.code, tt.out, tt.opset)
		}
	}
}

func TestParseVerify(t *testing.T) {
	got, code, _ := parseOnly(t, newVerifyCmd, "a.h5", "b.onnx", "--runtime", "onnxruntime", "--atol", "1e-6", "--json")
	if code != 0 || got.a != "a.h5" || got.b != "b.onnx" || got.runtime != "onnxruntime" || got.atol != 1e-6 || got.rtol != defaultRTol || !got.json || got.batch != verifyBatch {
		t.Errorf("verify: exit %d, %+v", code, got)
	}
	for _, args := range [][]string{
		{"a.h5"},
		{"a.h5", "b.h5", "--runtime", "onnxruntime"}, // B must be .onnx
		{"a.h5", "b.onnx", "--runtime", "tvm"},
		{"a.h5", "b.onnx", "--atol", "-1"},
	} {
		if _, code, _ := parseOnly(t, newVerifyCmd, args...); code != 2 {
			t.Errorf("verify %v: exit %d; want 2", args, code)
		}
	}
}

func TestParseFinetune(t *testing.T) {
	got, code, stderr := parseOnly(t, newFinetuneCmd, "--data", "fashion-mnist:B", "--epochs", "20", "--unfreeze-after", "4",
		"--learning-rate", "1e-3", "--learning-rate-after", "1e-4", "--unfreeze-from", "2", "--batch-size", "32", "--seed", "42",
		"--clip-norm", "1", "--momentum", "0.9", "--nesterov", "--json", "--plot", "c.png", "-o", "out.h5")
	if code != 0 {
		t.Fatalf("finetune: exit %d: %s", code, stderr)
	}
	c := got.cfg
	if c.Epochs != 20 || c.UnfreezeAfter != 4 || got.unfreezeFrom != "2" || c.LearningRate != 1e-3 || c.LearningRateAfter != 1e-4 ||
		c.BatchSize != 32 || c.Seed != 42 || c.ClipNorm != 1 || c.Momentum != 0.9 || !c.Nesterov || !got.json || got.plot != "c.png" || got.out != "out.h5" {
		t.Errorf("finetune cfg = %+v, opts %+v", c, got)
	}
	if got.validation != "fashion-mnist:B:valid" {
		t.Errorf("finetune default validation = %q; want fashion-mnist:B:valid", got.validation)
	}
	got, _, _ = parseOnly(t, newFinetuneCmd, "--data", "x", "--bn-mode", "auto", "--no-feature-cache")
	if got.cfg.BNMode != "auto" || got.cfg.FeatureCache != "off" {
		t.Errorf("finetune --bn-mode auto --no-feature-cache: BNMode %q FeatureCache %q; want auto, off", got.cfg.BNMode, got.cfg.FeatureCache)
	}
	got, _, _ = parseOnly(t, newFinetuneCmd, "--data", "npy:x.npy,y.npy")
	// Learning rate 0: the optimizer's Keras default (finetune.Config).
	if got.validation != "" || got.cfg.LearningRate != 0 || got.cfg.BatchSize != 32 {
		t.Errorf("finetune npy defaults: validation %q lr %g batch %d; want none, 0 (the optimizer's default), 32", got.validation, got.cfg.LearningRate, got.cfg.BatchSize)
	}
	for _, args := range [][]string{
		{"--epochs", "3"}, // no --data
		{"--data", "x", "--clip-value", "1", "--clip-norm", "1"},
		{"--data", "x", "--clip-norm", "0"},
		{"--data", "x", "--epochs", "0"},
		{"--data", "x", "--epochs", "4", "--unfreeze-after", "4"},
		{"--data", "x", "--unfreeze-from", "2"},
		{"--data", "x", "--nesterov"},
		{"--data", "x", "--momentum", "1.5"},
		{"--data", "x", "--optimizer", "lamb"},
		{"--data", "x", "--bn-mode", "frozen"},
	} {
		if _, code, _ := parseOnly(t, newFinetuneCmd, args...); code != 2 {
			t.Errorf("finetune %v: exit %d; want 2", args, code)
		}
	}
}

func TestParseEvaluate(t *testing.T) {
	got, code, _ := parseOnly(t, newEvaluateCmd, "--data", "fashion-mnist:A:test", "--json", "--data-dir", "/d")
	if code != 0 || got.data != "fashion-mnist:A:test" || !got.json || got.ds.opts.DataDir != "/d" {
		t.Errorf("evaluate: exit %d, %+v", code, got)
	}
	if _, code, _ := parseOnly(t, newEvaluateCmd); code != 2 {
		t.Errorf("evaluate without --data: exit %d; want 2", code)
	}
}

func TestParseImport(t *testing.T) {
	got, code, _ := parseOnly(t, newImportCmd, "w.h5", "--config", "model.json")
	if code != 0 || got.file != "w.h5" || got.config != "model.json" {
		t.Errorf("import: exit %d, %+v", code, got)
	}
	if _, code, _ := parseOnly(t, newImportCmd); code != 2 {
		t.Errorf("import without FILE: exit %d; want 2", code)
	}
}

func TestInterspersed(t *testing.T) {
	app := newApp(&env{})
	tests := []struct{ in, want []string }{
		{[]string{"xfer", "verify", "a", "b", "--json", "--atol", "1"}, []string{"xfer", "verify", "--json", "--atol", "1", "a", "b"}},
		{[]string{"xfer", "import", "a.h5", "--config=c.json"}, []string{"xfer", "import", "--config=c.json", "a.h5"}},
		{[]string{"xfer", "export", "--", "-odd.h5"}, []string{"xfer", "export", "--", "-odd.h5"}},
		{[]string{"xfer", "nope", "x", "-y"}, []string{"xfer", "nope", "x", "-y"}},
	}
	for _, tt := range tests {
		if got := interspersed(app, tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("interspersed(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	_, stderr, code := xfer(t, t.TempDir(), "bogus")
	if code != 2 || stderr != "xfer: unknown command \"bogus\" (run `xfer --help` for the list)\n" {
		t.Errorf("xfer bogus: exit %d, stderr %q; want 2 and one line", code, stderr)
	}
}

func TestParseDemo(t *testing.T) {
	got, code, stderr := parseOnly(t, newDemoCmd, "--out", "d", "--json", "--seeds", "0-9", "--epochs-scale", "0.1", "--hidden-init", "lecun_normal", "--data-dir", "/x")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	o := got.opts
	if o.Out != "d" || !got.json || len(o.Seeds) != 10 || o.Seeds[9] != 9 || o.EpochsScale != 0.1 || o.HiddenInit != "lecun_normal" || o.Data.DataDir != "/x" {
		t.Errorf("demo options = %+v", o)
	}
	got, _, _ = parseOnly(t, newDemoCmd, "--seed", "7")
	if got.opts.Seed != 7 || got.opts.Seeds != nil || got.opts.EpochsScale != 1 {
		t.Errorf("demo --seed 7 = %+v", got.opts)
	}
	// The default the help shows is the seed the run gets.
	if got, _, _ = parseOnly(t, newDemoCmd); got.opts.Seed != 42 {
		t.Errorf("demo without --seed: seed %d; want 42 (the notebook's, as --help says)", got.opts.Seed)
	}
	for _, args := range [][]string{
		{"--seed", "0"}, // demo.Options would read it as 42
		{"--seed", "1", "--seeds", "0-3"},
		{"--seeds", "5-1"},
		{"--seeds", "a,b"},
		{"--seeds", "0-5000"},
		{"--epochs-scale", "0"},
		{"extra"},
	} {
		if _, code, _ := parseOnly(t, newDemoCmd, args...); code != 2 {
			t.Errorf("demo %v: exit %d; want 2", args, code)
		}
	}
}

func TestParseSeeds(t *testing.T) {
	tests := map[string][]int64{"0-3": {0, 1, 2, 3}, "1,2,5": {1, 2, 5}, "7": {7}, "-1": {-1}}
	for in, want := range tests {
		if got, err := parseSeeds(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseSeeds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestClock(t *testing.T) {
	if got := clock("1700000000")(); !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("clock(1700000000)() = %v; want 2023-11-14T22:13:20Z", got)
	}
	for _, s := range []string{"", "soon"} {
		if got := clock(s)(); time.Since(got) > time.Minute {
			t.Errorf("clock(%q)() = %v; want the wall clock", s, got)
		}
	}
}

func TestMemorySize(t *testing.T) {
	// Figures from Keras 3's model.summary() in ../shared/interop/keras3/README.md.
	tests := map[int]string{52650: "205.66 KB", 0: "0.00 B", 23: "92.00 B", 276158: "1.05 MB"}
	for n, want := range tests {
		if got := memorySize(n); got != want {
			t.Errorf("memorySize(%d) = %q; want %q", n, got, want)
		}
	}
}

// TestPanicIsOneLine: a panic in a command (a bug) still ends in exit 1
// and one "xfer: internal error" line, not a Go trace.
func TestPanicIsOneLine(t *testing.T) {
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, args: []string{"xfer", "boom"}}
	app := newApp(e)
	app.Commands = append(app.Commands, &cli.Command{Name: "boom", Action: func(*cli.Context) error {
		var m map[string]int
		m["x"]++ // nil map write
		return nil
	}})
	code := e.runApp(context.Background(), app)
	got := errb.String()
	if code != 1 || strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "xfer: internal error: assignment to entry in nil map") || strings.Contains(got, "goroutine") {
		t.Errorf("panicking command: exit %d, stderr %q; want 1 and one internal-error line", code, got)
	}
}
