// Package visionfix gives tests the torchvision fixtures that
// fixtures/torch/vision.py writes: twelve classification models exported by
// torch.onnx.export at opsets 13 and 17, with an input batch and torch's
// output for it.
//
// The files are too big to commit (resnet18 47 MB, vit_b_16 346 MB per
// opset), so they are generated on demand by Debian's /usr/bin/python3
// (python3-torch, python3-torchvision) into a cache directory named after the
// generator's sha256: $XFER_VISION_CACHE if set, else
// os.UserCacheDir()/xfer/vision-<hash>. Editing vision.py therefore makes new
// files; cache directories of other generator versions unused for a week are
// removed. Generation runs under an flock on the cache directory, so test
// binaries of several packages running at once generate each model once.
// Without python3-torchvision the tests that need the files skip, loudly.
//
// [Models] lists the models and which of them belong to the default test
// suite: the others are generated and checked only with XFER_LONG=1 (see
// [Long]), because generating and converting them costs minutes on the
// project's 2-core machine.
//
// This package is for tests only: it imports "testing".
package visionfix

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Python is the interpreter that has python3-torch and python3-torchvision
// (Debian's, not a pyenv python3 that may come first on PATH).
const Python = "/usr/bin/python3"

// Opsets are the ONNX opsets each model is exported at.
var Opsets = []int{13, 17}

// Spec is one fixture model.
type Spec struct {
	Name string
	// Long marks a model checked only with XFER_LONG=1.
	Long bool
	// NeedsOps lists the ONNX ops of the model that xfer lacked when the
	// fixtures were added (issue 11 item 2): a test may skip the model,
	// loudly, while one of these (and only these) is missing; see Pending.
	NeedsOps []string
}

// Models lists vision.py's models in its order. The default suite keeps
// five small ones that between them hold every layer kind of the CNNs
// (depthwise and grouped convolutions, squeeze-excitation, hard-swish,
// ceil-mode pooling, channel shuffle and split, global pooling by
// ReduceMean); the big ones, resnet18 (47 MB per opset) among them, are
// behind XFER_LONG=1.
var Models = []Spec{
	{Name: "resnet18", Long: true},
	{Name: "mobilenet_v2"},
	{Name: "mobilenet_v3_small"},
	{Name: "squeezenet1_1"},
	{Name: "efficientnet_b0", Long: true},
	{Name: "densenet121", Long: true},
	{Name: "googlenet", Long: true},
	{Name: "mnasnet0_5"},
	{Name: "regnet_y_400mf", Long: true},
	{Name: "convnext_tiny", Long: true},
	{Name: "vit_b_16", Long: true},
	{Name: "shufflenet_v2_x0_5"},
}

// Long reports whether XFER_LONG=1 asks for the long tests.
func Long() bool { return os.Getenv("XFER_LONG") == "1" }

// Selected returns the models a test should run: all with XFER_LONG=1, else
// those not marked Long.
func Selected() []Spec {
	var out []Spec
	for _, s := range Models {
		if !s.Long || Long() {
			out = append(out, s)
		}
	}
	return out
}

// GetSelected returns the models a test should run (Selected) and their
// files (Get), generated in one run of vision.py where missing.
func GetSelected(t testing.TB) ([]Spec, map[string]Files) {
	t.Helper()
	sel := Selected()
	names := make([]string, len(sel))
	for i, s := range sel {
		names[i] = s.Name
	}
	return sel, Get(t, names...)
}

// Files are one model's fixture files.
type Files struct {
	Name string
	// ONNX maps an opset to the exported model.
	ONNX map[int]string
	// X is the input batch [2, 3, H, W], Y torch's output [2, 1000] (.npy).
	X, Y string
	// Info is vision.py's manifest of the model (input shape, params, ...).
	Info Info
}

// Info is the MODEL.json manifest vision.py writes last.
type Info struct {
	Model     string  `json:"model"`
	Input     []int   `json:"input"`
	Output    []int   `json:"output"`
	Params    int     `json:"params"`
	OutputStd float64 `json:"output_std"`
	Torch     string  `json:"torch"`
	// Ops lists the ONNX op types of the exported graph per opset ("13").
	Ops map[string][]string `json:"ops"`
}

