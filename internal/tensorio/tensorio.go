package tensorio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// ErrFormat reports a file that is not a valid .npy or TensorProto .pb.
var ErrFormat = errors.New("tensorio: bad format")

// ReadFile reads a tensor from a .npy or .pb file, chosen by extension.
func ReadFile(path string) (*model.Tensor, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".npy" && ext != ".pb" {
		return nil, fmt.Errorf("tensorio: %s: unknown extension %q (want .npy or .pb)", path, ext)
	}
	if ext == ".npy" {
		return ReadNPYFile(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	// Decoding holds the file and its float32 values: about twice its size.
	if err := limits.Check(path, st.Size(), 2); err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	t, err := DecodePB(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadNPYFile reads the .npy file at path (whatever its extension) with
// ReadNPY, streaming: the file is not held in memory, its values are.
func ReadNPYFile(path string) (*model.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	// The values as read and as converted: up to twice the file's size.
	if err := limits.Check(path, st.Size(), 2); err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	t, err := ReadNPY(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// checkedCount returns the element count of shape, or an error when a dim is
// negative or the product exceeds limit.
func checkedCount(shape []int, limit int) (int, error) {
	n := 1
	for _, d := range shape {
		if d == 0 && !slices.ContainsFunc(shape, func(d int) bool { return d < 0 }) {
			return 0, nil // [20 0 5] holds nothing, however large its other dims
		}
	}
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension in shape %v", ErrFormat, shape)
		}
		if d != 0 && n > limit/d {
			return 0, fmt.Errorf("%w: shape %v holds more elements than the file's %d bytes can", ErrFormat, shape, limit)
		}
		n *= d
	}
	return n, nil
}

// As returns t as a tensor of dtype want, for feeding a model input: t
// itself when it has that dtype; converted (model.Convert) when want is a
// float type (integer data such as pixels or labels feed float models;
// float32 data feeds a float16 model, rounded; uint16 data feeds a
// bfloat16 input as bit patterns) or when want is an integer
// type and every value fits it exactly (float data too, when every value
// is a whole number in range). Anything that would change a value is an
// error saying which value.
func As(t *model.Tensor, want model.DType) (*model.Tensor, error) {
	if t.DType == want {
		return t, nil
	}
	if t.DType == model.Uint16 && want == model.BFloat16 {
		// numpy has no bfloat16: ONNX's test data (onnx 1.12) and numpy
		// users keep bfloat16 values as uint16 bit patterns.
		c := &model.Tensor{Name: t.Name, DType: want, Shape: t.Shape, F32: make([]float32, len(t.I64))}
		for i, v := range t.I64 {
			c.F32[i] = model.BFloat16FromBits(uint16(v))
		}
		return c, nil
	}
	if !want.IsFloat() && t.DType.IsFloat() {
		// Float data (token ids saved as float32) feed an integer input
		// when every value is a whole number the type holds.
		c := model.Convert(t, want)
		for i, v := range t.F32 {
			if float64(c.I64[i]) != float64(v) || want == model.Bool && v != 0 && v != 1 {
				return nil, fmt.Errorf("tensorio: value %v at index %d of a %v tensor is not a %v (the model wants whole numbers)", v, i, t.DType, want)
			}
		}
		return c, nil
	}
	c := model.Convert(t, want)
	if !want.IsFloat() {
		for i, v := range t.I64 {
			if c.I64[i] != v || (want == model.Uint64) != (t.DType == model.Uint64) && v < 0 {
				return nil, fmt.Errorf("tensorio: value %d at index %d of a %v tensor does not fit the model's %v", v, i, t.DType, want)
			}
		}
	}
	return c, nil
}
