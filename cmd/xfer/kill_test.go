package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/workspace"
)

// bigMLP returns a 1000 -> 1000 (relu) -> 1000 (relu) -> 10 (softmax) model
// with fixed pseudo-random weights: 2,012,010 params, 8 MB of float32, so
// that writing it takes milliseconds and kills land inside the writes.
func bigMLP(t *testing.T) *model.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 5)) // fixed: the same weights every run
	dense := func(name, in string, nin, units int, act string) *model.Layer {
		k := make([]float32, nin*units)
		for i := range k {
			k[i] = float32(rng.Float64()-0.5) / 16 // about Glorot's scale for 1000 inputs
		}
		l, err := layers.Dense(layers.DenseSpec{Name: name, Input: in, InFeatures: nin, Units: units, Activation: act, UseBias: true, Trainable: true,
			Kernel: k, Bias: make([]float32, units)})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	d1 := dense("dense", "x", 1000, 1000, "relu")
	d2 := dense("dense_1", d1.Outputs[0], 1000, 1000, "relu")
	d3 := dense("dense_2", d2.Outputs[0], 1000, 10, "softmax")
	return &model.Model{Name: "big", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 1000}}},
		Outputs: d3.Outputs, Layers: []*model.Layer{d1, d2, d3}, Meta: map[string]string{}}
}

// trainingNPY writes n samples of features inputs (x.npy) and class labels
// 0..classes-1 (y.npy) to dir and returns their paths.
func trainingNPY(t *testing.T, dir string, features, classes, n int) (string, string) {
	t.Helper()
	x := &model.Tensor{DType: model.Float32, Shape: []int{n, features}, F32: make([]float32, n*features)}
	y := &model.Tensor{DType: model.Float32, Shape: []int{n}, F32: make([]float32, n)}
	for i := range x.F32 {
		x.F32[i] = float32(math.Sin(float64(i)))
	}
	for i := range y.F32 {
		y.F32[i] = float32(i % classes)
	}
	return writeNPY(t, dir, "x.npy", x), writeNPY(t, dir, "y.npy", y)
}

// child is xfer running in a child process.
type child struct {
	cmd *exec.Cmd
	// seen is closed when the child writes a stderr line starting with the
	// trigger it was started with (at once without one).
	seen     chan struct{}
	seenAt   time.Time       // when seen was closed
	stderr   strings.Builder // complete once read is closed
	read     chan struct{}
	finished time.Time // when stderr reached its end
}

// startXfer starts xfer args in a child process in dir, in a process group
// of its own (so that a kill reaches the Keras reader child too), with a
// fixed SOURCE_DATE_EPOCH. trigger is a stderr line prefix for c.seen.
func startXfer(t *testing.T, dir, trigger string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], args...), seen: make(chan struct{}), read: make(chan struct{})}
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), runMainEnv+"=1", sourceDateEpoch)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.cmd.Stdout = io.Discard
	pipe, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if trigger == "" {
		c.seenAt = time.Now()
		close(c.seen)
	}
	go func() {
		defer close(c.read)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			c.stderr.WriteString(sc.Text() + "\n")
			if trigger != "" && strings.HasPrefix(sc.Text(), trigger) {
				c.seenAt = time.Now()
				close(c.seen)
				trigger = ""
			}
		}
		c.finished = time.Now()
	}()
	return c
}

// wait waits for the child's end.
func (c *child) wait() error {
	<-c.read
	return c.cmd.Wait()
}

// killAfter runs xfer args in dir and sends SIGKILL to it delay after its
// stderr shows a line starting with trigger ("": after its start). It
// returns whether the command finished first (exit 0); any other ending
// than these two fails the test.
func killAfter(t *testing.T, dir, trigger string, delay time.Duration, args ...string) (finished bool) {
	t.Helper()
	c := startXfer(t, dir, trigger, args...)
	done := make(chan error, 1)
	go func() { done <- c.wait() }()
	var err error
	select {
	case err = <-done:
	case <-c.seen:
		select {
		case err = <-done:
		case <-time.After(delay):
			syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			err = <-done
		}
	}
	if err == nil {
		return true
	}
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("xfer %s, killed %v after %q: %v; want exit 0 or death by SIGKILL; stderr:\n%s", strings.Join(args, " "), delay, trigger, err, firstLines(c.stderr.String(), 12))
	}
	return false
}

