package peers

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// KerasPython is real Keras 3 (the ../shared/keras-runtime build: Keras
// 3.16 on its numpy backend) ready to run a Python script.
type KerasPython struct {
	// Dir is the runtime's folder (holding env.sh, shim/ and site/).
	Dir string
}

// KerasRuntime finds the Keras runtime built from ../shared/keras-runtime:
// the folder named by XFER_KERAS_RUNTIME, else shared/keras-runtime beside
// the repository when built in place, else /tmp/keras-runtime (its README's
// KERAS_RUNTIME_DIR example). When none is built it skips the test with a
// loud message saying that what (e.g. "real Keras loading our .keras files")
// did NOT run. CI has no runtime; these checks run on developers' machines.
func KerasRuntime(t testing.TB, what string) *KerasPython {
	t.Helper()
	var dirs []string
	if d := os.Getenv("XFER_KERAS_RUNTIME"); d != "" {
		dirs = append(dirs, d)
	}
	if p, err := Find(""); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(p), "keras-runtime"))
	}
	dirs = append(dirs, "/tmp/keras-runtime")
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, "site", "keras")); err == nil && st.IsDir() {
			return &KerasPython{Dir: d}
		}
	}
	t.Skipf("SKIPPING: real Keras 3 (../shared/keras-runtime, built with its setup.sh; set XFER_KERAS_RUNTIME to its folder) not found in %s: %s did NOT run", strings.Join(dirs, ", "), what)
	return nil
}

// Run runs script with Debian's python3 and Keras on its numpy backend,
// with args as sys.argv[1:], and returns its standard output; a failure
// ends the test with the script's output.
func (k *KerasPython) Run(t testing.TB, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(),
		"PYTHONPATH="+filepath.Join(k.Dir, "shim")+":"+filepath.Join(k.Dir, "site"),
		"KERAS_BACKEND=numpy", "TF_CPP_MIN_LOG_LEVEL=3", "PYTHONWARNINGS=ignore")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("keras runtime: %v\n%s\n%s", err, out.String(), errb.String())
	}
	return out.String()
}
