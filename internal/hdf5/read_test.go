package hdf5

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

const guards = "testdata/guards.h5" // written by testdata/gen.py (h5py)

func openGuards(t *testing.T) *File {
	t.Helper()
	f, err := Open(guards)
	if err != nil {
		t.Fatalf("Open(%s) = %v", guards, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestAttrStrings(t *testing.T) {
	f := openGuards(t)
	cases := []struct {
		name string
		want []string
	}{
		{"vlen_scalar", []string{"héllo"}},
		{"fixed_scalar", []string{"fixed"}},
		{"fixed_array", []string{"dense_1", "bn", ""}},
		{"vlen_array", []string{"input_1", "fc1_relu", strings.Repeat("x", 300)}},
		{"empty_f64", []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := f.AttrStrings("/", c.name)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("AttrStrings(/, %s) = %q, %v; want %q", c.name, got, err, c.want)
			}
		})
	}
	if _, err := f.AttrStrings("/", "floats"); !errors.Is(err, ErrFormat) {
		t.Errorf("AttrStrings(/, floats) error = %v; want ErrFormat", err)
	}
	if _, err := f.AttrStrings("/", "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AttrStrings(/, missing) error = %v; want ErrNotFound", err)
	}
	if _, err := f.AttrString("/", "vlen_array"); err == nil {
		t.Errorf("AttrString(/, vlen_array) of a 3-string attribute succeeded")
	}
	if !f.HasAttr("/", "ints") || f.HasAttr("/", "nope") || f.HasAttr("/nope", "ints") {
		t.Errorf("HasAttr gives wrong answers")
	}
}

