package peers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// recorder is a testing.TB whose Fatal and Skip record the message and end
// the calling goroutine, as the real ones do, so the failure paths of the
// helpers can be checked without failing the enclosing test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...); runtime.Goexit() }

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skip(args ...any) { r.skip = fmt.Sprint(args...); runtime.Goexit() }

func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// capture runs f with a recorder in its own goroutine (runtime.Goexit must
// not end the test's goroutine) and returns what it recorded.
func capture(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadDat(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text string
		shape      []int
		wantShape  []int
		want       []float32
		fatal      string // substring of the t.Fatal message; "" for success
	}{
		// The shared tf.keras files are written with runs of spaces and a
		// trailing space on each line (../shared/interop/keras/README.md).
		{name: "runs of spaces", text: "1  2   3 \n 4\t5 6  \n", wantShape: []int{2, 3}, want: []float32{1, 2, 3, 4, 5, 6}},
		{name: "blank lines, no final newline", text: "\n1.5e-1 -2\n\n3 4", wantShape: []int{2, 2}, want: []float32{0.15, -2, 3, 4}},
		{name: "CRLF", text: "1 2\r\n3 4\r\n", wantShape: []int{2, 2}, want: []float32{1, 2, 3, 4}},
		{name: "sample shape", text: "1 2 3 4\n5 6 7 8\n", shape: []int{2, 2}, wantShape: []int{2, 2, 2}, want: []float32{1, 2, 3, 4, 5, 6, 7, 8}},
		{name: "one column", text: "0.5\n0.25\n", wantShape: []int{2, 1}, want: []float32{0.5, 0.25}},
		{name: "bad number", text: "1 2\n3 x\n", fatal: "line 2"},
		{name: "ragged rows", text: "1 2 3\n4 5\n", fatal: "line 2 has 2 values, want 3"},
		{name: "empty", text: " \n\n", fatal: "no rows"},
		{name: "shape not filled", text: "1 2 3\n", shape: []int{2, 2}, fatal: "do not fill shape [1 2 2]"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, fmt.Sprintf("case%d.dat", i), tc.text)
			var got *model.Tensor
			r := capture(t, func(tb testing.TB) { got = ReadDat(tb, path, tc.shape...) })
			if tc.fatal != "" {
				if !strings.Contains(r.fatal, tc.fatal) || !strings.Contains(r.fatal, path) {
					t.Errorf("ReadDat(%q) failed with %q; want a failure naming the file and %q", tc.text, r.fatal, tc.fatal)
				}
				return
			}
			if r.fatal != "" {
				t.Fatalf("ReadDat(%q) failed: %s", tc.text, r.fatal)
			}
			if got.DType != model.Float32 || !slices.Equal(got.Shape, tc.wantShape) || !slices.Equal(got.F32, tc.want) {
				t.Errorf("ReadDat(%q, %v) = %v %v %v; want float32 %v %v", tc.text, tc.shape, got.DType, got.Shape, got.F32, tc.wantShape, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(dir, "absent.dat")
		r := capture(t, func(tb testing.TB) { ReadDat(tb, path) })
		if !strings.Contains(r.fatal, "absent.dat") {
			t.Errorf("ReadDat(%s) failed with %q; want a failure naming the file", path, r.fatal)
		}
	})
}

func TestReadNPY(t *testing.T) {
	dir := t.TempDir()
	want := &model.Tensor{DType: model.Float32, Shape: []int{2, 3}, F32: []float32{1, -2, 3.5, 0, 1e-7, -1e7}}
	good := filepath.Join(dir, "x.npy")
	if err := tensorio.WriteNPY(good, want); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		fatal      string // substring of the t.Fatal message; "" for success
	}{
		{name: "float32", path: good},
		{name: "not npy", path: writeFile(t, dir, "bad.npy", "not a numpy file"), fatal: "bad.npy"},
		{name: "missing", path: filepath.Join(dir, "absent.npy"), fatal: "absent.npy"},
		{name: "wrong extension", path: writeFile(t, dir, "x.dat", "1 2\n"), fatal: "not a .npy file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *model.Tensor
			r := capture(t, func(tb testing.TB) { got = ReadNPY(tb, tc.path) })
			if tc.fatal != "" {
				if !strings.Contains(r.fatal, tc.fatal) {
					t.Errorf("ReadNPY(%s) failed with %q; want a failure containing %q", tc.path, r.fatal, tc.fatal)
				}
				return
			}
			if r.fatal != "" {
				t.Fatalf("ReadNPY(%s) failed: %s", tc.path, r.fatal)
			}
			if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.F32, want.F32) {
				t.Errorf("ReadNPY(%s) = %v %v %v; want %v %v %v", tc.path, got.DType, got.Shape, got.F32, want.DType, want.Shape, want.F32)
			}
		})
	}
}

// TestInterop builds root/shared/interop/keras beside root/repo/a/b and
// checks the walk up from root/repo/a/b, and the loud skip when a set is
// absent.
func TestInterop(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"shared/interop/keras", "repo/a/b"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A file, not a directory, must not count as the set.
	writeFile(t, filepath.Join(root, "shared", "interop"), "keras3", "not a directory")
	t.Chdir(filepath.Join(root, "repo", "a", "b"))

	tests := []struct {
		sub, want string // want "" means absent
	}{
		{sub: "", want: filepath.Join(root, "shared", "interop")},
		{sub: "keras", want: filepath.Join(root, "shared", "interop", "keras")},
		{sub: "keras3"},
		{sub: "nope"},
	}
	for _, tc := range tests {
		t.Run("sub="+tc.sub, func(t *testing.T) {
			got, err := Find(tc.sub)
			if tc.want == "" {
				if err == nil || !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Find(%q) = %q, %v; want an error wrapping fs.ErrNotExist", tc.sub, got, err)
				}
				if alsoAbove(root, tc.sub) {
					t.Skipf("a shared/interop/%s above the temporary directory hides the skip", tc.sub)
				}
				r := capture(t, func(tb testing.TB) { Interop(tb, tc.sub, "the frobnication checks") })
				wantMsg := "SKIPPING: ../shared/interop/" + tc.sub + " (real Keras-written files) not found beside the repository: the frobnication checks did NOT run"
				if !strings.HasPrefix(r.skip, wantMsg) {
					t.Errorf("Interop(%q) skipped with %q; want it to start with %q", tc.sub, r.skip, wantMsg)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Find(%q) = %q, %v; want %q", tc.sub, got, err, tc.want)
			}
			r := capture(t, func(tb testing.TB) { got = Interop(tb, tc.sub, "the frobnication checks") })
			if r.skip != "" || r.fatal != "" || got != tc.want {
				t.Errorf("Interop(%q) = %q (skip %q, fatal %q); want %q", tc.sub, got, r.skip, r.fatal, tc.want)
			}
		})
	}
}

// alsoAbove reports whether the machine has a shared/interop/<sub> above the
// temporary root, which a walk from inside it would legitimately find.
func alsoAbove(root, sub string) bool {
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		if st, err := os.Stat(filepath.Join(dir, "shared", "interop", sub)); err == nil && st.IsDir() {
			return true
		}
		if filepath.Dir(dir) == dir {
			return false
		}
	}
}
