package peers

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// maxLine bounds one line of a .dat file (16 MiB): the widest shared
// fixture row (28x28 images, 784 values of at most ~25 characters) is well
// under 1 MiB.
const maxLine = 1 << 24

// Find returns the absolute path of shared/interop/<sub> (sub may be "", or
// "keras", "keras3"), found by walking up from the working directory and
// looking for shared/interop in each ancestor, the repository's parent
// included. When it is absent the error wraps [fs.ErrNotExist].
func Find(sub string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	start := dir
	for {
		p := filepath.Join(dir, "shared", "interop", sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("peers: %s not found in %s or any directory above it: %w",
				filepath.Join("shared", "interop", sub), start, fs.ErrNotExist)
		}
		dir = parent
	}
}

// Interop returns the absolute path of shared/interop/<sub> as [Find] does.
// When it is absent it skips the test with a loud message saying that what
// (e.g. "the fold-bn checks against real Keras models") did NOT run.
func Interop(t testing.TB, sub, what string) string {
	t.Helper()
	p, err := Find(sub)
	if err != nil {
		name := "../shared/interop"
		if sub != "" {
			name += "/" + sub
		}
		t.Skipf("SKIPPING: %s (real Keras-written files) not found beside the repository: %s did NOT run (%v)", name, what, err)
	}
	return p
}

// ReadDat reads a reference .dat file: whitespace-separated numbers (runs of
// spaces and trailing spaces allowed), one sample per line, blank lines
// ignored. The tensor is float32 [rows, shape...]; with no shape it is
// [rows, cols]. Values are parsed as float64 and narrowed, as NumPy's
// loadtxt does. A missing file, a bad number, rows of different lengths,
// no rows at all or a count that does not fill the shape fail the test.
func ReadDat(t testing.TB, path string, shape ...int) *model.Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	defer f.Close()
	var data []float32
	rows, cols := 0, -1
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if cols >= 0 && len(fields) != cols {
			t.Fatalf("peers: %s: line %d has %d values, want %d like the lines before it", path, line, len(fields), cols)
		}
		cols = len(fields)
		for _, s := range fields {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("peers: %s: line %d: %v", path, line, err)
			}
			data = append(data, float32(v))
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("peers: %s: %v", path, err)
	}
	if rows == 0 {
		t.Fatalf("peers: %s: no rows of numbers", path)
	}
	if len(shape) == 0 {
		shape = []int{cols}
	}
	full := append([]int{rows}, shape...)
	if model.NumElements(full) != len(data) {
		t.Fatalf("peers: %s: %d values (%d rows of %d) do not fill shape %v", path, len(data), rows, cols, full)
	}
	return &model.Tensor{DType: model.Float32, Shape: full, F32: data}
}

// ReadNPY reads a .npy file with [tensorio.ReadFile]: float32 and float64
// data come back as a Float32 tensor, int64 as Int64. A bad or missing file,
// or a path not ending in .npy, fails the test.
func ReadNPY(t testing.TB, path string) *model.Tensor {
	t.Helper()
	if filepath.Ext(path) != ".npy" {
		t.Fatalf("peers: %s is not a .npy file", path)
	}
	x, err := tensorio.ReadFile(path)
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	return x
}
