package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbinet/npyio"

	"github.com/xferml/xfer/model"
)

// idxBytes builds an IDX file of unsigned bytes.
func idxBytes(shape []int, data []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(shape))}
	for _, d := range shape {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestDecodeIDX(t *testing.T) {
	good := idxBytes([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	tests := []struct {
		name    string
		in      []byte
		shape   []int
		wantErr error
	}{
		{"plain", good, []int{2, 3}, nil},
		{"gzip", gz(good), []int{2, 3}, nil},
		{"empty", nil, nil, ErrFormat},
		{"bad magic", append([]byte{1}, good[1:]...), nil, ErrFormat},
		{"float type", append([]byte{0, 0, 0x0d}, good[3:]...), nil, model.ErrUnsupported},
		{"rank 0", []byte{0, 0, 8, 0}, nil, ErrFormat},
		{"truncated dims", good[:6], nil, ErrFormat},
		{"truncated data", good[:len(good)-1], nil, ErrFormat},
		{"trailing data", append(slices.Clone(good), 7), nil, ErrFormat},
		{"shape bomb", idxBytes([]int{1 << 20, 1 << 20, 1 << 20}, nil), nil, ErrFormat},
		{"huge but short", idxBytes([]int{1 << 30}, []byte{1}), nil, ErrFormat},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2}, nil, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeIDX(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DecodeIDX(%s) error = %v; want %v", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeIDX(%s) error = %v", tt.name, err)
			}
			if !slices.Equal(got.Shape, tt.shape) || !slices.Equal(got.Data, []byte{1, 2, 3, 4, 5, 6}) {
				t.Errorf("DecodeIDX(%s) = %v %v; want %v [1..6]", tt.name, got.Shape, got.Data, tt.shape)
			}
		})
	}
}

func FuzzDecodeIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(gz(idxBytes([]int{1, 2, 2}, []byte{9, 8, 7, 6})))
	f.Add(idxBytes([]int{4}, []byte{1}))
	if b, err := os.ReadFile("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"); err == nil {
		f.Add(b[:min(len(b), 4096)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := DecodeIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Shape {
			n *= d
		}
		if n != len(x.Data) {
			t.Fatalf("DecodeIDX: shape %v with %d bytes", x.Shape, len(x.Data))
		}
	})
}