// Pending skips the test, loudly, when the model at opset uses ops missing
// from supported that s.NeedsOps declares as not yet implemented, and fails
// it when a missing op is not declared (a regression, or a new fixture).
func Pending(t testing.TB, s Spec, f Files, opset int, supported []string) {
	t.Helper()
	have := map[string]bool{}
	for _, op := range supported {
		have[op] = true
	}
	var missing, undeclared []string
	for _, op := range f.Info.Ops[fmt.Sprint(opset)] {
		if !have[op] {
			missing = append(missing, op)
			if !slices.Contains(s.NeedsOps, op) {
				undeclared = append(undeclared, op)
			}
		}
	}
	switch {
	case len(undeclared) > 0:
		t.Fatalf("%s at opset %d uses ops xfer does not support: %v (not listed as pending in visionfix.Models)", s.Name, opset, undeclared)
	case len(missing) > 0:
		t.Skipf("SKIPPING %s at opset %d: xfer does not implement %v yet (issue 11 item 2); this check did NOT run", s.Name, opset, missing)
	}
}

// Generator returns the path of vision.py, found by walking up from the
// working directory to the repository root.
func Generator() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "fixtures", "torch", "vision.py")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("visionfix: %s: %w", p, err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("visionfix: no go.mod above the working directory")
		}
		dir = parent
	}
}

// CacheDir returns the cache directory for the generator at gen.
func CacheDir(gen string) (string, error) {
	src, err := os.ReadFile(gen)
	if err != nil {
		return "", fmt.Errorf("visionfix: %w", err)
	}
	sum := sha256.Sum256(src)
	name := "vision-" + hex.EncodeToString(sum[:8])
	if d := os.Getenv("XFER_VISION_CACHE"); d != "" {
		return filepath.Join(d, name), nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "xfer", name), nil
}

// Get returns the files of the named models, generating the missing ones in
// one run of vision.py. It skips the test loudly when python3-torchvision is
// not installed and fails it when generation fails.
func Get(t testing.TB, names ...string) map[string]Files {
	t.Helper()
	gen, err := Generator()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := CacheDir(gen)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("visionfix: %v", err)
	}
	unlock, err := lock(dir)
	if err != nil {
		t.Fatalf("visionfix: %v", err)
	}
	defer unlock()
	var missing []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n+".json")); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		if err := exec.Command(Python, "-c", "import torch, torchvision, onnx").Run(); err != nil {
			t.Skipf("SKIPPING: %s cannot import torch, torchvision and onnx (%v): install python3-torchvision and python3-onnx (scripts/setup.sh does); the torchvision model checks (%s) did NOT run",
				Python, err, strings.Join(missing, ", "))
		}
		start := time.Now()
		cmd := exec.Command("nice", append([]string{Python, gen, dir}, missing...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("visionfix: %s %s: %v\n%s", gen, strings.Join(missing, " "), err, out)
		}
		t.Logf("visionfix: generated %s into %s in %v", strings.Join(missing, ", "), dir, time.Since(start).Round(time.Second))
		pruneStale(dir)
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now) // marks the directory as in use (pruneStale)
	files := map[string]Files{}
	for _, n := range names {
		f := Files{Name: n, ONNX: map[int]string{}, X: filepath.Join(dir, n+"_x.npy"), Y: filepath.Join(dir, n+"_y.npy")}
		for _, op := range Opsets {
			f.ONNX[op] = filepath.Join(dir, fmt.Sprintf("%s_op%d.onnx", n, op))
		}
		b, err := os.ReadFile(filepath.Join(dir, n+".json"))
		if err != nil {
			t.Fatalf("visionfix: %v", err)
		}
		if err := json.Unmarshal(b, &f.Info); err != nil {
			t.Fatalf("visionfix: %s.json: %v", n, err)
		}
		files[n] = f
	}
	return files
}

// lock takes an exclusive flock on dir/.lock.
func lock(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// pruneStale removes sibling cache directories of other generator versions
// that no test used for a week (each holds about 1.3 GB).
func pruneStale(dir string) {
	parent := filepath.Dir(dir)
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(parent, e.Name())
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "vision-") || p == dir {
			continue
		}
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > 7*24*time.Hour {
			os.RemoveAll(p)
		}
	}
}
