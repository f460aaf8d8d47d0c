package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/workspace"
)

// xferFSizeLimited runs xfer args in a child process in dir under a file size
// limit of kib KiB (bash's `ulimit -f`; the Go runtime ignores SIGXFSZ, so
// a write past the limit fails with EFBIG instead of killing the process).
func xferFSizeLimited(t *testing.T, dir string, kib int, args ...string) (string, string, int) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("SKIP LOUDLY: no bash to set a file size limit (ulimit -f) with")
	}
	cmd := exec.Command(bash, append([]string{"-c", `ulimit -f ` + strconv.Itoa(kib) + `; exec "$0" "$@"`, os.Args[0]}, args...)...)
	return runChild(t, cmd, dir)
}

// runChild runs cmd (this test binary as xfer, possibly behind a wrapper)
// in dir with a fixed SOURCE_DATE_EPOCH and returns stdout, stderr and the
// exit status.
func runChild(t *testing.T, cmd *exec.Cmd, dir string) (string, string, int) {
	t.Helper()
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runMainEnv+"=1", sourceDateEpoch)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// sourceDateEpoch fixes the time child processes record in history events
// (fixedNow), so that their outputs are byte-identical run to run.
var sourceDateEpoch = "SOURCE_DATE_EPOCH=" + strconv.Itoa(int(fixedNow.Unix()))

// namesIn returns the sorted names in dir.
func namesIn(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// TestFullDisk: a write that runs out of room (a file size limit; a full
// tmpfs when this process may mount one) ends with exit status 1 and one
// line naming the output and saying what to do, leaves the previous output
// byte for byte and no temporary file.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "big.xnat", bigMLP(t)) // 8 MB of weights
	xp, yp := trainingNPY(t, dir, 1000, 10, 16)
	data := "npy:" + xp + "," + yp
	cases := []struct {
		name string
		args func(out string) []string
		ext  string
	}{
		{"export h5", func(out string) []string { return []string{"export", "-m", in, out} }, ".h5"},
		{"export keras", func(out string) []string { return []string{"export", "-m", in, out} }, ".keras"},
		{"export onnx", func(out string) []string { return []string{"export", "-m", in, out} }, ".onnx"},
		{"export xnat", func(out string) []string { return []string{"export", "-m", in, out} }, ".xnat"},
		{"finetune h5", func(out string) []string {
			return []string{"finetune", "-m", in, "-o", out, "--data", data, "--epochs", "1", "--batch-size", "16", "--seed", "1"}
		}, ".h5"},
		{"finetune onnx", func(out string) []string {
			return []string{"finetune", "-m", in, "-o", out, "--data", data, "--epochs", "1", "--batch-size", "16", "--seed", "1"}
		}, ".onnx"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			od := t.TempDir()
			out := writeModel(t, od, "out"+c.ext, mlp(t)) // the previous output: small, under the limit
			prev := readFile(t, out)
			// 1 MiB: the previous output fits, the new 8 MB one does not.
			_, stderr, code := xferFSizeLimited(t, od, 1024, c.args(out)...)
			checkNoRoom(t, stderr, code, out, "ulimit -f")
			if got := readFile(t, out); !bytes.Equal(got, prev) {
				t.Errorf("%s after a failed write: %d bytes differ from the previous %d", out, len(got), len(prev))
			}
			if got := namesIn(t, od); !slices.Equal(got, []string{filepath.Base(out)}) {
				t.Errorf("directory after a failed write holds %v; want only %s", got, filepath.Base(out))
			}
		})
	}
	t.Run("tmpfs", func(t *testing.T) { testFullTmpfs(t, in) })
}

// checkNoRoom checks a command's ending after its write ran out of room:
// exit status 1, and stderr ends with the one "xfer: " line (finetune's
// progress lines come before it), which names out (or a file whose path
// begins with out) and gives hint.
func checkNoRoom(t *testing.T, stderr string, code int, out, hint string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if msg := checkOneLine(last+"\n", code); msg != "" || code != 1 || strings.Count(stderr, "xfer: ") != 1 {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and one xfer: line, the last (%s)", code, firstLines(stderr, 12), msg)
	}
	for _, want := range []string{"writing " + out, " failed", hint} {
		if !strings.Contains(last, want) {
			t.Errorf("stderr = %q; want its last line to contain %q", stderr, want)
		}
	}
}

// testFullTmpfs fills a small tmpfs: export over an existing file, and a
// workspace step whose snapshot does not fit.
func testFullTmpfs(t *testing.T, in string) {
	mnt := t.TempDir()
	// 12 MiB: the big model's 8 MB of weights fit once, not twice.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=12m", "xfer-test", mnt).CombinedOutput(); err != nil {
		t.Skipf("SKIP LOUDLY: cannot mount a tmpfs to fill (%v: %s); the file size limit cases above cover the error path", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	// The previous outputs: small, they fit.
	outs := []string{writeModel(t, mnt, "out.h5", mlp(t)), writeModel(t, mnt, "out.onnx", mlp(t))}
	prev := [][]byte{readFile(t, outs[0]), readFile(t, outs[1])}
	// The workspace: the big model imported (8 MB of the 12).
	ws := filepath.Join(mnt, "ws")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	mustXfer(t, ws, "import", in)
	before := hashTree(t, ws)

	// Export over them (libhdf5 writes the .h5, Go the .onnx): 8 MB more
	// does not fit.
	for i, out := range outs {
		_, stderr, code := runChild(t, exec.Command(os.Args[0], "export", "-m", in, out), mnt)
		checkNoRoom(t, stderr, code, out, "no space left on device in "+mnt+"; free space or choose another directory")
		if got := readFile(t, out); !bytes.Equal(got, prev[i]) {
			t.Errorf("%s after ENOSPC: changed", out)
		}
	}
	if got := namesIn(t, mnt); !slices.Equal(got, []string{"out.h5", "out.onnx", "ws"}) {
		t.Errorf("%s after ENOSPC holds %v; want out.h5, out.onnx and ws only", mnt, got)
	}

	// A step that changes only flags stores only a snapshot's header: it
	// fits. Undone, the workspace is as it was.
	mustXfer(t, ws, "freeze", "--upto", "0")
	mustXfer(t, ws, "undo")
	if got := hashTree(t, ws); !maps.Equal(got, before) {
		t.Errorf("workspace files after freeze and undo = %d files; want the %d from before, unchanged", len(got), len(before))
	}
	// A step with new weights everywhere (8 MB) does not fit: the workspace
	// is as before. The objects are named as the command sees them,
	// relative to its working directory.
	objs := filepath.Join(workspace.DirName, "objects") + string(filepath.Separator)
	_, stderr, code := runChild(t, exec.Command(os.Args[0], "clone", "--reinit", "--seed", "1"), ws)
	checkNoRoom(t, stderr, code, objs, "free space or choose another directory")
	if got := hashTree(t, ws); !maps.Equal(got, before) {
		t.Errorf("workspace files after ENOSPC = %d files; want the %d from before, unchanged", len(got), len(before))
	}
	w, err := workspace.Open(ws)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := w.Current(); err != nil || len(w.Journal()) != 1 || native.Digest(m) != w.Journal()[0].After {
		t.Errorf("workspace after ENOSPC: %d entries, %v; want the import only, loadable", len(w.Journal()), err)
	}
}
