package tensorio

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/model"
)

// The fixtures in testdata were written by numpy and onnx (testdata/gen.py).
var f4x23 = []float32{-0.5, -0.25, 0, 0.25, 0.5, 0.75} // np.arange(6)/4 - 0.5

func TestReadFile(t *testing.T) {
	tests := []struct {
		file  string
		dtype model.DType
		shape []int
		f32   []float32
		i64   []int64
	}{
		{"f4_2x3.npy", model.Float32, []int{2, 3}, f4x23, nil},
		{"f4_fortran_2x3.npy", model.Float32, []int{2, 3}, f4x23, nil},
		{"f8_2x2.npy", model.Float64, []int{2, 2}, []float32{1.5, -2.25, 1e-3, 3.0e38}, nil},
		{"i8_3.npy", model.Int64, []int{3}, nil, []int64{1, -2, 1 << 40}},
		{"u1_2x2.npy", model.Uint8, []int{2, 2}, nil, []int64{0, 7, 128, 255}},
		{"f2_2.npy", model.Float16, []int{2}, []float32{1, 2}, nil},
		{"i4_3.npy", model.Int32, []int{3}, nil, []int64{1, -2, 1<<31 - 1}},
		{"i1_2.npy", model.Int8, []int{2}, nil, []int64{-128, 127}},
		{"i2_2.npy", model.Int16, []int{2}, nil, []int64{-300, 300}},
		{"b1_2.npy", model.Bool, []int{2}, nil, []int64{1, 0}},
		{"u8_big.npy", model.Uint64, []int{1}, nil, []int64{-1 << 63}}, // 2^63 held as its bit pattern
		{"i2_be_2.npy", model.Int16, []int{2}, nil, []int64{-300, 2}},
		{"i1_3.npy", model.Int8, []int{3}, nil, []int64{-128, 0, 127}},
		{"u2_2.npy", model.Uint16, []int{2}, nil, []int64{0, 65535}},
		{"u4_2.npy", model.Uint32, []int{2}, nil, []int64{0, 1<<32 - 1}},
		{"u8_2.npy", model.Uint64, []int{2}, nil, []int64{0, 1<<63 - 1}},
		{"b1_2x2.npy", model.Bool, []int{2, 2}, nil, []int64{1, 0, 0, 1}},
		{"pb_raw_f2_3.pb", model.Float16, []int{3}, []float32{1, -2.5, 65504}, nil},
		{"pb_typed_f2_3.pb", model.Float16, []int{3}, []float32{1, -2.5, 65504}, nil},
		{"pb_typed_bf16_2.pb", model.BFloat16, []int{2}, []float32{1.5, -2.5}, nil},
		{"pb_raw_b1_3.pb", model.Bool, []int{3}, nil, []int64{1, 0, 1}},
		{"pb_typed_i8_4.pb", model.Int8, []int{4}, nil, []int64{-128, -1, 0, 127}},
		{"pb_raw_u2_2.pb", model.Uint16, []int{2}, nil, []int64{7, 65535}},
		{"pb_typed_f8_2.pb", model.Float64, []int{2}, []float32{0.25, -1e10}, nil},
		{"pb_raw_f4_20x0x5.pb", model.Float32, []int{20, 0, 5}, []float32{}, nil},
		{"f4_scalar.npy", model.Float32, []int{}, []float32{3.5}, nil},
		{"f4_be_2.npy", model.Float32, []int{2}, []float32{1, -2}, nil},
		{"f4_empty_0x3.npy", model.Float32, []int{0, 3}, []float32{}, nil},
		{"pb_raw_f4_2x3.pb", model.Float32, []int{2, 3}, f4x23, nil},
		{"pb_typed_f4_2x3.pb", model.Float32, []int{2, 3}, f4x23, nil},
		{"pb_raw_i8_3.pb", model.Int64, []int{3}, nil, []int64{1, -2, 1 << 40}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatalf("ReadFile(%s): %v", tt.file, err)
			}
			if got.DType != tt.dtype || !reflect.DeepEqual(got.Shape, tt.shape) {
				t.Errorf("ReadFile(%s) = %v %v; want %v %v", tt.file, got.DType, got.Shape, tt.dtype, tt.shape)
			}
			if tt.f32 != nil && !reflect.DeepEqual(got.F32, tt.f32) {
				t.Errorf("ReadFile(%s).F32 = %v; want %v", tt.file, got.F32, tt.f32)
			}
			if tt.i64 != nil && !reflect.DeepEqual(got.I64, tt.i64) {
				t.Errorf("ReadFile(%s).I64 = %v; want %v", tt.file, got.I64, tt.i64)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	tests := []struct {
		file string
		want error
	}{
		{"gen.py", nil}, // unknown extension
		{"missing.npy", os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := ReadFile(filepath.Join("testdata", tt.file))
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("ReadFile(%s) error = %v; want %v", tt.file, err, tt.want)
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	for _, file := range []string{"f4_2x3.npy", "i8_3.npy", "pb_raw_f4_2x3.pb", "pb_typed_f4_2x3.pb"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		decode := DecodeNPY
		if filepath.Ext(file) == ".pb" {
			decode = DecodePB
		}
		full, err := decode(data)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data); n++ {
			got, err := decode(data[:n])
			if err == nil && (!reflect.DeepEqual(got.F32, full.F32) || !reflect.DeepEqual(got.I64, full.I64) || !reflect.DeepEqual(got.Shape, full.Shape)) {
				// A protobuf cut just before its trailing name field is still a
				// valid message; anything else must fail.
				t.Errorf("decode(%s first %d of %d bytes) = %+v, nil; want an error", file, n, len(data), got)
			}
		}
	}
}

// TestReadNPYSize checks that ReadNPY trusts neither the header nor the
// size it is given: a stream shorter than its size is an error, not a
// zero-filled tensor, and so is one longer than the shape needs.
func TestReadNPYSize(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "f4_2x3.npy"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		size int64
		ok   bool
	}{
		{"exact", data, int64(len(data)), true},
		{"stream short of its size", data[:len(data)-4], int64(len(data)), false},
		{"size short of the stream", data, int64(len(data) - 4), false},
		{"extra data", append(slices.Clip(data), 0, 0, 0, 0), int64(len(data) + 4), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadNPY(bytes.NewReader(tt.data), tt.size)
			if (err == nil) != tt.ok {
				t.Fatalf("ReadNPY(%s) = %v; want ok %v", tt.name, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrFormat) {
				t.Errorf("ReadNPY(%s) = %v; want ErrFormat", tt.name, err)
			}
			if err == nil && !reflect.DeepEqual(got.F32, f4x23) {
				t.Errorf("ReadNPY(%s).F32 = %v; want %v", tt.name, got.F32, f4x23)
			}
		})
	}
}

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tests := []*model.Tensor{
		{DType: model.Float32, Shape: []int{2, 3, 1}, F32: f4x23},
		{DType: model.Float32, Shape: []int{4}, F32: []float32{1, 2, 3, 4}},
		{DType: model.Int64, Shape: []int{1, 2}, I64: []int64{-1, 1 << 50}},
		{DType: model.Float32, Shape: []int{}, F32: []float32{9}},
		{DType: model.Float16, Shape: []int{2}, F32: []float32{0.5, -65504}},
		{DType: model.BFloat16, Shape: []int{1}, F32: []float32{-1.5}},
		{DType: model.Float64, Shape: []int{1}, F32: []float32{1e-30}},
		{DType: model.Int32, Shape: []int{2}, I64: []int64{-1 << 31, 5}},
		{DType: model.Int16, Shape: []int{1}, I64: []int64{-32768}},
		{DType: model.Int8, Shape: []int{2}, I64: []int64{-128, 127}},
		{DType: model.Uint8, Shape: []int{1}, I64: []int64{255}},
		{DType: model.Uint16, Shape: []int{1}, I64: []int64{65535}},
		{DType: model.Uint32, Shape: []int{1}, I64: []int64{1<<32 - 1}},
		{DType: model.Uint64, Shape: []int{1}, I64: []int64{-1}},
		{DType: model.Bool, Shape: []int{3}, I64: []int64{1, 0, 1}},
	}
	for i, tt := range tests {
		path := filepath.Join(dir, "t.npy")
		write := WriteNPY
		if i%2 == 1 {
			path = filepath.Join(dir, "t.pb")
			write = func(path string, t *model.Tensor) error {
				b, err := EncodePB(t)
				if err == nil {
					err = os.WriteFile(path, b, 0o644)
				}
				return err
			}
		}
		if err := write(path, tt); err != nil {
			t.Fatalf("write(#%d): %v", i, err)
		}
		got, err := ReadFile(path)
		if err != nil {
			t.Fatalf("ReadFile(WriteNPY(#%d)): %v", i, err)
		}
		if got.DType != tt.DType || !reflect.DeepEqual(got.Shape, tt.Shape) || !reflect.DeepEqual(got.F32, tt.F32) || !reflect.DeepEqual(got.I64, tt.I64) {
			t.Errorf("round trip #%d = %+v; want %+v", i, got, tt)
		}
	}
	if err := WriteNPY(filepath.Join(dir, "bad.npy"), &model.Tensor{DType: model.Float32, Shape: []int{3}, F32: []float32{1}}); err == nil {
		t.Errorf("WriteNPY(shape [3], 1 value) succeeded; want an error")
	}
}

// TestNPYWrittenReadByNumpy checks our header against numpy itself.
func TestNPYWrittenReadByNumpy(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("SKIP LOUDLY: /usr/bin/python3 with numpy not found; cannot check .npy output against numpy")
	}
	if _, err := runPython(py, "import numpy"); err != nil {
		t.Skipf("SKIP LOUDLY: %s cannot import numpy (%v); cannot check .npy output against numpy", py, err)
	}
	dir := t.TempDir()
	tests := []struct {
		t    *model.Tensor
		want string
	}{
		{&model.Tensor{DType: model.Float32, Shape: []int{2, 3, 1}, F32: f4x23}, "float32 (2, 3, 1) [-0.5, -0.25, 0.0, 0.25, 0.5, 0.75]\n"},
		{&model.Tensor{DType: model.Float16, Shape: []int{2}, F32: []float32{0.5, -65504}}, "float16 (2,) [0.5, -65504.0]\n"},
		{&model.Tensor{DType: model.Bool, Shape: []int{1, 2}, I64: []int64{1, 0}}, "bool (1, 2) [True, False]\n"},
		{&model.Tensor{DType: model.Int32, Shape: []int{2}, I64: []int64{-5, 1 << 30}}, "int32 (2,) [-5, 1073741824]\n"},
		{&model.Tensor{DType: model.Uint8, Shape: []int{}, I64: []int64{200}}, "uint8 () [200]\n"},
		{&model.Tensor{DType: model.Float64, Shape: []int{1}, F32: []float32{0.25}}, "float64 (1,) [0.25]\n"},
	}
	for i, tt := range tests {
		path := filepath.Join(dir, fmt.Sprintf("x%d.npy", i))
		if err := WriteNPY(path, tt.t); err != nil {
			t.Fatal(err)
		}
		out, err := runPython(py, "import numpy as np,sys; a=np.load(sys.argv[1]); print(a.dtype, a.shape, a.flatten().tolist())", path)
		if err != nil {
			t.Fatalf("numpy.load(WriteNPY(%v)) error %v", tt.t.DType, err)
		}
		if out != tt.want {
			t.Errorf("numpy.load(WriteNPY(%v)) = %q; want %q", tt.t.DType, out, tt.want)
		}
	}
}

