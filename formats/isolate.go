package formats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	kerasimp "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/hdf5"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/model"
)

// IsolateEnv is the environment variable of isolated Keras reading.
// ReadInChild sets it to "1" in the child it starts; a user may set it to
// "off" to read Keras files in-process (at the risk of a libhdf5 crash).
const IsolateEnv = "XFER_HDF5_ISOLATE"

// childCommand is the hidden first argument of a reader child:
// `XFER_HDF5_ISOLATE=1 BINARY __read-keras FILE [CONFIG]`.
const childCommand = "__read-keras"

// The first line a reader child writes on stdout: the model's length, then
// its native encoding follow, or an error's sentinel names, then its
// message. A binary that does not serve children writes neither.
const (
	childModel = "xfer-keras-child: model"
	childError = "xfer-keras-child: error"
)

// maxChildStderr bounds the child's stderr kept for the message (a Go crash
// report with every goroutine's stack can be long; the first line says it).
const maxChildStderr = 64 << 10

// ErrHDF5Crash reports a file whose HDF5 content crashed libhdf5 in a reader
// child.
var ErrHDF5Crash = errors.New("the HDF5 library crashed while reading this file (corrupt or hostile HDF5)")

// childSentinels are the errors a child's error keeps for errors.Is across
// the process boundary, by the names the child sends.
var childSentinels = []struct {
	name string
	err  error
}{
	{"keras-format", kerasimp.ErrFormat},
	{"unsupported", model.ErrUnsupported},
	{"hdf5-format", hdf5.ErrFormat},
	{"hdf5-not-found", hdf5.ErrNotFound},
	{"not-exist", fs.ErrNotExist},
	{"permission", fs.ErrPermission},
}

// ServeChild is the child side of ReadInChild. When the environment and args
// (the command line without the program name) say this process is a reader
// child, it reads the Keras file (and config) named by args with
// importers/keras, writes the model or the error on stdout and returns the
// exit status with ok true; a libhdf5 crash ends the process before that.
// Otherwise ok is false and it does nothing. A binary that reads files with
// Options.IsolateHDF5 must call it first thing (the xfer command's run does;
// a test binary does in TestMain).
func ServeChild(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if os.Getenv(IsolateEnv) != "1" || len(args) == 0 || args[0] != childCommand {
		return 0, false
	}
	if len(args) != 2 && len(args) != 3 {
		fmt.Fprintf(stderr, "formats: %s takes a file and an optional config, got %d arguments\n", childCommand, len(args)-1)
		return 2, true
	}
	config := ""
	if len(args) == 3 {
		config = args[2]
	}
	m, err := readKeras(args[1], config)
	var enc *native.Encoding
	if err == nil {
		if enc, err = native.Prepare(m); err != nil {
			err = fmt.Errorf("formats: %s: %w", args[1], err)
		}
	}
	if err != nil {
		var kinds []string
		for _, s := range childSentinels {
			if errors.Is(err, s.err) {
				kinds = append(kinds, s.name)
			}
		}
		fmt.Fprintf(stdout, "%s %s\n%s", childError, strings.Join(kinds, ","), err)
		return 0, true
	}
	// The encoding streams from the model's own memory, which is released
	// as it goes: this child and the parent decoding the stream do not each
	// hold the whole model at once.
	m = nil
	fmt.Fprintf(stdout, "%s %d\n", childModel, enc.Size())
	if _, err := enc.WriteAndRelease(stdout); err != nil {
		fmt.Fprintf(stderr, "formats: %s: %v\n", childCommand, err)
		return 1, true
	}
	return 0, true
}

