package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xferml/xfer/model"
)

// usageUntested are the usage messages of the command (usagef calls) that
// TestUsageMessages does not drive, each with the reason.
var usageUntested = map[string]string{
	// writePanels' guard: checkPlotPath refuses the same path before any
	// training ("finetune --plot c.gif" in TestPlotMessages).
	"plot %s: want a .png, .svg or .pdf file": "unreachable behind checkPlotPath",
	// Wrappers of another package's message: their cases are the
	// messages they wrap (--schedule, --augment and the optimizer and
	// callback checks below).
	"%v":           "wraps finetune.ParseSchedule and finetune.CheckConfig",
	"finetune: %v": "wraps dataset.ParseAugment",
}

// TestUsageMessages drives every usage message of the command (issue 14:
// "a command-line test for each message"): each case runs the real command
// and wants its exact line (DIR stands for the test's folder), exit status
// 2. Then it reads the command's sources: a usagef format that no case
// produced, and usageUntested does not excuse, fails, so a new message
// comes with its case.
func TestUsageMessages(t *testing.T) {
	dir, m := messageFixture(t)
	data := "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y.npy")
	o := filepath.Join(dir, "o.h5")
	// A model with a second output, and one with more graph inputs: x2 of
	// unknown width, x3 of int64 (neither read by a layer).
	two := mlp(t)
	two.Outputs = []string{two.Layers[0].Outputs[0], two.Layers[1].Outputs[0]}
	twoOut := writeModel(t, dir, "two_out.xnat", two)
	multi := mlp(t)
	multi.Inputs = append(multi.Inputs, &model.Value{Name: "x2", DType: model.Float32, Shape: []int{-1, -1}})
	multiIn := writeModel(t, dir, "multi_in.xnat", multi)
	ints := mlp(t)
	ints.Inputs = append(ints.Inputs, &model.Value{Name: "x3", DType: model.Int64, Shape: []int{-1, 2}})
	intIn := writeModel(t, dir, "int_in.xnat", ints)
	x := filepath.Join(dir, "x.npy")
	if err := os.Mkdir(filepath.Join(dir, "plot.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	one := mlp(t)
	one.Layers, one.Outputs = one.Layers[:1], one.Layers[0].Outputs
	head := writeModel(t, dir, "head.xnat", one)
	frozen := filepath.Join(dir, "frozen.h5")
	mustXfer(t, dir, "freeze", "--upto", "0", "-m", m, "-o", frozen)

	cases := []struct {
		name string
		args []string
		want string // the line without "xfer: ", DIR for dir
	}{
		// Arguments where a command takes none, or a count it does not take.
		{"add-head argument", []string{"add-head", "--units", "2", "extra"}, `add-head: unexpected argument "extra"`},
		{"clone argument", []string{"clone", "extra"}, `clone: unexpected argument "extra"`},
		{"demo argument", []string{"demo", "extra"}, `demo: unexpected argument "extra"`},
		{"drop-head argument", []string{"drop-head", "extra"}, `drop-head: unexpected argument "extra"`},
		{"evaluate argument", []string{"evaluate", "--data", data, "extra"}, `evaluate: unexpected argument "extra"`},
		{"finetune argument", []string{"finetune", "--data", data, "extra"}, `finetune: unexpected argument "extra"`},
		{"fold-bn argument", []string{"fold-bn", "extra"}, `fold-bn: unexpected argument "extra"`},
		{"freeze argument", []string{"freeze", "--upto", "0", "extra"}, `freeze: unexpected argument "extra"`},
		{"unfreeze argument", []string{"unfreeze", "extra"}, `unfreeze: unexpected argument "extra"`},
		{"inspect argument", []string{"inspect", m}, `inspect: unexpected argument "DIR/m.h5" (use -m FILE to inspect a file)`},
		{"log argument", []string{"log", "extra"}, `log: unexpected argument "extra"`},
		{"undo argument", []string{"undo", "extra"}, `undo: unexpected argument "extra"`},
		{"predict argument", []string{"predict", "--input", x, x}, `predict: unexpected argument "DIR/x.npy" (inputs go with --input)`},
		{"import of two", []string{"import", m, m}, `import: want exactly one FILE, got 2 arguments`},
		{"verify of one", []string{"verify", m}, `verify: want two model files A B, got 1 argument`},
		{"export to two", []string{"export", "-m", m, "a.onnx", "b.onnx"}, `export: want one FILE, got 2 arguments`},
		{"no command", nil, `no command given`},
		{"help of two", []string{"help", "freeze", "export"}, `help: give one command, not 2`},
		{"unknown command", []string{"exprot"}, `unknown command "exprot" (did you mean "export"?)`},
		{"unknown command far from all", []string{"train"}, "unknown command \"train\" (run `xfer --help` for the list)"},
		{"missing required", []string{"evaluate", "-m", m}, "evaluate: missing --data (run `xfer help evaluate` for every flag)"},
		{"completion of nothing", []string{"completion"}, `completion: name the shell: bash, zsh or fish`},
		{"completion of two", []string{"completion", "bash", "zsh"}, `completion: name one shell (bash, zsh or fish), not 2`},
		{"completion typo", []string{"completion", "bsh"}, `completion: unknown shell "bsh" (did you mean bash?)`},
		{"completion unknown", []string{"completion", "tcsh"}, `completion: unknown shell "tcsh" (want bash, zsh or fish)`},

		// Files: where a model comes from and where results go.
		{"--config without -m", []string{"inspect", "--config", "c.json"}, `inspect: --config goes with -m FILE (or with import)`},
		{"-m without -o", []string{"freeze", "--upto", "0", "-m", m}, `freeze: -m FILE needs -o FILE for the result (the input file is never modified)`},
		{"output over input", []string{"freeze", "--upto", "0", "-m", m, "-o", m}, `freeze: the output DIR/m.h5 is the input file DIR/m.h5; inputs are never modified: write the result elsewhere`},
		// finetune checks its outputs before it trains.
		{"output is a folder", []string{"finetune", "--data", data, "-m", m, "-o", o, "--plot", filepath.Join(dir, "plot.png")}, `finetune: --plot DIR/plot.png is a folder; give a file name`},
		{"output folder missing", []string{"finetune", "--data", data, "-m", m, "-o", filepath.Join(dir, "no", "o.h5")}, `finetune: -o DIR/no/o.h5: folder DIR/no does not exist; create it first`},

		// add-head, clone, drop-head, freeze.
		{"add-head --units 0", []string{"add-head", "--units", "0", "-m", m, "-o", o}, `add-head: --units must be at least 1, got 0`},
		{"add-head --pool", []string{"add-head", "--units", "2", "--pool", "mean", "-m", m, "-o", o}, `add-head: --pool "mean": want avg or max`},
		{"add-head --dropout", []string{"add-head", "--units", "2", "--dropout", "1", "-m", m, "-o", o}, `add-head: --dropout 1: want a rate in [0, 1)`},
		{"clone --seed", []string{"clone", "--seed", "3", "-m", m, "-o", o}, `clone: --seed only matters with --reinit`},
		{"drop-head --layers 0", []string{"drop-head", "--layers", "0", "-m", m, "-o", o}, `drop-head: --layers must be at least 1, got 0`},
		{"drop-head --output FILE", []string{"drop-head", "-m", m, "--output", "o.h5"}, `drop-head: --output names the model output to cut at; to write the result to o.h5 use -o o.h5`},
		{"freeze both", []string{"freeze", "--upto", "0", "--all-but-head", "-m", m, "-o", o}, `freeze: give --upto REF or --all-but-head, not both`},
		{"freeze neither", []string{"freeze", "-m", m, "-o", o}, "freeze: missing --upto REF or --all-but-head (run `xfer help freeze` for every flag)"},
		{"freeze --all-but-head of a head", []string{"freeze", "--all-but-head", "-m", head, "-o", o}, `freeze --all-but-head: model "mlp" has one layer, its head: there is nothing else to freeze`},

		// export.
		{"export twice", []string{"export", "-m", m, "-o", o, "a.onnx"}, `export: give the destination once, as FILE or as -o FILE`},
		{"export nowhere", []string{"export", "-m", m}, `export: missing destination FILE (.h5, .keras or .onnx)`},
		{"export --opset to .h5", []string{"export", "-m", m, "--opset", "13", "a.h5"}, `export: --opset applies to .onnx files, not a.h5`},
		{"export --keep-nchw to .onnx", []string{"export", "-m", m, "--keep-nchw", "a.onnx"}, `export: --keep-nchw applies to .h5 and .keras files, not a.onnx`},
		{"export --opset 12", []string{"export", "-m", m, "--opset", "12", "a.onnx"}, `export: --opset 12 is out of range: xfer writes ONNX opsets 13 to 21`},

		// predict.
		{"predict --batch-size 0", []string{"predict", "-m", m, "--input", x, "--batch-size", "0"}, `predict: --batch-size must be at least 1, got 0`},
		{"predict --mc-samples 0", []string{"predict", "-m", m, "--input", x, "--mc-samples", "0"}, `predict: --mc-samples must be between 1 and 100000, got 0`},
		{"predict --mc-samples of two outputs", []string{"predict", "-m", twoOut, "--input", x, "--mc-samples", "2"}, `predict: --mc-samples takes a model with one input and one output`},
		{"predict unnamed input of two", []string{"predict", "-m", multiIn, "--input", x}, `predict: model "mlp" has 2 inputs (x, x2): give each as --input NAME=FILE`},
		{"predict unknown input", []string{"predict", "-m", m, "--input", "pixels=" + x}, `predict: model "mlp" has no input "pixels" (inputs: x)`},
		{"predict input twice", []string{"predict", "-m", m, "--input", "x=" + x, "--input", "x=" + x}, `predict: input "x" given twice`},
		{"predict input missing", []string{"predict", "-m", multiIn, "--input", "x=" + x}, `predict: missing --input for model input "x2" (inputs: x, x2)`},
		{"predict unnamed output of two", []string{"predict", "-m", twoOut, "--input", x, "--output", "y.npy"}, `predict: model "mlp" has 2 outputs (` + two.Outputs[0] + `, ` + two.Outputs[1] + `): give each as --output NAME=FILE`},
		{"predict unknown output", []string{"predict", "-m", m, "--input", x, "--output", "probs=y.npy"}, `predict: model "mlp" has no output "probs" (outputs: ` + mlp(t).Outputs[0] + `)`},
		{"predict output .txt", []string{"predict", "-m", m, "--input", x, "--output", "y.txt"}, `predict: output y.txt: want a .npy or .pb file`},

		// verify.
		{"verify runtime of .h5", []string{"verify", m, m, "--runtime", "onnxruntime"}, `verify: --runtime onnxruntime runs B, which must be an .onnx file, got DIR/m.h5`},
		{"verify unknown runtime", []string{"verify", m, m, "--runtime", "tf"}, `verify: --runtime "tf": want xfer or onnxruntime`},
		{"verify negative tolerance", []string{"verify", m, m, "--atol", "-1"}, `verify: tolerances must be non-negative, got --atol -1 --rtol 0.001`},
		{"verify --batch 0", []string{"verify", m, m, "--batch", "0"}, `verify: --batch must be at least 1, got 0`},
		{"verify unknown width", []string{"verify", multiIn, multiIn}, `verify: input "x2" has shape [-1 -1] with an unknown dim 1: give the data with --input`},
		{"verify int input", []string{"verify", intIn, intIn}, `verify: input "x3" is int64: give the data with --input`},
		{"verify huge batch", []string{"verify", m, m, "--batch", "100000000"}, `verify: --batch 100000000 makes input "x" of shape [100000000 4] more than 268435456 values; use a smaller --batch`},

		// demo.
		{"demo --seed and --seeds", []string{"demo", "--seed", "1", "--seeds", "0-3"}, `demo: give --seed or --seeds, not both`},
		{"demo --seed 0", []string{"demo", "--seed", "0"}, `demo: --seed 0: model A cannot take seed 0 (0 stands for the default, 42); give another seed, or --seeds 0 for B and B on A`},
		{"demo --epochs-scale 0", []string{"demo", "--epochs-scale", "0"}, `demo: --epochs-scale must be in (0, 100], got 0`},
		{"demo --seeds reversed", []string{"demo", "--seeds", "9-1"}, `demo: --seeds "9-1": want a range like 0-9 or a list like 1,2,5`},
		{"demo --seeds range too long", []string{"demo", "--seeds", "0-100000"}, `demo: --seeds "0-100000" is 100001 seeds; at most 1000`},
		{"demo --seeds list too long", []string{"demo", "--seeds", strings.Repeat("1,", 1000) + "1"}, `demo: --seeds lists 1001 seeds; at most 1000`},

		// finetune and evaluate: data flags.
		{"--image-size", []string{"finetune", "--data", data, "--image-size", "0x5", "-m", m, "-o", o}, `finetune: --image-size "0x5": want HxW in pixels, e.g. 96x96`},
		{"--color-mode", []string{"evaluate", "--data", data, "--color-mode", "cmyk", "-m", m}, `evaluate: --color-mode "cmyk": want rgb or grayscale`},
		{"--cache-mb", []string{"finetune", "--data", data, "--cache-mb", "-1", "-m", m, "-o", o}, `finetune: --cache-mb -1: want 0 or more`},
		{"--rescale", []string{"evaluate", "--data", data, "--rescale", "a", "-m", m}, `evaluate: --rescale "a": "a" is not a number`},
		{"--rescale 0", []string{"evaluate", "--data", data, "--rescale", "0", "-m", m}, `evaluate: --rescale "0": a scale of 0 erases the inputs`},
		{"--rescale 1/0", []string{"evaluate", "--data", data, "--rescale", "1/0", "-m", m}, `evaluate: --rescale "1/0": "1/0" is not a fraction`},
		{"bad boolean", []string{"inspect", "--json=maybe", "-m", m}, `inspect: --json=maybe: want true or false (or the flag alone)`},
		{"bad number", []string{"drop-head", "--layers", "two", "-m", m}, `drop-head: --layers two: want a whole number`},
		{"flag without value", []string{"drop-head", "-m", m, "--layers"}, "drop-head: --layers needs a value (run `xfer help drop-head`)"},
		{"unknown flag", []string{"freeze", "--up-to", "3"}, `freeze: unknown flag --up-to (did you mean --upto?)`},
		{"unknown flag far from all", []string{"freeze", "--everything"}, "freeze: unknown flag --everything (run `xfer help freeze` for its flags)"},
		{"--loss", []string{"evaluate", "--data", data, "--loss", "hinge", "-m", m}, `evaluate: --loss "hinge": want one of sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy, mse`},
		{"evaluate --metrics", []string{"evaluate", "--data", data, "--metrics", "f1", "-m", m}, `evaluate: --metrics: metric "f1" (want precision, recall, auc or top_K)`},

		// finetune's own flags.
		{"--epochs 0", []string{"finetune", "--data", data, "--epochs", "0", "-m", m, "-o", o}, `finetune: --epochs must be at least 1, got 0`},
		{"--batch-size 0", []string{"finetune", "--data", data, "--batch-size", "0", "-m", m, "-o", o}, `finetune: --batch-size must be at least 1, got 0`},
		{"--learning-rate 0", []string{"finetune", "--data", data, "--learning-rate", "0", "-m", m, "-o", o}, `finetune: --learning-rate must be positive, got 0`},
		{"--momentum 1", []string{"finetune", "--data", data, "--momentum", "1", "-m", m, "-o", o}, `finetune: --momentum must be in [0, 1), got 1`},
		{"--nesterov alone", []string{"finetune", "--data", data, "--nesterov", "-m", m, "-o", o}, `finetune: --nesterov needs --momentum`},
		{"--unfreeze-after too late", []string{"finetune", "--data", data, "--epochs", "2", "--unfreeze-after", "2", "-m", m, "-o", o}, `finetune: --unfreeze-after 2 must be between 1 and --epochs - 1 (1)`},
		{"--unfreeze-from alone", []string{"finetune", "--data", data, "--unfreeze-from", "1", "-m", m, "-o", o}, `finetune: --unfreeze-from goes with --unfreeze-after`},
		{"--learning-rate-after alone", []string{"finetune", "--data", data, "--learning-rate-after", "0.1", "-m", m, "-o", o}, `finetune: --learning-rate-after goes with --unfreeze-after`},
		{"--optimizer", []string{"finetune", "--data", data, "--optimizer", "lamb", "-m", m, "-o", o}, `finetune: --optimizer "lamb": want one of sgd, adam, adagrad, rmsprop, nadam, adamw`},
		{"--bn-mode", []string{"finetune", "--data", data, "--bn-mode", "frozen", "-m", m, "-o", o}, `finetune: --bn-mode "frozen": want inference, batch or auto`},
		{"--save-best-only alone", []string{"finetune", "--data", data, "--save-best-only", "-m", m, "-o", o}, `finetune: --save-best-only goes with --checkpoint FILE`},
		{"--validation-split 1", []string{"finetune", "--data", data, "--validation-split", "1", "-m", m, "-o", o}, `finetune: --validation-split 1: want a fraction between 0 and 1`},
		{"--validation and split", []string{"finetune", "--data", data, "--validation-split", "0.2", "--validation", data, "-m", m, "-o", o}, `finetune: give --validation SPEC or --validation-split F, not both`},
		{"--clip-norm 0", []string{"finetune", "--data", data, "--clip-norm", "0", "-m", m, "-o", o}, `finetune: --clip-norm must be positive, got 0`},
		{"two clip rules", []string{"finetune", "--data", data, "--clip-value", "1", "--clip-norm", "1", "-m", m, "-o", o}, `finetune: give at most one of --clip-value, --clip-norm, --global-clip-norm (Keras allows only one)`},
		{"--checkpoint .txt", []string{"finetune", "--data", data, "--checkpoint", "c.txt", "-m", m, "-o", o}, `finetune: --checkpoint: cannot tell the format to write c.txt from its extension (use one of .h5, .hdf5, .keras, .onnx, .xnat)`},
		{"--checkpoint is -o", []string{"finetune", "--data", data, "--checkpoint", o, "-m", m, "-o", o}, `finetune: --checkpoint and -o name the same file DIR/o.h5; give the checkpoint its own`},
		{"--plot .gif", []string{"finetune", "--data", data, "--plot", "c.gif", "-m", m, "-o", o}, `finetune: --plot c.gif: want a .png, .svg or .pdf file`},
		{"--schedule", []string{"finetune", "--data", data, "--schedule", "cosine:3", "-m", m, "-o", o}, `finetune: schedule "cosine:3": want exponential:STEPS:RATE[:staircase], piecewise:B1,B2,..:V0,V1,.., power:S[:C] or 1cycle:MAX_RATE`},
		{"--augment", []string{"finetune", "--data", data, "--augment", "rotate=2", "-m", m, "-o", o}, `finetune: --augment "rotate=2": rotate: factor "2" outside (-1, 1]`},
		{"--unfreeze-from unknown", []string{"finetune", "--data", data, "--epochs", "2", "--unfreeze-after", "1", "--unfreeze-from", "nope", "-m", frozen, "-o", o}, `finetune: --unfreeze-from nope: layer nope: model "mlp" has no layer called "nope" (its layers: dense, dense_1)`},
		{"--unfreeze-after, nothing frozen", []string{"finetune", "--data", data, "--epochs", "2", "--unfreeze-after", "1", "-m", m, "-o", o},
			"finetune: --unfreeze-after 1: nothing in the model is frozen, so there is nothing to unfreeze; freeze first (xfer freeze --upto N or --all-but-head) or leave --unfreeze-after out"},
	}
	if os.Geteuid() != 0 { // root writes anywhere: the check cannot fail for it
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct {
			name string
			args []string
			want string
		}{"output folder read-only", []string{"freeze", "--upto", "0", "-m", m, "-o", filepath.Join(ro, "o.h5")}, `freeze: -o DIR/ro/o.h5: folder DIR/ro is not writable: `})
	} else {
		usageUntested["%s: %s %s: folder %s is not writable: %v"] = "the tests run as root, who may write in any folder"
	}

	var lines []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := xfer(t, dir, c.args...)
			line := strings.ReplaceAll(strings.TrimSuffix(stderr, "\n"), dir, "DIR")
			lines = append(lines, line)
			cmd := "xfer " + strings.Join(c.args, " ")
			if code != 2 || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("%s: exit %d; want 2 and one line; stderr:\n%s", cmd, code, stderr)
			}
			if want := "xfer: " + c.want; line != want {
				t.Errorf("%s:\n got %s\nwant %s", cmd, line, want)
			}
			if p := userLineProblem(t, c.args, strings.TrimSuffix(stderr, "\n")); p != "" {
				t.Errorf("%s: %q: %s", cmd, line, p)
			}
			if c.args != nil && stdout != "" {
				t.Errorf("%s: exit 2 with output on stdout:\n%s", cmd, stdout)
			}
		})
	}
	if t.Failed() {
		return
	}
	// Every usage message of the command has a case.
	for _, f := range usageFormats(t) {
		if _, ok := usageUntested[f]; ok {
			continue
		}
		re := formatRegexp(f)
		found := false
		for _, l := range lines {
			found = found || re.MatchString(l)
		}
		if !found {
			t.Errorf("usage message %q has no case in TestUsageMessages (and usageUntested gives no reason)", f)
		}
	}
}