// TestONNXNodeTestData reads the inputs of ONNX's own node tests.
func TestONNXNodeTestData(t *testing.T) {
	const dir = "/usr/share/libonnx-testdata/data/node"
	files, _ := filepath.Glob(filepath.Join(dir, "test_*", "test_data_set_0", "input_0.pb"))
	if len(files) == 0 {
		t.Skip("SKIP LOUDLY: libonnx-testdata not installed (apt-get install libonnx-testdata)")
	}
	read, unsupported := 0, 0
	for _, f := range files {
		got, err := ReadFile(f)
		// Sequence and optional inputs are SequenceProto/OptionalProto, not
		// TensorProto: an error is the right answer.
		notTensor := strings.Contains(f, "sequence") || strings.Contains(f, "optional") || strings.Contains(f, "_opt/")
		switch {
		case notTensor && err != nil:
			unsupported++
		case errors.Is(err, model.ErrUnsupported):
			unsupported++
		case err != nil:
			t.Errorf("ReadFile(%s): %v", f, err)
		default:
			read++
			if n := model.NumElements(got.Shape); n != len(got.F32)+len(got.I64) {
				t.Errorf("ReadFile(%s): shape %v but %d values", f, got.Shape, len(got.F32)+len(got.I64))
			}
		}
	}
	if read < len(files)/2 {
		t.Errorf("read %d of %d node-test inputs (%d unsupported types); want most of them", read, len(files), unsupported)
	}
}

