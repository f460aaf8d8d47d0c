package formats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"

	kerasimp "github.com/xferml/xfer/importers/keras"
)

// ProbeEnv is the environment variable of HDF5 probing. ProbeInChild sets it
// to "1" in the child it starts; a user may set it to "off" to read HDF5
// files in-process without a probe (at the risk of a libhdf5 crash).
const ProbeEnv = "XFER_HDF5_PROBE"

// probeCommand is the hidden first argument of a probe child:
// `XFER_HDF5_PROBE=1 BINARY __probe-hdf5 FILE`.
const probeCommand = "__probe-hdf5"

// probeSurvived is what a probe child prints on stdout when libhdf5 read the
// whole file without crashing; its absence means the binary did not answer
// the probe at all.
const probeSurvived = "xfer-hdf5-probe: survived"

// maxProbeStderr bounds the child's stderr kept for the message (a Go crash
// report with every goroutine's stack can be long; the first line says it).
const maxProbeStderr = 64 << 10

// ErrHDF5Crash reports a file whose HDF5 content crashed libhdf5 (or the
// process reading it) in a probe child.
var ErrHDF5Crash = errors.New("the HDF5 library crashed while reading this file (corrupt or hostile HDF5)")

// ProbeChild is the child side of ProbeInChild. When the environment and
// args (the command line without the program name) say this process is a
// probe child, it probes the file named by args with importers/keras's Probe,
// prints the survival line on stdout and returns the exit status 0 with ok
// true; a crash in libhdf5 ends the process before that. Otherwise ok is
// false and it does nothing. A binary that reads files with
// Options.IsolateHDF5 must call it first thing (the xfer command's run does;
// a test binary does in TestMain).
func ProbeChild(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if os.Getenv(ProbeEnv) != "1" || len(args) == 0 || args[0] != probeCommand {
		return 0, false
	}
	if len(args) != 2 {
		fmt.Fprintf(stderr, "formats: %s takes one file, got %d arguments\n", probeCommand, len(args)-1)
		return 2, true
	}
	// Damage that libhdf5 reports as an error is not the probe's business:
	// the parent's importer finds it again and says it better.
	if err := kerasimp.Probe(args[1]); err != nil {
		fmt.Fprintf(stderr, "formats: probe: %v\n", err)
	}
	fmt.Fprintln(stdout, probeSurvived)
	return 0, true
}

// ProbeInChild has libhdf5 read the HDF5 content of the Keras file at path
// (a .h5/.hdf5 file or a .keras archive's model.weights.h5: every object,
// attribute and dataset the importer could read, see importers/keras.Probe)
// in a child process, a re-execution of the running binary
// (os.Executable) with ProbeEnv=1, so that a libhdf5 crash on a corrupt or
// hostile file kills the child, not the caller. It returns nil when the
// child survived, and otherwise an error wrapping ErrHDF5Crash that names
// path and how the child died. The running binary must answer probes (see
// ProbeChild); with ProbeEnv set to "off" ProbeInChild does nothing.
func ProbeInChild(path string) error {
	switch os.Getenv(ProbeEnv) {
	case "off":
		return nil
	case "1":
		return fmt.Errorf("formats: %s: cannot probe HDF5 from inside a probe child (the running program does not answer probes: call formats.ProbeChild first in main)", path)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("formats: %s: cannot find the running program to probe the HDF5 content in a child process: %w (set %s=off to read it in-process at your own risk)", path, err, ProbeEnv)
	}
	cmd := exec.Command(exe, probeCommand, path)
	cmd.Env = append(os.Environ(), ProbeEnv+"=1", "GOTRACEBACK=single")
	var out, errb capped
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err == nil {
		if strings.Contains(out.String(), probeSurvived) {
			return nil
		}
		return fmt.Errorf("formats: %s: the program %s does not answer HDF5 probes (call formats.ProbeChild first in main)", path, exe)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("formats: %s: cannot start a child process to probe the HDF5 content: %w (set %s=off to read it in-process at your own risk)", path, err, ProbeEnv)
	}
	return probeFailure(path, ee, errb.String())
}

// goSignal matches the first line of the Go runtime's report of a fatal
// signal ("SIGSEGV: segmentation violation"), which is how a crash inside
// cgo ends a Go program (runtime/signal_unix.go, sighandler).
var goSignal = regexp.MustCompile(`^(SIG[A-Z]+): (.+)$`)

// probeFailure describes how a probe child died.
func probeFailure(path string, ee *exec.ExitError, stderr string) error {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch s := ws.Signal(); s {
		case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP:
			return fmt.Errorf("formats: %s: the HDF5 probe was interrupted (%v); the file was not read", path, s)
		case syscall.SIGKILL:
			return fmt.Errorf("keras: %s: %w: the probe process was killed (out of memory?); the file was not read", path, ErrHDF5Crash)
		default:
			return fmt.Errorf("keras: %s: %w: the probe process died of %v (%s); the file was not read, use an intact copy or save the model again with Keras", path, ErrHDF5Crash, s, signalName(s))
		}
	}
	detail := fmt.Sprintf("the probe process exited with status %d", ee.ExitCode())
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := goSignal.FindStringSubmatch(line); m != nil {
			detail = fmt.Sprintf("%s (%s) in the probe process", m[2], m[1])
			break
		}
		if s, ok := strings.CutPrefix(line, "fatal error: "); ok {
			detail = "fatal error in the probe process: " + s
			break
		}
		if s, ok := strings.CutPrefix(line, "panic: "); ok {
			detail = "panic in the probe process: " + s
			break
		}
	}
	return fmt.Errorf("keras: %s: %w: %s; the file was not read, use an intact copy or save the model again with Keras", path, ErrHDF5Crash, detail)
}

// signalName returns the conventional name of s ("SIGSEGV").
func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
		syscall.SIGILL: "SIGILL", syscall.SIGABRT: "SIGABRT", syscall.SIGTRAP: "SIGTRAP",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", int(s))
}

// capped keeps the first maxProbeStderr bytes written to it and drops the
// rest (the child must never block on a full pipe).
type capped struct{ b bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := maxProbeStderr - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string { return c.b.String() }
