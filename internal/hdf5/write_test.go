package hdf5

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleSpec is a Keras-like tree: string attributes of both character sets,
// a string array, an empty float64 array, nested groups and datasets.
func sampleSpec() *GroupSpec {
	root := &GroupSpec{Attrs: []AttrSpec{
		StringAttr("keras_version", "2.13.1", true),
		StringAttr("model_config", `{"class_name": "Sequential"}`, false),
	}}
	mw := root.Group("model_weights")
	mw.Attrs = []AttrSpec{StringsAttr("layer_names", []string{"dense", "flatten"})}
	d := root.Group("model_weights/dense")
	d.Attrs = []AttrSpec{StringsAttr("weight_names", []string{"dense/kernel:0", "dense/bias:0"})}
	root.AddDataset("model_weights/dense/dense/kernel:0", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	root.AddDataset("model_weights/dense/dense/bias:0", []int{3}, []float32{-1, 0, 1})
	root.Group("model_weights/flatten").Attrs = []AttrSpec{FloatsAttr("weight_names", nil)}
	root.AddDataset("scalar", nil, []float32{7})
	return root
}

func TestEncodeDeterministic(t *testing.T) {
	a, err := Encode(sampleSpec())
	if err != nil {
		t.Fatalf("Encode = %v", err)
	}
	b, err := Encode(sampleSpec())
	if err != nil {
		t.Fatalf("Encode = %v", err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("Encode twice: %d and %d bytes differ; want identical bytes", len(a), len(b))
	}
	if !bytes.HasPrefix(a, []byte("\x89HDF\r\n\x1a\n")) {
		t.Errorf("Encode: no HDF5 signature at offset 0")
	}
}

// TestEncodeH5py reads the written file with Debian's h5py, an HDF5 reader
// independent of ours.
func TestEncodeH5py(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import h5py").Run(); err != nil {
		t.Skipf("SKIPPING: %s cannot import h5py (%v): install python3-h5py to check written files independently", py, err)
	}
	data, err := Encode(sampleSpec())
	if err != nil {
		t.Fatalf("Encode = %v", err)
	}
	path := filepath.Join(t.TempDir(), "x.h5")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
out = {}
def s(a, k):
    t = a.get_id(k).get_type()
    return [t.is_variable_str(), t.get_cset()] if hasattr(t, "is_variable_str") else [str(a[k].dtype)]
out["root"] = {k: [f.attrs[k] if isinstance(f.attrs[k], str) else None] + s(f.attrs, k) for k in f.attrs}
mw = f["model_weights"]
out["layer_names"] = [str(x) for x in mw.attrs["layer_names"]] + s(mw.attrs, "layer_names")
out["weight_names"] = [str(x) for x in mw["dense"].attrs["weight_names"]]
wn = mw["flatten"].attrs["weight_names"]
out["empty"] = [str(wn.dtype), list(wn.shape)]
k = mw["dense/dense/kernel:0"]
out["kernel"] = [list(k.shape), str(k.dtype), k[()].ravel().tolist(), k.chunks is None, k.compression]
out["scalar"] = [list(f["scalar"].shape), float(f["scalar"][()])]
print(json.dumps(out))
`
	got, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("h5py on the written file: %v\n%s", err, got)
	}
	want := `{"root": {"keras_version": ["2.13.1", true, 1], "model_config": ["{\"class_name\": \"Sequential\"}", true, 0]}, ` +
		`"layer_names": ["dense", "flatten", true, 0], "weight_names": ["dense/kernel:0", "dense/bias:0"], ` +
		`"empty": ["float64", [0]], "kernel": [[2, 3], "float32", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], true, null], "scalar": [[], 7.0]}`
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("h5py output %q: %v", got, err)
	}
	json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("h5py sees\n%s\nwant\n%s", strings.TrimSpace(string(got)), want)
	}
}

// TestIntDatasets writes int32 and int64 datasets (IntBits), reads them
// back with NumericDataset, and checks their types with h5py.
func TestIntDatasets(t *testing.T) {
	root := &GroupSpec{}
	root.AddDataset("count32", nil, []float32{7}).IntBits = 32
	root.AddDataset("count64", []int{2}, []float32{3, -4}).IntBits = 64
	path := filepath.Join(t.TempDir(), "ints.h5")
	if err := WriteFile(path, root); err != nil {
		t.Fatalf("WriteFile = %v", err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		path  string
		shape []int
		data  []float32
	}{{"count32", []int{}, []float32{7}}, {"count64", []int{2}, []float32{3, -4}}} {
		shape, data, isInt, err := f.NumericDataset(c.path)
		if err != nil || !isInt || !reflect.DeepEqual(shape, c.shape) || !reflect.DeepEqual(data, c.data) {
			t.Errorf("NumericDataset(%s) = %v, %v, %v, %v; want %v, %v, true", c.path, shape, data, isInt, err, c.shape, c.data)
		}
	}
	bad := &GroupSpec{}
	bad.AddDataset("x", nil, []float32{1}).IntBits = 16
	if _, err := Encode(bad); err == nil {
		t.Errorf("Encode with IntBits 16 succeeded; want an error")
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import h5py").Run(); err != nil {
		t.Skipf("SKIPPING the h5py half: %s cannot import h5py (%v)", py, err)
	}
	got, err := exec.Command(py, "-c", `import h5py, sys
f = h5py.File(sys.argv[1], "r")
print(f["count32"].dtype.str, f["count32"][()], f["count64"].dtype.str, f["count64"][()].tolist())`, path).CombinedOutput()
	if want := "<i4 7 <i8 [3, -4]"; err != nil || strings.TrimSpace(string(got)) != want {
		t.Errorf("h5py sees %q (%v); want %q", got, err, want)
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		spec *GroupSpec
		want string
	}{
		{"nil", nil, "nil root"},
		{"short data", &GroupSpec{Datasets: []*DatasetSpec{{Name: "d", Shape: []int{2, 2}, Data: []float32{1}}}}, "needs 4 values"},
		{"negative dim", &GroupSpec{Datasets: []*DatasetSpec{{Name: "d", Shape: []int{-1}}}}, "bad shape"},
		{"slash", &GroupSpec{Groups: []*GroupSpec{{Name: "a/b"}}}, "bad member name"},
		{"twice", &GroupSpec{Groups: []*GroupSpec{{Name: "a"}}, Datasets: []*DatasetSpec{{Name: "a", Shape: []int{0}}}}, "appears twice"},
		{"nul", &GroupSpec{Attrs: []AttrSpec{StringAttr("a", "x\x00y", false)}}, "NUL"},
		{"scalar many", &GroupSpec{Attrs: []AttrSpec{{Name: "a", Strings: []string{"x", "y"}, Scalar: true}}}, "needs one value"},
		{"repeated attr", &GroupSpec{Attrs: []AttrSpec{FloatsAttr("a", nil), FloatsAttr("a", nil)}}, "repeated attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Encode(%s) = %v; want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
}

func BenchmarkEncode1M(b *testing.B) {
	data := make([]float32, 1<<20)
	for i := range data {
		data[i] = float32(i)
	}
	spec := &GroupSpec{}
	spec.AddDataset("w/kernel", []int{1024, 1024}, data)
	b.SetBytes(4 << 20)
	for b.Loop() {
		if _, err := Encode(spec); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteFileSameBytes: the file written through libhdf5's default driver
// is byte for byte the in-memory image, for a small spec and for one with
// datasets larger than the core driver's 1 MiB increment.
func TestWriteFileSameBytes(t *testing.T) {
	big := sampleSpec()
	data := make([]float32, 700_000)
	for i := range data {
		data[i] = float32(i) * 0.5
	}
	big.AddDataset("model_weights/dense/big", []int{700, 1000}, data)
	big.AddDataset("model_weights/dense/big2", []int{1000}, data[:1000])
	for _, tt := range []struct {
		name string
		spec func() *GroupSpec
	}{{"sample", sampleSpec}, {"big", func() *GroupSpec { return big }}} {
		t.Run(tt.name, func(t *testing.T) {
			want, err := Encode(tt.spec())
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "w.h5")
			if err := os.WriteFile(path, []byte("old content to be truncated"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := WriteFile(path, tt.spec()); err != nil {
				t.Fatalf("WriteFile = %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("WriteFile wrote %d bytes; want Encode's %d bytes, identical", len(got), len(want))
			}
		})
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "dir.h5"), sampleSpec()); err == nil || !strings.Contains(err.Error(), "dir.h5") {
		t.Errorf("WriteFile(missing directory) = %v; want an error naming the file", err)
	}
}