// timed runs xfer args in dir to the end and returns how long it took, and
// how long from its stderr line starting with trigger to the end (0 without
// a trigger).
func timed(t *testing.T, dir, trigger string, args ...string) (total, tail time.Duration) {
	t.Helper()
	start := time.Now()
	c := startXfer(t, dir, trigger, args...)
	if err := c.wait(); err != nil {
		t.Fatalf("xfer %s: %v; stderr:\n%s", strings.Join(args, " "), err, c.stderr.String())
	}
	total = time.Since(start)
	select {
	case <-c.seen:
		if trigger != "" {
			tail = c.finished.Sub(c.seenAt)
		}
	default:
		t.Fatalf("xfer %s: no stderr line starts with %q:\n%s", strings.Join(args, " "), trigger, c.stderr.String())
	}
	return total, tail
}

// killDelays returns n delays spread over [0, d] in n equal strata, one at a
// pseudo-random point of each (fixed seed: the same delays for the same d).
func killDelays(seed uint64, n int, d time.Duration) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration((float64(i) + rng.Float64()) / float64(n) * float64(d))
	}
	return out
}

// copyTree copies the directory src to a new directory and returns it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "w")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// temporaries returns the names in dir that atomicfile's temporary files
// have.
func temporaries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range namesIn(t, dir) {
		if atomicfile.IsTemp(n) {
			out = append(out, n)
		}
	}
	return out
}

// wsTemporaries returns the atomicfile temporaries in the workspace
// directory xd, its snapshots and its objects.
func wsTemporaries(t *testing.T, xd string) []string {
	t.Helper()
	var out []string
	for _, d := range []string{xd, filepath.Join(xd, "snapshots"), filepath.Join(xd, "objects")} {
		if _, err := os.Stat(d); err == nil {
			out = append(out, temporaries(t, d)...)
		}
	}
	return out
}

// wsState returns the digest of dir's current model and the journal, after
// checking the journal: it opens, its current model loads with the digest
// the journal records, every entry follows from the one before (seq and
// digests), and every snapshot it names is there.
func wsState(t *testing.T, dir string) (string, []workspace.Entry) {
	t.Helper()
	w, err := workspace.Open(dir)
	if err != nil {
		t.Fatalf("workspace.Open: %v", err)
	}
	m, err := w.Current()
	if err != nil {
		t.Fatalf("workspace Current: %v", err)
	}
	j := w.Journal()
	for i, e := range j {
		if i > 0 && (e.Seq != j[i-1].Seq+1 || e.Before != j[i-1].After) {
			t.Errorf("journal entry %d (seq %d, before %s) does not follow entry %d (seq %d, after %s)", i, e.Seq, e.Before, i-1, j[i-1].Seq, j[i-1].After)
		}
		if _, err := os.Stat(filepath.Join(w.Dir(), "snapshots", e.Snapshot)); err != nil {
			t.Errorf("journal entry %d: %v", i, err)
		}
	}
	return native.Digest(m), j
}