func TestAttrFloats(t *testing.T) {
	f := openGuards(t)
	for name, want := range map[string][]float64{"floats": {1.5, -2, 3.25}, "ints": {7, 8}, "empty_f64": {}} {
		got, err := f.AttrFloats("/", name)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("AttrFloats(/, %s) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := f.AttrFloats("/", "vlen_scalar"); !errors.Is(err, ErrFormat) {
		t.Errorf("AttrFloats(/, vlen_scalar) error = %v; want ErrFormat", err)
	}
}

// TestKerasStringEncodings reads layer_names and weight_names from real
// Keras files: 2.3.1 stores them as fixed-length strings, 2.13.1 and 3.x as
// variable-length ones (../shared/interop/*/README.md).
func TestKerasStringEncodings(t *testing.T) {
	dir := peers.Interop(t, "", "the Keras string-encoding tests")
	cases := []struct {
		file, layer string
		layers      []string
		weights     []string
	}{
		{"keras/keras_3layer/keras_3layer.h5", "fc1_relu", []string{"input_1", "fc1_relu", "fc2_relu", "fc3_relu", "output_softmax"}, []string{"fc1_relu/kernel:0", "fc1_relu/bias:0"}},
		{"keras/conv1d_1layer/conv1d_1layer.h5", "conv1d", []string{"input_1", "conv1d"}, []string{"conv1d/kernel:0", "conv1d/bias:0"}},
		{"keras3/bn_dense.h5", "batch_normalization", []string{"flatten", "dense", "batch_normalization", "activation", "dense_1"}, []string{"bn_dense/batch_normalization/gamma", "bn_dense/batch_normalization/beta", "bn_dense/batch_normalization/moving_mean", "bn_dense/batch_normalization/moving_variance"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := Open(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := f.AttrStrings("model_weights", "layer_names")
			if err != nil || !slices.Equal(got, c.layers) {
				t.Errorf("layer_names = %q, %v; want %q", got, err, c.layers)
			}
			got, err = f.AttrStrings("model_weights/"+c.layer, "weight_names")
			if err != nil || !slices.Equal(got, c.weights) {
				t.Errorf("weight_names = %q, %v; want %q", got, err, c.weights)
			}
			if got, err := f.AttrStrings("model_weights/"+c.layers[0], "weight_names"); err != nil || len(got) != 0 {
				t.Errorf("weight_names of weightless %s = %q, %v; want empty", c.layers[0], got, err)
			}
		})
	}
}

func TestDataset(t *testing.T) {
	f := openGuards(t)
	cases := []struct {
		path  string
		shape []int
		data  []float32
	}{
		{"model_weights/a/a/f32", []int{2, 3}, []float32{0, 0.25, 0.5, 0.75, 1, 1.25}},
		{"/model_weights/a/a/f64", []int{3}, []float32{0.1, -1e-3, 1e30}},
		{"model_weights/a/a/f16", []int{2}, []float32{0.5, -2}},
		{"model_weights/a/a/scalar", []int{}, []float32{3.5}},
		{"model_weights/a/a/empty", []int{0, 4}, []float32{}},
	}
	for _, c := range cases {
		shape, data, err := f.Dataset(c.path)
		if err != nil || !slices.Equal(shape, c.shape) || !slices.Equal(data, c.data) {
			t.Errorf("Dataset(%s) = %v, %v, %v; want %v, %v", c.path, shape, data, err, c.shape, c.data)
		}
	}
	shape, data, err := f.Dataset("model_weights/a/a/gzip")
	if err != nil || !slices.Equal(shape, []int{100, 10}) || data[0] != -1 || data[999] != 1 {
		t.Errorf("Dataset(gzip) = %v, [%v ... %v], %v; want [100 10], [-1 ... 1]", shape, data[0], data[len(data)-1], err)
	}
}

// TestNumericDataset: integer datasets (Keras's Normalization count) are
// read as float32 by NumericDataset and refused by Dataset; floats read the
// same through both.
func TestNumericDataset(t *testing.T) {
	f := openGuards(t)
	cases := []struct {
		path  string
		shape []int
		data  []float32
		isInt bool
	}{
		{"model_weights/a/a/int32", []int{2}, []float32{1, 2}, true}, // testdata/gen.py
		{"model_weights/a/a/f32", []int{2, 3}, []float32{0, 0.25, 0.5, 0.75, 1, 1.25}, false},
	}
	for _, c := range cases {
		shape, data, isInt, err := f.NumericDataset(c.path)
		if err != nil || !slices.Equal(shape, c.shape) || !slices.Equal(data, c.data) || isInt != c.isInt {
			t.Errorf("NumericDataset(%s) = %v, %v, %v, %v; want %v, %v, %v", c.path, shape, data, isInt, err, c.shape, c.data, c.isInt)
		}
	}
	if _, _, _, err := f.NumericDataset("model_weights/a/a/strings"); !errors.Is(err, model.ErrUnsupported) {
		t.Errorf("NumericDataset(strings) error = %v; want ErrUnsupported", err)
	}
	if _, _, err := f.Dataset("model_weights/a/a/int32"); err == nil || !strings.Contains(err.Error(), "not a 16-, 32- or 64-bit float") {
		t.Errorf("Dataset(int32) error = %v; want the float-only refusal", err)
	}
}

func TestRefused(t *testing.T) {
	f := openGuards(t)
	cases := []struct {
		path string
		want error
	}{
		{"model_weights/a/a/int32", model.ErrUnsupported},
		{"model_weights/a/a/strings", model.ErrUnsupported},
		{"bomb_chunked", ErrFormat},
		{"bomb_contiguous", ErrFormat},
		{"bomb_maxshape", ErrFormat},
		{"soft", model.ErrUnsupported},
		{"soft/a/f32", model.ErrUnsupported},
		{"external", model.ErrUnsupported},
		{"external_storage", model.ErrUnsupported},
		{"virtual", model.ErrUnsupported},
		{"missing", ErrNotFound},
		{"model_weights/../soft", ErrFormat},
		{"model_weights", ErrFormat}, // a group
	}
	for _, c := range cases {
		if _, _, err := f.Dataset(c.path); !errors.Is(err, c.want) {
			t.Errorf("Dataset(%s) error = %v; want %v", c.path, err, c.want)
		}
	}
	if _, err := f.Members("soft"); !errors.Is(err, model.ErrUnsupported) {
		t.Errorf("Members(soft) error = %v; want model.ErrUnsupported", err)
	}
}

func TestMembersAndKind(t *testing.T) {
	f := openGuards(t)
	got, err := f.Members("model_weights")
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Members(model_weights) = %q, %v; want [a b] (name order)", got, err)
	}
	got, err = f.Members("/")
	if err != nil || !slices.Contains(got, "soft") || !slices.Contains(got, "model_weights") {
		t.Errorf("Members(/) = %q, %v; want the root's links", got, err)
	}
	for path, want := range map[string]Kind{"/": Group, "model_weights/a": Group, "model_weights/a/a/f32": Dataset} {
		if k, err := f.Kind(path); k != want || err != nil {
			t.Errorf("Kind(%s) = %v, %v; want %v", path, k, err, want)
		}
	}
	if f.Exists("soft") || !f.Exists("model_weights/b") {
		t.Errorf("Exists follows soft links or misses groups")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.h5")
	if err := os.WriteFile(junk, []byte("not an hdf5 file at all, just text"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(junk); !errors.Is(err, ErrFormat) {
		t.Errorf("Open(junk) error = %v; want ErrFormat", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.h5")); err == nil {
		t.Errorf("Open(missing) succeeded")
	}
	if _, err := Open(dir); err == nil {
		t.Errorf("Open(directory) succeeded")
	}
	if _, err := OpenBytes([]byte("short"), "short"); !errors.Is(err, ErrFormat) {
		t.Errorf("OpenBytes(short) error = %v; want ErrFormat", err)
	}
}

func TestOpenBytes(t *testing.T) {
	b, err := os.ReadFile(guards)
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenBytes(b, "mem")
	if err != nil {
		t.Fatalf("OpenBytes = %v", err)
	}
	defer f.Close()
	if _, data, err := f.Dataset("model_weights/a/a/f32"); err != nil || data[5] != 1.25 {
		t.Errorf("Dataset from memory = %v, %v; want ...1.25", data, err)
	}
}

// TestTruncated cuts a real Keras file at many offsets: every cut must give
// an error (from Open or from a read), never a panic or a crash.
func TestTruncated(t *testing.T) {
	b, err := os.ReadFile(guards)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []int{0, 1, 8, 100, 512, 1024, 2048, len(b) / 2, len(b) - 100, len(b) - 1} {
		p := filepath.Join(dir, "cut.h5")
		if err := os.WriteFile(p, b[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Open(p)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Errorf("Open(cut at %d) error = %v; want ErrFormat", n, err)
			}
			continue
		}
		_, _, err = f.Dataset("model_weights/a/a/gzip")
		f.Close()
		if err == nil {
			t.Errorf("file cut at %d of %d bytes read without error", n, len(b))
		}
	}
}

// FuzzOpenBytes feeds truncated files and random bytes to the reader.
// libhdf5 1.10 itself dereferences wild pointers on some bit-flipped object
// headers (SIGSEGV inside H5Oopen, found by mutating guards.h5; h5py and so
// Keras share it), which no Go code can recover from. So inputs that hold
// the HDF5 signature must be prefixes of the seed (truncations, which
// libhdf5 detects by comparing the stored end-of-file address with the real
// size); any other input is random data that must be refused cleanly.
func FuzzOpenBytes(f *testing.F) {
	seed, err := os.ReadFile(guards)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, n := range []int{0, 8, 96, 1000, len(seed) / 2} {
		f.Add(seed[:n])
	}
	f.Add([]byte("\x89HDF\r\n\x1a\n but not really"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte("\x89HDF\r\n\x1a\n")) && !bytes.HasPrefix(seed, data) {
			t.Skip("mutated HDF5 structures can crash libhdf5 itself; see the doc comment")
		}
		h, err := OpenBytes(data, "fuzz")
		if err != nil {
			return
		}
		defer h.Close()
		budget := 200 // a damaged file may link a group to its ancestor
		walk(h, "/", &budget)
	})
}

// walk reads everything reachable, as an importer would, visiting at most
// *budget objects.
func walk(h *File, path string, budget *int) {
	names, err := h.Members(path)
	if err != nil {
		return
	}
	for _, n := range names {
		if *budget--; *budget < 0 {
			return
		}
		p := strings.TrimSuffix(path, "/") + "/" + n
		_, _ = h.AttrStrings(p, "weight_names")
		switch k, _ := h.Kind(p); k {
		case Group:
			walk(h, p, budget)
		case Dataset:
			_, _, _ = h.Dataset(p)
		}
	}
}

// TestDatasetCeiling: an honest dataset above the memory ceiling is refused
// before allocation with an error naming it and the ceiling's variable.
func TestDatasetCeiling(t *testing.T) {
	f := openGuards(t)
	restore := limits.Set(1000) // bytes: the 100x10 float32 gzip dataset needs 4000
	defer restore()
	_, _, err := f.Dataset("model_weights/a/a/gzip")
	if !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), `dataset "model_weights/a/a/gzip"`) || !strings.Contains(err.Error(), limits.EnvVar) {
		t.Errorf("Dataset(gzip) under a 1000-byte ceiling: error %v; want ErrTooLarge naming the dataset and %s", err, limits.EnvVar)
	}
	restore()
	if _, _, err := f.Dataset("model_weights/a/a/gzip"); err != nil {
		t.Errorf("Dataset(gzip) with the default ceiling: %v", err)
	}
}

func TestVersion(t *testing.T) {
	// Debian's libhdf5-dev is 1.10 (bookworm) or later; xfer needs 1.10's API.
	var maj, mnr, rel int
	if n, err := fmt.Sscanf(Version(), "%d.%d.%d", &maj, &mnr, &rel); n != 3 || err != nil || maj != 1 || mnr < 10 {
		t.Errorf("Version() = %q; want 1.10.x or later", Version())
	}
}
