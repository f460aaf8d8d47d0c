//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// badMemLimit is the address-space limit (KiB, as ulimit -v takes it) every
// corpus run has: issue 7 asks that a run under `ulimit -v 4000000` on any
// bad file end in an error within seconds.
const badMemLimit = 4000000

// badCPU bounds the CPU time of one corpus run, in seconds (ulimit -t, per
// process: the HDF5 reader child has its own): a bad file is refused in tens
// of milliseconds, so a run that spins or thrashes is killed long before
// this. CPU time, not wall time, so that a loaded machine (the fuzzers run
// beside the tests) does not fail the test; badWall catches a run that hangs
// without using the CPU.
const (
	badCPU  = 3
	badWall = time.Minute
)

// badCase is one line of testdata/bad/want.txt.
type badCase struct {
	line int
	file string   // relative to testdata/bad
	code int      // exit status
	args []string // with $FILE, $GOOD, $OUT, $IDXDIR, $IMGDIR
	want string   // substring of the one "xfer: " line ("" for exit 0)
}

// readWant parses want.txt: tab-separated file, exit status, command
// (space-separated words), expected substring; # starts a comment.
func readWant(t *testing.T, path string) []badCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []badCase
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("%s:%d: %d tab-separated fields; want 4 (file, exit, command, substring)", path, n, len(f))
		}
		code, err := strconv.Atoi(f[1])
		if err != nil || (code != 0 && code != 1) {
			t.Fatalf("%s:%d: exit status %q; want 0 or 1", path, n, f[1])
		}
		if (code == 0) != (f[3] == "") {
			t.Fatalf("%s:%d: a substring is wanted exactly for exit status 1", path, n)
		}
		cases = append(cases, badCase{line: n, file: f[0], code: code, args: strings.Fields(f[2]), want: f[3]})
	}
	return cases
}

// TestBadCorpus runs every file of testdata/bad through the real command in
// a child process, under `ulimit -v 4000000` and time bounds, with the
// command want.txt gives. Each must end with the exit status the table
// says; for a bad file, status 1 with exactly one "xfer: " line holding the
// table's substring, no Go panic or crash report, no output file, nothing
// left in TMPDIR, and the input unchanged. good/ holds the files the corpus
// is made from: they must load, so that the damage is what the bad files
// are refused for. Every corpus file must have a line in the table.
//
// go test ./cmd/xfer -run TestBadCorpus -update regenerates the corpus
// (badcorpus_gen_test.go, and testdata/bad/gen_hdf5.py with
// /usr/bin/python3 and h5py); want.txt is written by hand.
func TestBadCorpus(t *testing.T) {
	if *updateBad {
		genBadCorpus(t, badDir)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("SKIP LOUDLY: no bash to run the corpus under ulimit -v")
	}
	// The limits the runs have (what the kernel shows a child; ulimit -v
	// counts KiB).
	if b, err := limited(context.Background(), "cat", "/proc/self/limits").Output(); err != nil {
		t.Fatalf("ulimit -v %d: %v", badMemLimit, err)
	} else {
		for _, want := range []string{fmt.Sprintf("Max address space         %d", badMemLimit*1024), fmt.Sprintf("Max cpu time              %d", badCPU)} {
			if !strings.Contains(string(b), want) {
				t.Fatalf("/proc/self/limits of a child has no %q:\n%s", want, b)
			}
		}
	}
	cases := readWant(t, filepath.Join(badDir, "want.txt"))
	listed := map[string]bool{}
	for _, c := range cases {
		listed[c.file] = true
	}
	err := filepath.WalkDir(badDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(badDir, p)
		if filepath.Dir(rel) != "." && !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s has no line in want.txt", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		name := strings.ReplaceAll(c.file, "/", ":") + ":" + c.args[0]
		t.Run(name, func(t *testing.T) {
			t.Parallel() // -parallel is GOMAXPROCS: two children at a time on 2 cores
			runBadCase(t, c)
		})
	}
}