func FuzzDecodeNPY(f *testing.F) {
	for _, name := range []string{"f4_2x3.npy", "f8_2x2.npy", "i8_3.npy", "u1_2x2.npy", "f4_fortran_2x3.npy", "f4_scalar.npy",
		"f2_2.npy", "i4_3.npy", "i2_be_2.npy", "i1_3.npy", "u2_2.npy", "u4_2.npy", "u8_2.npy", "b1_2x2.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeNPY(data)
		if err == nil {
			checkDecoded(t, "DecodeNPY", got)
		}
	})
}

func FuzzDecodePB(f *testing.F) {
	for _, name := range []string{"pb_raw_f4_2x3.pb", "pb_typed_f4_2x3.pb", "pb_raw_i8_3.pb", "pb_raw_f2_3.pb", "pb_typed_f2_3.pb",
		"pb_typed_bf16_2.pb", "pb_raw_b1_3.pb", "pb_typed_i8_4.pb", "pb_raw_u2_2.pb", "pb_typed_f8_2.pb"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodePB(data)
		if err == nil {
			checkDecoded(t, "DecodePB", got)
		}
	})
}

func BenchmarkDecodeNPY(b *testing.B) {
	// A batch of 256 Fashion-MNIST images, 28x28 float32.
	t := &model.Tensor{DType: model.Float32, Shape: []int{256, 28, 28}, F32: make([]float32, 256*28*28)}
	data, err := EncodeNPY(t)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeNPY(data); err != nil {
			b.Fatal(err)
		}
	}
}