// ReadInChild reads the Keras file at path (with opts.ConfigPath for a
// weights-only .h5) in a child process, a re-execution of the running binary
// (os.Executable) with IsolateEnv=1, which sends the model back in xfer's
// native encoding, streamed (the child returns each param's memory as it
// sends it, and this process decodes straight into the model, so the two
// together hold about one model): this process never hands the file to
// libhdf5, so a libhdf5 crash on a corrupt or hostile file kills the child,
// not the caller, and becomes an error wrapping ErrHDF5Crash naming path and how the
// child died. The importer's own errors come back with their messages and
// their sentinels (errors.Is works with importers/keras's ErrFormat and
// model.ErrUnsupported, and fs.ErrNotExist). The running binary must serve
// children (ServeChild). With IsolateEnv set to "off" the file is read
// in-process.
func ReadInChild(path string, opts Options) (*model.Model, error) {
	switch os.Getenv(IsolateEnv) {
	case "off":
		return readKeras(path, opts.ConfigPath)
	case "1":
		return nil, fmt.Errorf("formats: %s: cannot start a reader child from inside one (the running program does not serve children: call formats.ServeChild first in main)", path)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("formats: %s: cannot find the running program to read the file in a child process: %w (set %s=off to read it in-process at your own risk)", path, err, IsolateEnv)
	}
	args := []string{childCommand, path}
	if opts.ConfigPath != "" {
		args = append(args, opts.ConfigPath)
	}
	// The child's temporary files (a .keras archive's weights) go to a
	// directory of ours, removed even when a crash skips the child's cleanup.
	tmp, err := os.MkdirTemp("", "xfer-read-*")
	if err != nil {
		return nil, fmt.Errorf("formats: %s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), IsolateEnv+"=1", "GOTRACEBACK=single", "TMPDIR="+tmp)
	errb := &capped{limit: maxChildStderr}
	cmd.Stderr = errb
	pipe, err := cmd.StdoutPipe()
	if err == nil {
		if f, ok := pipe.(*os.File); ok {
			growPipe(f)
		}
		err = cmd.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("formats: %s: cannot start a child process to read the file: %w (set %s=off to read it in-process at your own risk)", path, err, IsolateEnv)
	}
	// libhdf5 could loop forever on a damaged file: a child that overruns
	// its generous time is killed.
	var size int64
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	limit := childTimeout(size)
	var overran atomic.Bool
	timer := time.AfterFunc(limit, func() {
		overran.Store(true)
		cmd.Process.Kill()
	})
	defer timer.Stop()
	head, m, body, rerr := readChild(bufio.NewReader(pipe))
	io.Copy(io.Discard, pipe) // whatever is left, so that the child never blocks
	if err := cmd.Wait(); err != nil {
		if overran.Load() {
			return nil, fmt.Errorf("formats: %s: reading did not finish within %v (libhdf5 may be looping on a damaged file); the file was not read: use an intact copy or save the model again", path, limit)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("formats: %s: the reader child: %w", path, err)
		}
		return nil, childFailure(path, ee, errb.b.String())
	}
	switch {
	case rerr != nil:
		return nil, fmt.Errorf("formats: %s: %w", path, rerr)
	case m != nil:
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("formats: %s: %w", path, err)
		}
		return m, nil
	case strings.HasPrefix(head, childError+" "):
		kinds := strings.Split(head[len(childError)+1:], ",")
		return nil, &remoteError{msg: string(body), kinds: kinds}
	}
	return nil, fmt.Errorf("formats: %s: the program %s does not serve reader children (call formats.ServeChild first in main)", path, exe)
}

// childTimeout bounds a reader child's run for a file of size bytes: a
// minute plus a second per 10 MB, far slower than any disk reads. A
// variable so that tests can shorten it.
var childTimeout = func(size int64) time.Duration {
	return time.Minute + time.Duration(size/(10<<20))*time.Second
}

// maxChildError bounds an error message from a reader child.
const maxChildError = 1 << 20

// readChild reads a reader child's answer: its first line, and the model
// (decoded straight from the stream, its length given by the line) or the
// error message that follows. A head that is neither comes back with
// neither.
func readChild(r *bufio.Reader) (head string, m *model.Model, body []byte, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return "", nil, nil, nil // no answer line: not a reader child
	}
	head = strings.TrimSuffix(string(line), "\n")
	switch {
	case strings.HasPrefix(head, childModel+" "):
		n, err := strconv.ParseInt(head[len(childModel)+1:], 10, 64)
		if err != nil || n < 0 {
			return head, nil, nil, fmt.Errorf("the reader child's answer: bad model length in %q", head)
		}
		if err := limits.Check("the reader child's model", n, 1); err != nil {
			return head, nil, nil, err
		}
		er := &eofReader{r: r}
		m, err := native.Read(er, n)
		switch {
		case err != nil && er.eof:
			// The child stopped short of the length it promised.
			return head, nil, nil, fmt.Errorf("the reader child's answer: model encoding: %w", io.ErrUnexpectedEOF)
		case err != nil:
			return head, nil, nil, fmt.Errorf("the reader child sent a bad model: %w", err)
		}
		return head, m, nil, nil
	case strings.HasPrefix(head, childError+" "):
		if body, err = io.ReadAll(io.LimitReader(r, maxChildError)); err != nil {
			return head, nil, nil, fmt.Errorf("the reader child's answer: %w", err)
		}
	}
	return head, nil, body, nil
}

// eofReader notes whether its reader has reached the end of its input.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}

// remoteError is an error a reader child returned: its message, and the
// sentinels it wrapped by name.
type remoteError struct {
	msg   string
	kinds []string
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Is(target error) bool {
	for _, s := range childSentinels {
		if s.err == target && slices.Contains(e.kinds, s.name) {
			return true
		}
	}
	return false
}

// goSignal matches the first line of the Go runtime's report of a fatal
// signal ("SIGSEGV: segmentation violation"), which is how a crash inside
// cgo ends a Go program (runtime/signal_unix.go, sighandler).
var goSignal = regexp.MustCompile(`^(SIG[A-Z]+): (.+)$`)

// childFailure describes how a reader child died.
func childFailure(path string, ee *exec.ExitError, stderr string) error {
	const advice = "the file was not read; use an intact copy or save the model again with Keras"
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch s := ws.Signal(); s {
		case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP:
			return fmt.Errorf("formats: %s: reading was interrupted (%v)", path, s)
		case syscall.SIGKILL:
			return fmt.Errorf("formats: %s: the reader process was killed (out of memory?); the file was not read", path)
		default:
			return fmt.Errorf("keras: %s: %w: the reader process died of %v (%s); %s", path, ErrHDF5Crash, s, signalName(s), advice)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := goSignal.FindStringSubmatch(line); m != nil {
			return fmt.Errorf("keras: %s: %w: %s (%s) in the reader process; %s", path, ErrHDF5Crash, m[2], m[1], advice)
		}
		if s, ok := strings.CutPrefix(line, "fatal error: "); ok {
			return fmt.Errorf("formats: %s: the reader process failed: %s; the file was not read", path, s)
		}
		if s, ok := strings.CutPrefix(line, "panic: "); ok {
			return fmt.Errorf("formats: %s: the reader process panicked (%s): a bug in xfer, please report it with the file", path, s)
		}
	}
	return fmt.Errorf("formats: %s: the reader process exited with status %d; the file was not read", path, ee.ExitCode())
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

// capped keeps the first limit bytes written to it and drops the rest (the
// child must never block on a full pipe).
type capped struct {
	b     bytes.Buffer
	limit int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