func runBadCase(t *testing.T, c badCase) {
	root, err := filepath.Abs(badDir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, filepath.FromSlash(c.file))
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("want.txt:%d: %v", c.line, err)
	}
	out, tmp := t.TempDir(), t.TempDir()
	args := make([]string, len(c.args))
	for i, a := range c.args {
		a = strings.ReplaceAll(a, "$FILE", file)
		a = strings.ReplaceAll(a, "$GOOD", filepath.Join(root, "good"))
		a = strings.ReplaceAll(a, "$OUT", filepath.Join(out, "out"))
		if strings.Contains(a, "$IDXDIR") {
			a = strings.ReplaceAll(a, "$IDXDIR", idxDir(t, file))
		}
		if strings.Contains(a, "$IMGDIR") {
			a = strings.ReplaceAll(a, "$IMGDIR", imgDir(t, file))
		}
		args[i] = a
	}
	cmdline := "xfer " + strings.Join(args, " ")
	start := time.Now()
	r := xferLimited(t, out, tmp, args...)
	stdout, stderr, code := r.stdout, r.stderr, r.code
	took := time.Since(start)
	line := strings.TrimSuffix(stderr, "\n")
	t.Logf("want.txt:%d: %s: exit %d in %v (%v CPU): %s", c.line, cmdline, code, took.Round(time.Millisecond), r.cpu.Round(time.Millisecond), line)
	switch {
	case r.timedOut:
		t.Fatalf("%s: still running after %v (killed)", cmdline, badWall)
	case r.signal == syscall.SIGXCPU || r.signal == syscall.SIGKILL:
		t.Fatalf("%s: killed by %v after %v of CPU time (ulimit -t %d)", cmdline, r.signal, r.cpu, badCPU)
	}
	for _, bad := range []string{"panic", "goroutine ", "SIGSEGV", "fatal error", "runtime error"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("%s: %q on stderr:\n%s", cmdline, bad, firstLines(stderr, 12))
		}
	}
	switch {
	case code != c.code:
		t.Errorf("%s: exit %d; want %d (want.txt:%d); stderr:\n%s", cmdline, code, c.code, c.line, firstLines(stderr, 12))
	case code == 0 && strings.Contains(stderr, "xfer: "):
		t.Errorf("%s: exit 0 with an error line:\n%s", cmdline, stderr)
	case code == 1 && (!strings.HasPrefix(stderr, "xfer: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n")):
		t.Errorf("%s: stderr is not one \"xfer: \" line:\n%s", cmdline, firstLines(stderr, 12))
	case !strings.Contains(line, c.want):
		t.Errorf("%s: message\n\t%s\ndoes not contain %q (want.txt:%d)", cmdline, line, c.want, c.line)
	}
	if code != 0 {
		if p := userLineProblem(t, c.args, line); p != "" {
			t.Errorf("%s: error line %q: %s (want.txt:%d)", cmdline, line, p, c.line)
		}
	}
	if code != 0 && stdout != "" {
		t.Errorf("%s: exit %d with output on stdout:\n%s", cmdline, code, firstLines(stdout, 5))
	}
	if after, err := os.ReadFile(file); err != nil || sha256.Sum256(after) != sha256.Sum256(before) {
		t.Errorf("%s changed or removed its input %s (%v)", cmdline, file, err)
	}
	if left := namesIn(t, out); code != 0 && len(left) > 0 {
		t.Errorf("%s: exit %d, and wrote %v", cmdline, code, left)
	}
	if left := namesIn(t, tmp); len(left) > 0 {
		t.Errorf("%s left %v in TMPDIR", cmdline, left)
	}
}

// idxDir returns a directory holding file as Fashion-MNIST's training
// images, beside three empty files for the others: the images are read
// first, so file's error is the one reported.
func idxDir(t *testing.T, file string) string {
	dir := t.TempDir()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	put(t, dir, "train-images-idx3-ubyte", b)
	for _, name := range []string{"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		put(t, dir, name, nil)
	}
	return dir
}

// limited is the command name args run under `ulimit -v badMemLimit` and
// `ulimit -t badCPU`.
func limited(ctx context.Context, name string, args ...string) *exec.Cmd {
	script := fmt.Sprintf(`ulimit -v %d && ulimit -t %d && exec "$0" "$@"`, badMemLimit, badCPU)
	return exec.CommandContext(ctx, "bash", append([]string{"-c", script, name}, args...)...)
}

// limitedRun is how a run under limits ended.
type limitedRun struct {
	stdout, stderr string
	code           int            // -1 when killed by a signal
	signal         syscall.Signal // the signal that killed it, or 0
	cpu            time.Duration  // user and system time, with its reaped children
	timedOut       bool
}

// xferLimited runs xfer args in a child process (this test binary, as
// xferProcess does) in directory dir under `ulimit -v badMemLimit` and
// `ulimit -t badCPU`, with TMPDIR set to tmp, and kills its process group
// after badWall.
func xferLimited(t *testing.T, dir, tmp string, args ...string) limitedRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), badWall)
	defer cancel()
	exe, err := os.Executable() // absolute: the run is in dir
	if err != nil {
		t.Fatal(err)
	}
	cmd := limited(ctx, exe, args...)
	cmd.Dir = dir
	// The user's settings that would change what is read or how are
	// dropped: the corpus expects the defaults (HDF5 read in a child, the
	// memory ceiling derived from the ulimit).
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "XFER_MAX_MEMORY", "XFER_HDF5_ISOLATE", "XFER_DATA", "TMPDIR":
		default:
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, runMainEnv+"=1", "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the HDF5 reader child too
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	r := limitedRun{stdout: out.String(), stderr: errb.String(), timedOut: ctx.Err() != nil}
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
	}
	if err != nil && !r.timedOut {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("xfer %s: %v", strings.Join(args, " "), err)
		}
		r.code = ee.ExitCode()
	}
	return r
}
