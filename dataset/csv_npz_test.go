package dataset

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

func TestDecodeCSV(t *testing.T) {
	tests := []struct {
		name, in, label string
		classes         int
		names           []string
		x, y            []float32
		wantErr         error
		wantMsg         string
	}{
		{name: "sparse labels", in: "a,label,b\n1,0,2\n3,2,4\n", label: "label", classes: 3, x: []float32{1, 2, 3, 4}, y: []float32{0, 2}},
		{name: "string labels sorted", in: "f,species\n1.5,setosa\n2,virginica\n3,setosa\n", label: "species", classes: 2,
			names: []string{"setosa", "virginica"}, x: []float32{1.5, 2, 3}, y: []float32{0, 1, 0}},
		{name: "regression", in: "x,price\n1,2.5\n2,-1\n", label: "price", x: []float32{1, 2}, y: []float32{2.5, -1}},
		{name: "spaces and BOM", in: "\ufeffx, y \n 1 , 1\n", label: "y", classes: 2, x: []float32{1}, y: []float32{1}},
		{name: "ragged", in: "a,b,label\n1,2,0\n1,0\n", label: "label", wantErr: ErrFormat, wantMsg: "line 3 has 2 fields but the header has 3"},
		{name: "text feature", in: "a,label\nx,0\n", label: "label", wantErr: ErrFormat, wantMsg: `line 2 column "a": "x" is not a finite number`},
		{name: "nan feature", in: "a,label\nNaN,0\n", label: "label", wantErr: ErrFormat, wantMsg: "not a finite number"},
		{name: "no label column", in: "a,b\n1,2\n", label: "label", wantErr: ErrSpec, wantMsg: `no column "label"`},
		{name: "no --label", in: "a,b\n1,2\n", wantErr: ErrSpec},
		{name: "empty", in: "", label: "y", wantErr: ErrFormat, wantMsg: "empty"},
		{name: "header only", in: "a,y\n", label: "y", wantErr: ErrFormat, wantMsg: "no data rows"},
		{name: "label only", in: "y\n1\n", label: "y", wantErr: ErrFormat, wantMsg: "feature columns"},
		{name: "bad quote", in: "a,y\n\"1,0\n", label: "y", wantErr: ErrFormat},
		{name: "empty label", in: "a,y\n1,cat\n2,\n", label: "y", wantErr: ErrFormat, wantMsg: "empty label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeCSV(strings.NewReader(tt.in), tt.label)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("DecodeCSV = %v; want %v containing %q", err, tt.wantErr, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Classes != tt.classes || !slices.Equal(s.ClassNames, tt.names) || !slices.Equal(s.X.F32, tt.x) || !slices.Equal(s.Y, tt.y) {
				t.Errorf("DecodeCSV = classes %d %v, x %v, y %v; want %d %v %v %v", s.Classes, s.ClassNames, s.X.F32, s.Y, tt.classes, tt.names, tt.x, tt.y)
			}
		})
	}
}

func FuzzDecodeCSV(f *testing.F) {
	f.Add("a,label,b\n1,0,2\n3,2,4\n")
	f.Add("f,species\n1.5,setosa\n2,virginica\n")
	f.Add("a,b,label\n1,2,0\n1,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := DecodeCSV(strings.NewReader(in), "label")
		if err != nil {
			return
		}
		if s.Len()*s.RowSize() != len(s.X.F32) || len(s.Y) != s.Len() {
			t.Fatalf("DecodeCSV: %d examples of %d values, %d inputs, %d labels", s.Len(), s.RowSize(), len(s.X.F32), len(s.Y))
		}
	})
}

// npzBytes builds an .npz archive of the named tensors (deflated when
// compress).
func npzBytes(t testing.TB, compress bool, ts map[string]*model.Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	names := make([]string, 0, len(ts))
	for k := range ts {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		data, err := tensorio.EncodeNPY(ts[k])
		if err != nil {
			t.Fatal(err)
		}
		m := zip.Store
		if compress {
			m = zip.Deflate
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: k + ".npy", Method: m})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	zw.Close()
	return b.Bytes()
}

func f32(shape []int, v ...float32) *model.Tensor {
	return &model.Tensor{DType: model.Float32, Shape: shape, F32: v}
}