// TestKillWorkspace kills workspace commands (finetune and the surgery
// commands) with SIGKILL at pseudo-random points of their run: the
// workspace must open, load and show either the state before the command or
// the state after it, with a consistent journal that inspect still reads,
// and the next change must remove whatever the killed command left.
func TestKillWorkspace(t *testing.T) {
	data := t.TempDir()
	in := writeModel(t, data, "big.xnat", bigMLP(t))
	xp, yp := trainingNPY(t, data, 1000, 10, 64)
	cases := []struct {
		name  string
		setup [][]string // commands that make the state before
		args  []string
		kills int // at points spread over the whole run
		// tailKills more at points spread over the part of the run after
		// the stderr line that starts with tail: for finetune, the writes
		// after the last epoch, which whole-run kills seldom hit.
		tail      string
		tailKills int
	}{
		// 64 samples of 1000 features, 4 steps an epoch: about 0.1 s of
		// training before the 8 MB snapshot is written.
		{"finetune", nil, []string{"finetune", "--data", "npy:" + xp + "," + yp, "--epochs", "6", "--batch-size", "16", "--seed", "1"}, 3, "Epoch 6/6 - ", 4},
		{"freeze", nil, []string{"freeze", "--upto", "0"}, 4, "", 0},
		{"drop-head", nil, []string{"drop-head"}, 4, "", 0},
		{"add-head", nil, []string{"add-head", "--units", "3", "--activation", "softmax", "--seed", "1"}, 4, "", 0},
		{"undo", [][]string{{"freeze", "--upto", "1"}}, []string{"undo"}, 4, "", 0},
	}
	var leftovers int
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl := t.TempDir()
			mustXfer(t, tmpl, "import", in)
			for _, s := range c.setup {
				mustXfer(t, tmpl, s...)
			}
			before, jBefore := wsState(t, tmpl)
			ran := copyTree(t, tmpl)
			d, tail := timed(t, ran, c.tail, c.args...)
			after, jAfter := wsState(t, ran)
			if after == before {
				t.Fatalf("xfer %s left the model as it was; the test needs a change", strings.Join(c.args, " "))
			}
			var nBefore, nAfter int
			for k, delay := range append(killDelays(uint64(ci), c.kills, d), killDelays(uint64(ci+100), c.tailKills, tail)...) {
				trigger := ""
				if k >= c.kills {
					trigger = c.tail
				}
				w := copyTree(t, tmpl)
				killAfter(t, w, trigger, delay, c.args...)
				got, j := wsState(t, w)
				switch {
				case got == before && len(j) == len(jBefore):
					nBefore++
				case got == after && len(j) == len(jAfter):
					nAfter++
				default:
					t.Errorf("killed after %v: current model %s with %d journal entries; want the state before (%s, %d) or after (%s, %d)",
						delay, native.ShortDigest(got), len(j), native.ShortDigest(before), len(jBefore), native.ShortDigest(after), len(jAfter))
				}
				if _, stderr, code := xfer(t, w, "inspect"); code != 0 {
					t.Errorf("killed after %v: xfer inspect: exit %d, %s", delay, code, stderr)
				}
				xd := workspace.Path(w)
				left := wsTemporaries(t, xd)
				if len(left) == 0 {
					continue
				}
				// The next change removes what the killed command left.
				leftovers++
				mustXfer(t, w, "freeze", "--upto", "-1") // a change in every case: some layer still trains
				if again := wsTemporaries(t, xd); len(again) > 0 {
					t.Errorf("killed after %v: left %v; after the next change still %v; want none", delay, left, again)
				}
				named := map[string]bool{}
				_, j = wsState(t, w)
				for _, e := range j {
					named[e.Snapshot] = true
				}
				for _, n := range namesIn(t, filepath.Join(xd, "snapshots")) {
					if !named[n] {
						t.Errorf("killed after %v: snapshot %s not in the journal after the next change", delay, n)
					}
				}
			}
			t.Logf("%v to run (%v after %q); %d kills: %d left the state before, %d the state after", d.Round(time.Millisecond), tail.Round(time.Millisecond), c.tail, c.kills+c.tailKills, nBefore, nAfter)
		})
	}
	t.Logf("%d kills left temporary files in the workspace; the next change removed them", leftovers)
}

