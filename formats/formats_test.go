package formats

import (
	"archive/zip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// sharedInterop returns shared/interop/<sub> beside the repository, or
// skips the test loudly (peers.Interop).
func sharedInterop(t *testing.T, sub string) string {
	t.Helper()
	return peers.Interop(t, sub, "the format checks on real Keras files")
}

func tinyModel(t *testing.T) *model.Model {
	t.Helper()
	d, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 3, Units: 2, Activation: "sigmoid", UseBias: true, Trainable: true,
		Kernel: []float32{0.1, -0.2, 0.3, -0.4, 0.5, -0.6}, Bias: []float32{0.01, -0.02}})
	if err != nil {
		t.Fatal(err)
	}
	return &model.Model{Name: "tiny", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 3}}},
		Outputs: d.Outputs, Layers: []*model.Layer{d}, Meta: map[string]string{}}
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zipWith := func(name, member string) string {
		p := filepath.Join(dir, name)
		f, _ := os.Create(p)
		zw := zip.NewWriter(f)
		w, _ := zw.Create(member)
		w.Write([]byte("{}"))
		zw.Close()
		f.Close()
		return p
	}
	enc, err := native.Encode(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want Format
		err  error
	}{
		{"hdf5 signature, odd extension", write("model.bin", []byte("\x89HDF\r\n\x1a\n rest")), KerasH5, nil},
		{"keras zip", zipWith("m.keras", "config.json"), KerasZip, nil},
		{"zip without config.json", zipWith("other.zip", "readme.txt"), "", ErrFormat},
		{"native", write("m.xnat", enc), Native, nil},
		{"anything else is tried as ONNX", write("m.onnx", []byte{0x08, 0x07}), ONNX, nil},
		{"empty", write("empty.h5", nil), "", ErrFormat},
		{"missing", filepath.Join(dir, "nope.h5"), "", os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(tt.path)
			if got != tt.want || (tt.err == nil) != (err == nil) || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("Detect(%s) = %q, %v; want %q, %v", filepath.Base(tt.path), got, err, tt.want, tt.err)
			}
		})
	}
}

func TestDetectSharedFiles(t *testing.T) {
	dir := sharedInterop(t, "keras3")
	for name, want := range map[string]Format{"mlp_small.h5": KerasH5, "mlp_small.keras": KerasZip} {
		if got, err := Detect(filepath.Join(dir, name)); got != want || err != nil {
			t.Errorf("Detect(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestReadNotAModel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(p, []byte("hello, not a model"), 0o644)
	if _, err := Read(p, Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("Read(text file) error = %v; want ErrFormat", err)
	}
}

func TestFormatOf(t *testing.T) {
	tests := map[string]Format{"a.h5": KerasH5, "a.HDF5": KerasH5, "a.keras": KerasZip, "a.onnx": ONNX, "a.xnat": Native, "a.pt": ""}
	for path, want := range tests {
		got, err := FormatOf(path)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("FormatOf(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
}

// TestWriteRead writes a model in every format and reads it back: same
// weights, trainable flags and param counts.
func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t)
	for _, ext := range Writable() {
		t.Run(ext, func(t *testing.T) {
			p := filepath.Join(dir, "m"+ext)
			if err := Write(p, m, Options{}); err != nil {
				t.Fatalf("Write(%s): %v", p, err)
			}
			got, err := Read(p, Options{})
			if err != nil {
				t.Fatalf("Read(Write(%s)): %v", p, err)
			}
			if len(got.Layers) == 0 {
				t.Fatalf("Read(Write(%s)) has no layers", p)
			}
			l := got.Layers[len(got.Layers)-1]
			if k := l.Param("kernel"); k == nil || !reflect.DeepEqual(k.Data, m.Layers[0].Params[0].Data) {
				t.Errorf("Read(Write(%s)) kernel = %v; want %v", p, k, m.Layers[0].Params[0].Data)
			}
			gt, gtr, _ := got.ParamCounts()
			wt, wtr, _ := m.ParamCounts()
			if gt != wt || gtr != wtr {
				t.Errorf("Read(Write(%s)) params = %d/%d; want %d/%d", p, gt, gtr, wt, wtr)
			}
		})
	}
	if err := Write(filepath.Join(dir, "m.pt"), m, Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("Write(m.pt) error = %v; want ErrFormat", err)
	}
}