// checkDecoded asserts what every decoded tensor must satisfy: a valid
// dtype, its values in the storage the dtype names and nowhere else, as
// many as the shape says, integers already fitted to their width.
func checkDecoded(t *testing.T, what string, got *model.Tensor) {
	t.Helper()
	if !got.DType.Valid() {
		t.Fatalf("%s: dtype %v", what, got.DType)
	}
	n := model.NumElements(got.Shape)
	if got.DType.IsFloat() && (len(got.F32) != n || got.I64 != nil) || !got.DType.IsFloat() && (len(got.I64) != n || got.F32 != nil) {
		t.Fatalf("%s: %v shape %v with %d float32 and %d int64 values", what, got.DType, got.Shape, len(got.F32), len(got.I64))
	}
	fit := slices.Clone(got.I64)
	model.FitI64(got.DType, fit)
	if !slices.Equal(fit, got.I64) {
		t.Fatalf("%s: %v values %v do not fit their type", what, got.DType, got.I64)
	}
}

func TestAs(t *testing.T) {
	tests := []struct {
		name string
		in   *model.Tensor
		want model.DType
		out  *model.Tensor // nil: an error
	}{
		{"int64 labels feed float32", &model.Tensor{DType: model.Int64, Shape: []int{2}, I64: []int64{3, -1}}, model.Float32,
			&model.Tensor{DType: model.Float32, Shape: []int{2}, F32: []float32{3, -1}}},
		{"whole floats feed int32", &model.Tensor{DType: model.Float32, Shape: []int{2}, F32: []float32{7, -2}}, model.Int32,
			&model.Tensor{DType: model.Int32, Shape: []int{2}, I64: []int64{7, -2}}},
		{"a fraction does not feed int32", &model.Tensor{DType: model.Float32, Shape: []int{1}, F32: []float32{0.5}}, model.Int32, nil},
		{"300 does not fit uint8", &model.Tensor{DType: model.Int64, Shape: []int{1}, I64: []int64{300}}, model.Uint8, nil},
		{"-1 does not fit uint64", &model.Tensor{DType: model.Int64, Shape: []int{1}, I64: []int64{-1}}, model.Uint64, nil},
		{"uint16 bits feed bfloat16", &model.Tensor{DType: model.Uint16, Shape: []int{1}, I64: []int64{0x3fc0}}, model.BFloat16,
			&model.Tensor{DType: model.BFloat16, Shape: []int{1}, F32: []float32{1.5}}},
		{"float32 feeds float16, rounded", &model.Tensor{DType: model.Float32, Shape: []int{1}, F32: []float32{0.1}}, model.Float16,
			&model.Tensor{DType: model.Float16, Shape: []int{1}, F32: []float32{model.Float16FromBits(0x2e66)}}},
	}
	for _, tt := range tests {
		got, err := As(tt.in, tt.want)
		switch {
		case tt.out == nil && err == nil:
			t.Errorf("As(%s) = %+v; want an error", tt.name, got)
		case tt.out != nil && err != nil:
			t.Errorf("As(%s) error %v", tt.name, err)
		case tt.out != nil && (got.DType != tt.out.DType || !reflect.DeepEqual(got.F32, tt.out.F32) || !reflect.DeepEqual(got.I64, tt.out.I64)):
			t.Errorf("As(%s) = %+v; want %+v", tt.name, got, tt.out)
		}
	}
}