func TestLoadNPZ(t *testing.T) {
	dir := t.TempDir()
	x := f32([]int{3, 2}, 1, 2, 3, 4, 5, 6)
	mnist := filepath.Join(dir, "mnist.npz")
	writeFile(t, mnist, npzBytes(t, false, map[string]*model.Tensor{"x_train": x, "y_train": f32([]int{3}, 0, 1, 1), "x_test": x, "y_test": f32([]int{3}, 1, 0, 0)}))
	onehot := filepath.Join(dir, "oh.npz")
	writeFile(t, onehot, npzBytes(t, true, map[string]*model.Tensor{"X": x, "Y": f32([]int{3, 3}, 0, 1, 0, 1, 0, 0, 0, 0, 1)}))
	s, err := Load("npz:"+mnist, Options{})
	if err != nil || s.Len() != 3 || s.Classes != 2 || s.OneHot || !slices.Equal(s.Y, []float32{0, 1, 1}) {
		t.Fatalf("npz default keys: %v %+v", err, s)
	}
	s, err = Load("npz:"+mnist+":x_test,y_test", Options{})
	if err != nil || !slices.Equal(s.Y, []float32{1, 0, 0}) {
		t.Fatalf("npz x_test,y_test: %v %+v", err, s)
	}
	s, err = Load("npz:"+onehot+":X,Y", Options{})
	if err != nil || !s.OneHot || s.Classes != 3 || s.LabelWidth() != 3 {
		t.Fatalf("one-hot npz: %v %+v", err, s)
	}
	yb := make([]float32, 3)
	if err := s.Batch([]int{2}, make([]float32, 2), yb); err != nil || !slices.Equal(yb, []float32{0, 0, 1}) {
		t.Errorf("one-hot batch = %v, %v; want [0 0 1]", yb, err)
	}
	tr, va, err := LoadSplit("npz:"+mnist, Options{ValidationSplit: 0.34})
	// Keras fit: split_at = floor(3 * 0.66) = 1.
	if err != nil || tr.Len() != 1 || va.Len() != 2 {
		t.Errorf("validation split 0.34 of 3: %v, %d + %d; want 1 + 2", err, tr.Len(), va.Len())
	}
	for _, tt := range []struct{ spec, want string }{
		{"npz:" + mnist + ":a,b", `no array "a" (it holds x_test, x_train, y_test, y_train)`},
		{"npz:" + onehot, `no array "x_train"`},
		{"npz:" + filepath.Join(dir, "missing.npz"), "no such file"},
	} {
		if _, err := Load(tt.spec, Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%s) = %v; want an error containing %q", tt.spec, err, tt.want)
		}
	}
}

func TestDecodeNPZGuards(t *testing.T) {
	good := npzBytes(t, true, map[string]*model.Tensor{"x": f32([]int{2}, 1, 2)})
	// A stored member whose declared size disagrees with its stored bytes.
	lying := npzBytes(t, false, map[string]*model.Tensor{"x": f32([]int{2}, 1, 2)})
	i := bytes.LastIndex(lying, []byte("PK\x01\x02")) // central directory entry
	lying[i+24] ^= 0x40                               // uncompressed size
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"not a zip", []byte("hello"), "not a zip archive"},
		{"truncated", good[:len(good)/2], "not a zip archive"},
		{"size mismatch", lying, "declares"},
		{"bad npy member", npzBytesRaw(t, "x.npy", []byte("\x93NUMPYxx")), "npy"},
	}
	for _, tt := range tests {
		_, err := DecodeNPZ(bytes.NewReader(tt.in), int64(len(tt.in)), "x")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DecodeNPZ(%s) = %v; want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func npzBytesRaw(t testing.TB, name string, data []byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	w.Write(data)
	zw.Close()
	return b.Bytes()
}

func FuzzDecodeNPZ(f *testing.F) {
	f.Add(npzBytes(f, false, map[string]*model.Tensor{"x": f32([]int{2}, 1, 2), "y": f32([]int{2}, 0, 1)}))
	f.Add(npzBytes(f, true, map[string]*model.Tensor{"x": f32([]int{1, 2}, 1, 2), "y": f32([]int{1}, 1)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := DecodeNPZ(bytes.NewReader(b), int64(len(b)), "x", "y")
		if err != nil {
			return
		}
		for _, x := range ts {
			if model.NumElements(x.Shape) != len(x.F32) {
				t.Fatalf("DecodeNPZ: %s shape %v with %d values", x.Name, x.Shape, len(x.F32))
			}
		}
	})
}

func TestLoadNPYOneHot(t *testing.T) {
	dir := t.TempDir()
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	write := func(p string, x *model.Tensor) {
		b, err := tensorio.EncodeNPY(x)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(xp, f32([]int{2, 1}, 1, 2))
	for _, tt := range []struct {
		y    *model.Tensor
		want string
	}{
		{f32([]int{2, 2}, 0, 1, 1, 0), ""},
		{f32([]int{2, 3}, 0.2, 0.3, 0.5, 1, 0, 0), ""},
		{f32([]int{2, 2}, 0, 2, 1, 0), "not a one-hot"},
		{f32([]int{2, 2}, 0, 0.5, 1, 0), "sums to 0.5"},
		{f32([]int{3, 2}, 0, 1, 1, 0, 1, 0), "2 examples but"},
		{f32([]int{2, 2, 1}, 0, 1, 1, 0), "want [N], [N 1] or one-hot [N K]"},
	} {
		write(yp, tt.y)
		s, err := LoadNPY(xp, yp)
		if tt.want == "" {
			if err != nil || !s.OneHot || s.Classes != tt.y.Shape[1] {
				t.Errorf("LoadNPY(y %v) = %v, %v; want a one-hot set of %d classes", tt.y.Shape, s, err, tt.y.Shape[1])
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadNPY(y %v %v) = %v; want an error containing %q", tt.y.Shape, tt.y.F32, err, tt.want)
		}
	}
}