// TestKillFileOutput kills export and finetune -o writing over an existing
// output file with SIGKILL at pseudo-random points: the output must be
// byte-identical to the file before or to what an uninterrupted run writes,
// never partial; only atomicfile's temporaries may be left beside it.
func TestKillFileOutput(t *testing.T) {
	data := t.TempDir()
	in := writeModel(t, data, "big.xnat", bigMLP(t))
	xp, yp := trainingNPY(t, data, 1000, 10, 64)
	cases := []struct {
		name, ext string
		args      []string
		kills     int
		tail      string // as in TestKillWorkspace
		tailKills int
	}{
		{"export h5", ".h5", []string{"export", "-m", in}, 4, "", 0},
		{"export keras", ".keras", []string{"export", "-m", in}, 4, "", 0},
		{"export onnx", ".onnx", []string{"export", "-m", in}, 4, "", 0},
		// finetune with a fixed seed writes the same bytes every run
		// (checked: the reference run is made twice).
		{"finetune h5", ".h5", []string{"finetune", "-m", in, "--data", "npy:" + xp + "," + yp, "--epochs", "6", "--batch-size", "16", "--seed", "1", "-o"}, 3, "Epoch 6/6 - ", 4},
	}
	var leftovers int
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The existing output: another model, in the same format.
			old := filepath.Join(t.TempDir(), "out"+c.ext)
			if err := formats.Write(old, mlp(t), formats.Options{}); err != nil {
				t.Fatal(err)
			}
			prev := readFile(t, old)
			// The output is named relative to the command's directory: the
			// history event an output records holds the arguments, so the
			// bytes are the same in every directory.
			name := "out" + c.ext
			args := append(slices.Clip(c.args), name)
			run := func(dir string) string {
				out := filepath.Join(dir, name)
				copyFile(t, old, out)
				return out
			}
			ref := t.TempDir()
			out := run(ref)
			d, tail := timed(t, ref, c.tail, args...)
			want := readFile(t, out)
			if c.args[0] == "finetune" {
				timed(t, ref, "", args...)
				if again := readFile(t, out); !bytes.Equal(again, want) {
					t.Fatalf("finetune --seed 1 -o %s twice wrote different bytes; the check below needs a deterministic output", out)
				}
			}
			var nBefore, nAfter int
			for k, delay := range append(killDelays(uint64(10+ci), c.kills, d), killDelays(uint64(110+ci), c.tailKills, tail)...) {
				trigger := ""
				if k >= c.kills {
					trigger = c.tail
				}
				dir := t.TempDir()
				out := run(dir)
				killAfter(t, dir, trigger, delay, args...)
				switch got := readFile(t, out); {
				case bytes.Equal(got, prev):
					nBefore++
				case bytes.Equal(got, want):
					nAfter++
				default:
					t.Errorf("killed after %v: %s is %d bytes, neither the previous file (%d) nor the complete output (%d)", delay, out, len(got), len(prev), len(want))
				}
				for _, n := range namesIn(t, dir) {
					switch {
					case n == filepath.Base(out):
					case atomicfile.IsTemp(n) && strings.HasPrefix(n, "."+filepath.Base(out)+".tmp-"):
						leftovers++
					default:
						t.Errorf("killed after %v: unexpected file %s beside the output", delay, n)
					}
				}
			}
			t.Logf("%v to run (%v after %q); %d kills: %d left the previous file, %d the complete output", d.Round(time.Millisecond), tail.Round(time.Millisecond), c.tail, c.kills+c.tailKills, nBefore, nAfter)
		})
	}
	t.Logf("%d temporary files left beside outputs by the kills (xfer does not remove them: one may belong to a concurrent write)", leftovers)
}

// TestStopSignals: Ctrl-C (SIGINT) and SIGTERM stop finetune after the
// current step, keeping the last finished epoch in the workspace, whose
// journal records the run as interrupted with the epochs done; stderr ends
// with one line saying so, exit status 1.
// In file mode (-m IN -o OUT) the finished epochs go to OUT, and the line
// says so.
func TestStopSignals(t *testing.T) {
	for _, c := range []struct {
		sig      syscall.Signal
		fileMode bool
	}{{syscall.SIGINT, false}, {syscall.SIGTERM, false}, {syscall.SIGINT, true}} {
		name := c.sig.String()
		if c.fileMode {
			name += " file mode"
		}
		t.Run(name, func(t *testing.T) { stopBySignal(t, c.sig, c.fileMode) })
	}
}