// TestVerifyMessages: verify's own refusals of two models that cannot be
// compared, exit 1, and its verdict on two that differ.
func TestVerifyMessages(t *testing.T) {
	dir, m := messageFixture(t)
	two := mlp(t)
	two.Outputs = []string{two.Layers[0].Outputs[0], two.Layers[1].Outputs[0]}
	twoOut := writeModel(t, dir, "two_out.xnat", two)
	multi := mlp(t)
	multi.Inputs = append(multi.Inputs, &model.Value{Name: "x2", DType: model.Float32, Shape: []int{-1, 4}})
	multiIn := writeModel(t, dir, "multi_in.xnat", multi)
	one := mlp(t)
	one.Layers, one.Outputs = one.Layers[:1], one.Layers[0].Outputs
	body := writeModel(t, dir, "body.xnat", one)
	other := filepath.Join(dir, "other.xnat")
	mustXfer(t, dir, "clone", "--reinit", "--seed", "9", "-m", m, "-o", other)
	checkMessages(t, dir, []messageCase{
		{name: "inputs", args: []string{"verify", m, multiIn}, code: 1, stderr: []string{"xfer: verify: A has 1 input, B has 2\n"}},
		{name: "outputs", args: []string{"verify", m, twoOut}, code: 1, stderr: []string{"xfer: verify: A has 1 output, B has 2\n"}},
		{name: "shapes", args: []string{"verify", m, body}, code: 1, stderr: []string{"xfer: verify: output 0: A's shape [8 2], B's [8 3]\n"}},
		{name: "different numbers", args: []string{"verify", m, other}, code: 1, stdout: []string{"FAIL"},
			stderr: []string{"xfer: verify: " + m + " and " + other + " differ by up to ", "above atol 1e-05 + rtol 0.001\n"}},
	})
}

// usageFormats returns the format of every usagef call in the command's
// non-test sources.
func usageFormats(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "usagef" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: usagef with a format that is not a literal", fset.Position(call.Pos()))
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
			return true
		})
	}
	if len(out) < 50 {
		t.Fatalf("found %d usagef calls in %v; want the command's (more than 50)", len(out), files)
	}
	return out
}

// formatRegexp matches what a Printf format prints: its text, each verb
// standing for anything.
func formatRegexp(format string) *regexp.Regexp {
	verb := regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)
	parts := verb.Split(format, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(strings.Join(parts, ".*"))
}
