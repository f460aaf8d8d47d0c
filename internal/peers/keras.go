package peers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
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

// KerasJob asks real Keras to load Model (keras.saving.load_model,
// compile=False) and predict Inputs (one per model input, in order).
type KerasJob struct {
	Model  string
	Inputs []*model.Tensor
}

// kerasPredict is the script Predict runs: one process for all jobs, since
// importing Keras takes seconds. Failures to load are reported per job.
const kerasPredict = `import sys, json, numpy as np, keras
jobs = json.loads(sys.argv[1])
for j in jobs:
    try:
        m = keras.saving.load_model(j["model"], compile=False)
        xs = [np.load(p) for p in j["inputs"]]
        y = m.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        np.save(j["output"], np.asarray(y, dtype=np.float32))
    except Exception as e:
        with open(j["output"] + ".err", "w") as f:
            f.write(type(e).__name__ + ": " + str(e).replace("\n", " ")[:2000])
`

// Predict runs every job in one Keras process and returns, per job, Keras's
// prediction or the error Keras gave loading or running the file. A failure
// of the process itself fails the test.
func (k *KerasPython) Predict(t testing.TB, jobs []KerasJob) ([]*model.Tensor, []error) {
	t.Helper()
	dir := t.TempDir()
	type job struct {
		Model  string   `json:"model"`
		Inputs []string `json:"inputs"`
		Output string   `json:"output"`
	}
	var js []job
	for i, j := range jobs {
		var ins []string
		for n, x := range j.Inputs {
			in := filepath.Join(dir, fmt.Sprintf("in%d_%d.npy", i, n))
			if err := tensorio.WriteNPY(in, x); err != nil {
				t.Fatalf("peers: %v", err)
			}
			ins = append(ins, in)
		}
		js = append(js, job{j.Model, ins, filepath.Join(dir, fmt.Sprintf("out%d.npy", i))})
	}
	arg, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	k.Run(t, kerasPredict, string(arg))
	outs := make([]*model.Tensor, len(js))
	errs := make([]error, len(js))
	for i, j := range js {
		if b, err := os.ReadFile(j.Output + ".err"); err == nil {
			errs[i] = fmt.Errorf("keras.saving.load_model(%s): %s", jobs[i].Model, b)
			continue
		}
		if outs[i], errs[i] = tensorio.ReadFile(j.Output); errs[i] != nil {
			errs[i] = fmt.Errorf("peers: %s: %w", jobs[i].Model, errs[i])
		}
	}
	return outs, errs
}