// fashion loads Fashion-MNIST or skips loudly.
func fashion(t testing.TB) *Fashion {
	t.Helper()
	f, err := LoadFashion(Options{})
	if errors.Is(err, ErrNotFound) {
		t.Skipf("SKIPPING: Fashion-MNIST NOT INSTALLED (apt-get install dataset-fashion-mnist): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFashionSplits checks the splits against the values Géron's notebook
// prints (X_train_A.shape == (43986, 28, 28), y_train_A[:30], y_train_B[:30])
// and counts computed with NumPy from the same files.
func TestFashionSplits(t *testing.T) {
	f := fashion(t)
	tests := []struct {
		task, split string
		n, classes  int
		first       []float32
		pixelSum0   float64 // NumPy: X[i].sum() of the first image, / 255 applied
	}{
		{"A", "train", 43986, 8, []float32{4, 0, 5, 7, 7, 7, 4, 4, 3, 4, 0, 1, 6, 3, 4, 3, 2, 6, 5, 3, 4, 5, 1, 3, 4, 2, 0, 6, 7, 1}, 371.6549019607843},
		{"B", "train", 200, 2, []float32{1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1}, -1},
		{"A", "valid", 4014, 8, nil, -1},
		{"B", "valid", 986, 2, nil, -1},
		{"A", "test", 8000, 8, nil, -1},
		{"B", "test", 2000, 2, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.task+":"+tt.split, func(t *testing.T) {
			s, err := f.Task(tt.task, tt.split)
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != tt.n || s.Classes != tt.classes || !slices.Equal(s.X.Shape, []int{tt.n, 28, 28}) {
				t.Fatalf("Task(%s, %s) = %d examples, %d classes, X %v; want %d, %d", tt.task, tt.split, s.Len(), s.Classes, s.X.Shape, tt.n, tt.classes)
			}
			if tt.first != nil && !slices.Equal(s.Y[:30], tt.first) {
				t.Errorf("Task(%s, %s).Y[:30] = %v; want %v", tt.task, tt.split, s.Y[:30], tt.first)
			}
			if tt.pixelSum0 >= 0 {
				sum := 0.0
				for _, v := range s.X.F32[:784] {
					sum += float64(v)
				}
				if math.Abs(sum-tt.pixelSum0) > 1e-3 {
					t.Errorf("Task(%s, %s) first image sum = %v; want %v", tt.task, tt.split, sum, tt.pixelSum0)
				}
			}
		})
	}
}

func TestLoadSpecs(t *testing.T) {
	for _, spec := range []string{"fashion-mnist:C", "fashion-mnist:A:dev", "mnist:A", "npy:onlyx.npy"} {
		if _, err := Load(spec, Options{}); !errors.Is(err, ErrSpec) {
			t.Errorf("Load(%q) error = %v; want ErrSpec", spec, err)
		}
	}
	t.Setenv("XFER_DATA", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	if _, err := LoadFashion(Options{DataDir: t.TempDir()}); err != nil && !errors.Is(err, ErrNotFound) {
		t.Errorf("LoadFashion(empty dirs) error = %v; want ErrNotFound or success from /usr/share", err)
	}
}

func TestLoadFashionFromDataDir(t *testing.T) {
	dir := t.TempDir()
	img := make([]byte, 6000*784)
	lab := make([]byte, 6000)
	for i := range lab {
		lab[i] = byte(i % 10)
		img[i*784] = byte(i % 256)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("train-images-idx3-ubyte.gz", gz(idxBytes([]int{6000, 28, 28}, img)))
	write("train-labels-idx1-ubyte", idxBytes([]int{6000}, lab))
	write("t10k-images-idx3-ubyte", idxBytes([]int{10, 28, 28}, img[:7840]))
	write("t10k-labels-idx1-ubyte", idxBytes([]int{10}, lab[:10]))
	s, err := Load("fashion-mnist:A:valid", Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// 5,000 validation images with labels i%10: 500 per class, 8 classes kept.
	if s.Len() != 4000 || s.Y[5] != 5 || s.Y[6] != 6 { // labels 7 and 8 moved to 5 and 6
		t.Errorf("Load(A:valid) = %d examples, Y[5:7] = %v; want 4000, [5 6]", s.Len(), s.Y[5:7])
	}
	if got, want := s.X.F32[784], float32(1)/255; got != want { // second kept image is i=1
		t.Errorf("pixel = %v; want %v", got, want)
	}
	b, err := Load("fashion-mnist:B", Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 200 || b.Y[0] != 0 || b.Y[1] != 1 {
		t.Errorf("Load(B) = %d examples, Y[:2] = %v; want 200, [0 1]", b.Len(), b.Y[:2])
	}
}

func TestLoadNPY(t *testing.T) {
	dir := t.TempDir()
	save := func(name string, v any) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := npyio.Write(f, v); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	x := save("x.npy", []float64{1, 2, 3, 4, 5, 6})
	y := save("y.npy", []int64{0, 2, 1, 1, 0, 2})
	s, err := Load("npy:"+x+","+y, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 6 || s.Classes != 3 || s.X.F32[5] != 6 {
		t.Errorf("Load(npy) = %d examples, %d classes; want 6, 3", s.Len(), s.Classes)
	}
	yf := save("yf.npy", []float32{0.5, 1, 2, 3, 4, 5})
	if s, err := Load("npy:"+x+","+yf, Options{}); err != nil || s.Classes != 0 {
		t.Errorf("Load(npy float labels) = %v, %v; want classes 0", s, err)
	}
	short := save("short.npy", []int64{1, 2})
	if _, err := Load("npy:"+x+","+short, Options{}); err == nil {
		t.Errorf("Load(6 inputs, 2 labels) error = nil; want an error")
	}
	for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
		xb := save("xbad.npy", []float64{1, 2, 3, 4, bad, 6})
		_, err := Load("npy:"+xb+","+y, Options{})
		if !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), "xbad.npy: value 4 (row 4)") {
			t.Errorf("Load(inputs with %v) error = %v; want ErrNotFinite naming xbad.npy, value 4", bad, err)
		}
	}
	if _, err := Load("npy:"+x+","+save("ynan.npy", []float32{0, 1, float32(math.NaN()), 1, 0, 1}), Options{}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("Load(NaN label) error = %v; want ErrNotFinite", err)
	}
	trunc := filepath.Join(dir, "trunc.npy")
	b, _ := os.ReadFile(x)
	os.WriteFile(trunc, b[:len(b)-4], 0o644)
	if _, err := Load("npy:"+trunc+","+y, Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("Load(truncated) error = %v; want ErrFormat", err)
	}
}

func TestBatchAndOrder(t *testing.T) {
	f := fashion(t)
	s, err := f.Task("B", "train")
	if err != nil {
		t.Fatal(err)
	}
	o1 := s.Order(rand.New(rand.NewSource(1)))
	o2 := s.Order(rand.New(rand.NewSource(1)))
	if !slices.Equal(o1, o2) {
		t.Fatalf("Order with the same seed differs")
	}
	x := make([]float32, 3*784)
	y := make([]float32, 3)
	s.Batch([]int{5, 0, 199}, x, y)
	if y[0] != s.Y[5] || y[2] != s.Y[199] || x[784+100] != s.X.F32[100] {
		t.Errorf("Batch copied the wrong rows")
	}
	h := s.Head(10)
	if h.Len() != 10 || &h.X.F32[0] != &s.X.F32[0] {
		t.Errorf("Head(10) = %d examples or copied memory", h.Len())
	}
}

func ExampleLoad() {
	s, err := Load("fashion-mnist:B:train", Options{})
	if err != nil {
		return // Fashion-MNIST not installed
	}
	_ = s.Len() // 200
}
