package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/workspace"
)

// The run functions on a small model, in file mode and in a workspace.

// TestNoWorkspace: a workspace command run where there is none says to
// import a model first, or, for a command that also reads a model file, to
// name one with -m.
func TestNoWorkspace(t *testing.T) {
	dir := t.TempDir()
	const hint = "no workspace: run `xfer import FILE` first"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect"}, hint + ", or name a model file with -m FILE"},
		{[]string{"freeze", "--upto", "0"}, hint + ", or name a model file with -m FILE"},
		{[]string{"predict", "--input", "x.npy"}, hint + ", or name a model file with -m FILE"},
		{[]string{"log"}, hint + ", or name a model file with -m FILE for the history it carries"},
		{[]string{"undo"}, hint},
	} {
		_, stderr, code := xfer(t, dir, tt.args...)
		if want := "xfer: " + tt.args[0] + ": " + tt.want + "\n"; code != 2 || stderr != want {
			t.Errorf("xfer %v without a workspace: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, want)
		}
	}
}

func TestFileModeFreeze(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	before := readFile(t, in)
	out := filepath.Join(dir, "out.xnat")
	mustXfer(t, dir, "freeze", "--upto", "0", "-m", in, "-o", out)
	if !bytes.Equal(readFile(t, in), before) {
		t.Errorf("freeze -m %s modified its input", in)
	}
	m, err := formats.Read(out, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Layers[0].Trainable || !m.Layers[1].Trainable {
		t.Errorf("freeze --upto 0: trainable = %v, %v; want false, true", m.Layers[0].Trainable, m.Layers[1].Trainable)
	}
	if len(m.History) != 1 {
		t.Fatalf("history = %+v; want one freeze event", m.History)
	}
	ev := m.History[0]
	src, _ := formats.Read(in, formats.Options{})
	if ev.Op != "freeze" || ev.Args != "--upto 0 -m "+in+" -o "+out || ev.Time != "2026-11-27T12:00:00Z" || ev.Before != native.Digest(src) || ev.After != native.Digest(m) {
		t.Errorf("history event = %+v", ev)
	}
	if _, err := workspace.Open(dir); err == nil {
		t.Errorf("file mode created a workspace in %s", dir)
	}
	// -m without -o is a usage error; so are --upto out of range either way.
	for _, args := range [][]string{
		{"freeze", "--upto", "0", "-m", in},
		{"freeze", "--upto", "2", "-m", in, "-o", out},
		{"freeze", "--upto", "-3", "-m", in, "-o", out},
		{"freeze", "--upto", "0", "-m", in, "-o", filepath.Join(dir, "x.pt")},
	} {
		_, stderr, code := xfer(t, dir, args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("xfer %v: exit %d, stderr %q; want 2 and one line", args, code, stderr)
		}
	}
	_, stderr, _ := xfer(t, dir, "freeze", "--upto", "2", "-m", in, "-o", out)
	if !strings.Contains(stderr, "2 layers") {
		t.Errorf("freeze --upto 2 on 2 layers: %q; want the layer count named", stderr)
	}
	// A missing input file is a runtime error.
	if _, _, code := xfer(t, dir, "inspect", "-m", filepath.Join(dir, "missing.h5")); code != 1 {
		t.Errorf("inspect -m missing.h5: exit %d; want 1", code)
	}
}

func TestWorkspaceSurgeryAndUndo(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	mustXfer(t, dir, "import", in)
	export := func(name string) []byte {
		p := filepath.Join(dir, name)
		mustXfer(t, dir, "export", p)
		return readFile(t, p)
	}
	snap := [][]byte{export("s0.xnat")}
	steps := [][]string{
		{"freeze", "--upto", "0"},
		{"unfreeze"},
		{"drop-head"},
		{"add-head", "--units", "1", "--activation", "sigmoid", "--seed", "1"},
		{"clone", "--reinit", "--seed", "2"},
	}
	for i, s := range steps {
		mustXfer(t, dir, s...)
		snap = append(snap, export(filepath.Join("", "s"+string(rune('1'+i))+".xnat")))
	}
	log := mustXfer(t, dir, "log")
	for _, s := range append([][]string{{"import"}}, steps...) {
		if !strings.Contains(log, "xfer "+strings.Join(s, " ")) {
			t.Errorf("log lacks %q:\n%s", strings.Join(s, " "), log)
		}
	}
	var j []workspace.Entry
	if err := json.Unmarshal([]byte(mustXfer(t, dir, "log", "--json")), &j); err != nil || len(j) != len(steps)+1 {
		t.Fatalf("log --json = %v entries, %v; want %d", len(j), err, len(steps)+1)
	}
	for i := 1; i < len(j); i++ {
		if j[i].Before != j[i-1].After {
			t.Errorf("journal entry %d before %s; want the previous after %s", i, j[i].Before, j[i-1].After)
		}
	}
	// Undo each step: the export equals the one made before it, byte for byte.
	for i := len(steps); i >= 1; i-- {
		mustXfer(t, dir, "undo")
		if got := export("u.xnat"); !bytes.Equal(got, snap[i-1]) {
			t.Errorf("after undoing %v, export differs from before it", steps[i-1])
		}
	}
	if _, stderr, code := xfer(t, dir, "undo"); code != 1 || !strings.Contains(stderr, "nothing to undo") {
		t.Errorf("undo past import: exit %d, %q; want 1, nothing to undo", code, stderr)
	}
}

func TestAddHeadResult(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	headless := filepath.Join(dir, "headless.xnat")
	out := filepath.Join(dir, "out.xnat")
	mustXfer(t, dir, "drop-head", "-m", in, "-o", headless)
	mustXfer(t, dir, "add-head", "-m", headless, "-o", out, "--units", "1", "--activation", "sigmoid", "--seed", "5")
	m, err := formats.Read(out, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	js := mustXfer(t, dir, "inspect", "--json", "-m", out)
	var s modelSummary
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	// dense: 4*3+3 = 15; new head: 3*1+1 = 4.
	if s.TotalParams != 19 || s.TrainableParams != 19 || len(s.Layers) != 2 || s.Layers[1].Type != "Dense" {
		t.Errorf("inspect after drop-head, add-head = %+v; want 2 layers, 19 params", s)
	}
	if len(m.History) != 2 || m.History[0].Op != "drop-head" || m.History[1].Op != "add-head" {
		t.Errorf("history = %+v; want drop-head then add-head", m.History)
	}
	if m.History[1].Before != m.History[0].After {
		t.Errorf("add-head before %s; want drop-head's after %s", m.History[1].Before, m.History[0].After)
	}
	// The history travels in exported files and log -m shows it.
	for _, ext := range []string{".h5", ".keras", ".onnx"} {
		p := filepath.Join(dir, "out"+ext)
		mustXfer(t, dir, "export", "-m", out, "-o", p)
		log := mustXfer(t, dir, "log", "-m", p)
		if !strings.Contains(log, "xfer drop-head -m") || !strings.Contains(log, "xfer add-head -m") {
			t.Errorf("log -m %s =\n%s\nwant drop-head and add-head", p, log)
		}
	}
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	out := mustXfer(t, dir, "inspect", "-m", in)
	want := `Model: "mlp"
Input: x (None, 4)
#  Layer (type)     Output Shape  Activation  Param #  Trainable
0  dense (Dense)    (None, 3)     relu        15       Y
1  dense_1 (Dense)  (None, 2)     softmax     8        Y
Total params: 23 (92.00 B)
Trainable params: 23 (92.00 B)
Non-trainable params: 0 (0.00 B)
`
	if out != want {
		t.Errorf("inspect =\n%s\nwant\n%s", out, want)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(mustXfer(t, dir, "inspect", "--json", "-m", in)), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"inputs", "layers", "total_params", "trainable_params", "non_trainable_params"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("inspect --json lacks key %q", k)
		}
	}
	row := raw["layers"].([]any)[0].(map[string]any)
	for _, k := range []string{"index", "name", "type", "output_shape", "params", "trainable"} {
		if _, ok := row[k]; !ok {
			t.Errorf("inspect --json layer lacks key %q", k)
		}
	}
	if shape := row["output_shape"].([]any); shape[0] != nil || shape[1] != 3.0 {
		t.Errorf("output_shape = %v; want [null 3]", shape)
	}
}

func TestPredictBatching(t *testing.T) {
	dir := t.TempDir()
	m := mlp(t)
	in := writeModel(t, dir, "in.xnat", m)
	x := &model.Tensor{DType: model.Float32, Shape: []int{7, 4}, F32: make([]float32, 28)}
	for i := range x.F32 {
		x.F32[i] = float32(math.Sin(float64(i)))
	}
	xp := filepath.Join(dir, "x.npy")
	if err := tensorio.WriteNPY(xp, x); err != nil {
		t.Fatal(err)
	}
	s, err := engine.New(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	for _, bs := range []string{"1", "3", "7", "32"} {
		yp := filepath.Join(dir, "y"+bs+".npy")
		mustXfer(t, dir, "predict", "-m", in, "--input", xp, "--output", yp, "--batch-size", bs)
		got, err := tensorio.ReadFile(yp)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Shape) != 2 || got.Shape[0] != 7 || got.Shape[1] != 2 {
			t.Fatalf("predict --batch-size %s shape = %v; want [7 2]", bs, got.Shape)
		}
		for i := range got.F32 {
			// Batch size changes the BLAS blocking, hence float32 round-off.
			if math.Abs(float64(got.F32[i]-want.F32[i])) > 1e-6 {
				t.Errorf("predict --batch-size %s [%d] = %v; want %v", bs, i, got.F32[i], want.F32[i])
				break
			}
		}
	}
	// Named input, .pb output.
	yp := filepath.Join(dir, "y.pb")
	mustXfer(t, dir, "predict", "-m", in, "--input", "x="+xp, "--output", yp)
	if got, err := tensorio.ReadFile(yp); err != nil || len(got.F32) != 14 {
		t.Errorf("predict to .pb: %v, %v", got, err)
	}
	for _, args := range [][]string{
		{"--input", "nope=" + xp, "--output", yp},
		{"--input", xp, "--output", "y=" + yp},
		{"--input", xp, "--output", filepath.Join(dir, "y.txt")},
	} {
		if _, _, code := xfer(t, dir, append([]string{"predict", "-m", in}, args...)...); code != 2 {
			t.Errorf("predict %v: exit %d; want 2", args, code)
		}
	}
	// Integer input data feeds the float model as the same values.
	xi := &model.Tensor{DType: model.Int64, Shape: []int{2, 4}, I64: []int64{1, 0, -2, 3, 0, 1, 1, -1}}
	xf := &model.Tensor{DType: model.Float32, Shape: []int{2, 4}, F32: []float32{1, 0, -2, 3, 0, 1, 1, -1}}
	xip, xfp := filepath.Join(dir, "xi.npy"), filepath.Join(dir, "xf.npy")
	tensorio.WriteNPY(xip, xi)
	tensorio.WriteNPY(xfp, xf)
	mustXfer(t, dir, "predict", "-m", in, "--input", xip, "--output", filepath.Join(dir, "yi.npy"))
	mustXfer(t, dir, "predict", "-m", in, "--input", xfp, "--output", filepath.Join(dir, "yf.npy"))
	if a, b := readFile(t, filepath.Join(dir, "yi.npy")), readFile(t, filepath.Join(dir, "yf.npy")); !bytes.Equal(a, b) {
		t.Errorf("predict on int64 input differs from the same float32 input")
	}
	bad := filepath.Join(dir, "bad.npy")
	tensorio.WriteNPY(bad, &model.Tensor{DType: model.Float32, Shape: []int{2, 5}, F32: make([]float32, 10)})
	if _, _, code := xfer(t, dir, "predict", "-m", in, "--input", bad, "--output", yp); code != 1 {
		t.Errorf("predict on [2 5] input for a 4-feature model: exit %d; want 1", code)
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	a := writeModel(t, dir, "a.xnat", mlp(t))
	b := filepath.Join(dir, "b.xnat")
	mustXfer(t, dir, "clone", "-m", a, "-o", b)
	var r verifyResult
	if err := json.Unmarshal([]byte(mustXfer(t, dir, "verify", a, b, "--json")), &r); err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.MaxAbsDiff != 0 || r.Elements != verifyBatch*2 {
		t.Errorf("verify a clone(a) = %+v; want ok, diff 0, %d values", r, verifyBatch*2)
	}
	c := filepath.Join(dir, "c.xnat")
	mustXfer(t, dir, "clone", "--reinit", "--seed", "9", "-m", a, "-o", c)
	out, stderr, code := xfer(t, dir, "verify", a, c)
	if code != 1 || !strings.HasPrefix(out, "FAIL") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("verify a reinit(a): exit %d, %q, %q; want 1, FAIL, one line", code, out, stderr)
	}
	// Loose enough tolerances pass.
	if _, _, code := xfer(t, dir, "verify", a, c, "--atol", "10"); code != 0 {
		t.Errorf("verify --atol 10: exit %d; want 0", code)
	}
}

func TestCompare(t *testing.T) {
	f := func(v ...float32) *model.Tensor {
		return &model.Tensor{DType: model.Float32, Shape: []int{len(v)}, F32: v}
	}
	tests := []struct {
		a, b       *model.Tensor
		atol, rtol float64
		ok         bool
		abs        float64
	}{
		{f(1, 2), f(1, 2), 0, 0, true, 0},
		{f(1, 2.5), f(1, 2), 0.1, 0.2, true, 0.5},  // 0.5 <= 0.1 + 0.2*2
		{f(1, 2.6), f(1, 2), 0.1, 0.2, false, 0.6}, // 0.6 > 0.5
		{f(float32(math.NaN())), f(1), 1, 1, false, math.Inf(1)},
		{f(float32(math.NaN())), f(float32(math.NaN())), 0, 0, true, 0},
	}
	for _, tt := range tests {
		r, err := compare([]*model.Tensor{tt.a}, []*model.Tensor{tt.b}, tt.atol, tt.rtol)
		if err != nil || r.OK != tt.ok || r.MaxAbsDiff-tt.abs > 1e-6 {
			t.Errorf("compare(%v, %v, %g, %g) = %+v, %v; want ok %v abs %g", tt.a.F32, tt.b.F32, tt.atol, tt.rtol, r, err, tt.ok, tt.abs)
		}
	}
	if _, err := compare([]*model.Tensor{f(1)}, []*model.Tensor{f(1, 2)}, 0, 0); err == nil {
		t.Errorf("compare of shapes [1] and [2] succeeded; want an error")
	}
}

// separableNPY writes 64 samples of a separable 2-class problem (class =
// x0 > 0, 4 features) as dir/x.npy and dir/y.npy and returns the --data
// spec.
func separableNPY(t *testing.T, dir string) string {
	t.Helper()
	x := &model.Tensor{DType: model.Float32, Shape: []int{64, 4}, F32: make([]float32, 256)}
	y := &model.Tensor{DType: model.Float32, Shape: []int{64}, F32: make([]float32, 64)}
	for i := 0; i < 64; i++ {
		for j := 0; j < 4; j++ {
			x.F32[4*i+j] = float32(math.Sin(float64(7*i + 3*j)))
		}
		if x.F32[4*i] > 0 {
			y.F32[i] = 1
		}
	}
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	if err := tensorio.WriteNPY(xp, x); err != nil {
		t.Fatal(err)
	}
	if err := tensorio.WriteNPY(yp, y); err != nil {
		t.Fatal(err)
	}
	return "npy:" + xp + "," + yp
}

// TestEvaluateMetrics: evaluate --metrics reports on a data set what
// finetune --metrics reports for it as validation data (val_precision...),
// in --json and on its one line.
func TestEvaluateMetrics(t *testing.T) {
	dir := t.TempDir()
	spec := separableNPY(t, dir)
	in, a, b := writeModel(t, dir, "in.xnat", mlp(t)), filepath.Join(dir, "a.xnat"), filepath.Join(dir, "b.xnat")
	mustXfer(t, dir, "drop-head", "-m", in, "-o", a)
	mustXfer(t, dir, "add-head", "--units", "1", "--activation", "sigmoid", "-m", a, "-o", b)
	out := filepath.Join(dir, "out.xnat")
	const metrics = "precision,recall,auc"
	var hist struct {
		Epochs []struct {
			ValLoss float64            `json:"val_loss"`
			Metrics map[string]float64 `json:"metrics"`
		} `json:"epochs"`
	}
	js := mustXfer(t, dir, "finetune", "-m", b, "-o", out, "--data", spec, "--validation", spec, "--metrics", metrics,
		"--class-weight", "0:1,1:2", "--epochs", "2", "--learning-rate", "0.1", "--seed", "1", "--json")
	if err := json.Unmarshal([]byte(js), &hist); err != nil || len(hist.Epochs) != 2 {
		t.Fatalf("finetune --json: %v\n%s", err, js)
	}
	var ev struct {
		Loss    float64            `json:"loss"`
		Metrics map[string]float64 `json:"metrics"`
	}
	js = mustXfer(t, dir, "evaluate", "-m", out, "--data", spec, "--metrics", metrics, "--json")
	if err := json.Unmarshal([]byte(js), &ev); err != nil {
		t.Fatalf("evaluate --json: %v\n%s", err, js)
	}
	last := hist.Epochs[1]
	if math.Abs(ev.Loss-last.ValLoss) > 1e-5 {
		t.Errorf("evaluate loss %.6f; finetune's val_loss %.6f", ev.Loss, last.ValLoss)
	}
	for _, k := range strings.Split(metrics, ",") {
		got, ok := ev.Metrics[k]
		if want := last.Metrics["val_"+k]; !ok || math.Abs(got-want) > 1e-6 {
			t.Errorf("evaluate %s = %v (reported %v); finetune's val_%s %v", k, got, ok, k, want)
		}
	}
	line := mustXfer(t, dir, "evaluate", "-m", out, "--data", spec, "--metrics", metrics)
	for _, k := range strings.Split(metrics, ",") {
		if want := fmt.Sprintf(" - %s: %.4f", k, ev.Metrics[k]); !strings.Contains(line, want) {
			t.Errorf("evaluate --metrics printed %q; want it to hold %q", line, want)
		}
	}
}

func TestFinetuneAndEvaluateNPY(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	spec := separableNPY(t, dir)
	var before struct {
		Loss     float64 `json:"loss"`
		Accuracy float64 `json:"accuracy"`
		Samples  int     `json:"samples"`
	}
	if err := json.Unmarshal([]byte(mustXfer(t, dir, "evaluate", "-m", in, "--data", spec, "--json")), &before); err != nil {
		t.Fatal(err)
	}
	if before.Samples != 64 {
		t.Errorf("evaluate samples = %d; want 64", before.Samples)
	}
	out := filepath.Join(dir, "out.xnat")
	js := mustXfer(t, dir, "finetune", "-m", in, "-o", out, "--data", spec, "--epochs", "5", "--learning-rate", "0.1", "--seed", "1", "--json")
	var hist struct {
		Epochs []map[string]any `json:"epochs"`
		SPS    float64          `json:"samples_per_second"`
	}
	if err := json.Unmarshal([]byte(js), &hist); err != nil {
		t.Fatalf("finetune --json: %v\n%s", err, js)
	}
	if len(hist.Epochs) != 5 || hist.SPS <= 0 {
		t.Errorf("finetune --json = %d epochs, %g samples/s; want 5, > 0", len(hist.Epochs), hist.SPS)
	}
	for _, k := range []string{"epoch", "loss", "accuracy", "seconds", "samples_per_second"} {
		if _, ok := hist.Epochs[0][k]; !ok {
			t.Errorf("finetune --json epoch lacks %q", k)
		}
	}
	var after struct {
		Loss float64 `json:"loss"`
	}
	json.Unmarshal([]byte(mustXfer(t, dir, "evaluate", "-m", out, "--data", spec, "--json")), &after)
	if !(after.Loss < before.Loss) {
		t.Errorf("evaluate loss after finetune = %g; want below %g", after.Loss, before.Loss)
	}
	m, _ := formats.Read(out, formats.Options{})
	if n := len(m.History); n != 1 || m.History[0].Op != "finetune" {
		t.Errorf("history after finetune = %+v", m.History)
	}
}

// TestFileModeDeterministic: the same command on the same input at the same
// (fixed) time writes the same bytes, in every format.
func TestFileModeDeterministic(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	for _, ext := range []string{".h5", ".keras", ".onnx", ".xnat"} {
		out := filepath.Join(dir, "out"+ext)
		mustXfer(t, dir, "freeze", "--upto", "0", "-m", in, "-o", out)
		first := readFile(t, out)
		mustXfer(t, dir, "freeze", "--upto", "0", "-m", in, "-o", out)
		if !bytes.Equal(first, readFile(t, out)) {
			t.Errorf("freeze -o %s twice gave different bytes", out)
		}
	}
}

// TestFinetuneExploding: a NaN loss stops training with exit 1, a message
// that names exploding gradients and clipping, and the last good epoch kept.
func TestFinetuneExploding(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	x := &model.Tensor{DType: model.Float32, Shape: []int{64, 4}, F32: make([]float32, 256)}
	y := &model.Tensor{DType: model.Float32, Shape: []int{64}, F32: make([]float32, 64)}
	for i := range x.F32 {
		x.F32[i] = float32(1e4 * math.Sin(float64(i)))
	}
	for i := range y.F32 {
		y.F32[i] = float32(i % 2)
	}
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	tensorio.WriteNPY(xp, x)
	tensorio.WriteNPY(yp, y)
	_, stderr, code := xfer(t, dir, "finetune", "-m", in, "-o", filepath.Join(dir, "out.xnat"), "--data", "npy:"+xp+","+yp, "--epochs", "5", "--learning-rate", "1e30")
	if code != 1 || !strings.Contains(stderr, "exploding gradients") || !strings.Contains(stderr, "clip") {
		t.Errorf("finetune --learning-rate 1e30: exit %d, stderr %q; want 1 and a hint to clip", code, stderr)
	}
}

// TestInspectUnknownShapes: a model whose shapes cannot be inferred still
// lists its layers and counts, with a warning.
func TestInspectUnknownShapes(t *testing.T) {

	m := mlp(t)
	m.Layers[1].Nodes[0].Op = "NoSuchOp"
	s, warn := summarize(m)
	if warn == nil || s == nil || len(s.Layers) != 2 || s.TotalParams != 23 || s.Layers[1].OutputShape != nil {
		t.Errorf("summarize(unknown op) = %+v, %v; want rows, counts, nil shapes and a warning", s, warn)
	}
	var out, diag bytes.Buffer
	if err := writeTable(&out, &diag, m); err != nil || !strings.Contains(out.String(), "?") || !strings.Contains(diag.String(), "warning") {
		t.Errorf("writeTable(unknown op) = %q, %q, %v", out.String(), diag.String(), err)
	}
}