func stopBySignal(t *testing.T, sig syscall.Signal, fileMode bool) {
	dir := t.TempDir()
	data := t.TempDir()
	in := writeModel(t, data, "in.xnat", mlp(t))
	xp, yp := trainingNPY(t, data, 4, 2, 64)
	const epochs = 100000 // far more than run before the signal
	args := []string{"finetune", "--data", "npy:" + xp + "," + yp, "--epochs", fmt.Sprint(epochs), "--batch-size", "8"}
	out := filepath.Join(dir, "out.h5")
	if fileMode {
		args = append(args, "-m", in, "-o", out)
	} else {
		mustXfer(t, dir, "import", in)
	}
	before := ""
	if !fileMode {
		before, _ = wsState(t, dir)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runMainEnv+"=1", sourceDateEpoch)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Piped, the reporter writes one line an epoch: signal once epoch 2 is
	// done.
	var stderr strings.Builder
	sc := bufio.NewScanner(pipe)
	signalled := false
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if !signalled && strings.HasPrefix(sc.Text(), fmt.Sprintf("Epoch 2/%d - ", epochs)) {
			cmd.Process.Signal(sig)
			signalled = true
		}
	}
	err = cmd.Wait()
	if !signalled {
		t.Fatalf("finetune ended before epoch 2: %v; stderr:\n%s", err, firstLines(stderr.String(), 12))
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("finetune after %v: exit status %d (%v); want 1; stderr:\n%s", sig, code, err, firstLines(stderr.String(), 12))
	}
	// One line says where it stopped and what it kept: the last line.
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	var stopped, kept int
	where := "in the workspace, whose journal records the run as interrupted"
	if fileMode {
		where = "in " + out
	}
	if n, err := fmt.Sscanf(last, "xfer: finetune: interrupted in epoch %d; kept epoch %d of", &stopped, &kept); n != 2 || err != nil || stopped != kept+1 || kept < 2 ||
		!strings.HasSuffix(last, fmt.Sprintf(" of %d (%s)", epochs, where)) || strings.Count(stderr.String(), "xfer: ") != 1 {
		t.Errorf("stderr ends %q (%d xfer: lines); want one line \"xfer: finetune: interrupted in epoch N+1; kept epoch N of %d (%s)\"", last, strings.Count(stderr.String(), "xfer: "), epochs, where)
	}
	var n int
	if _, err := fmt.Sscanf(stdout.String(), "finetune: epochs %d,", &n); err != nil || n < 2 || n >= epochs {
		t.Errorf("stdout = %q; want \"finetune: epochs N, ...\" with 2 <= N < %d", stdout.String(), epochs)
	}
	if fileMode {
		// OUT holds the kept epoch's model: it reads, and differs from IN.
		mustXfer(t, dir, "inspect", "-m", out)
		if _, _, code := xfer(t, dir, "verify", in, out, "--atol", "0", "--rtol", "0"); code != 1 {
			t.Errorf("verify %s %s: exit %d; want 1 (the trained model computes other numbers than the input)", in, out, code)
		}
		return
	}
	after, j := wsState(t, dir)
	if len(j) != 2 || j[1].Op != "finetune" || after == before {
		t.Fatalf("journal after %v = %d entries, last %q, model changed %v; want the import and the finetune of the finished epochs", sig, len(j), j[len(j)-1].Op, after != before)
	}
	if want := fmt.Sprintf("(interrupted in epoch %d; kept epoch %d of %d)", stopped, kept, epochs); !strings.HasSuffix(j[1].Args, want) {
		t.Errorf("journal entry of the interrupted finetune: args %q; want them to end %q", j[1].Args, want)
	}
}
