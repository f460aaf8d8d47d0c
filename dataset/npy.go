package dataset

import (
	"errors"
	"fmt"
	"math"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// maxLabelClasses bounds the class count inferred from integer labels.
const maxLabelClasses = 1 << 16

// LoadNPY reads inputs from xPath and labels from yPath (.npy files). X may
// have any numeric dtype and is converted to float32 as is (no scaling); Y
// must have shape [N] or [N 1]. When every label is a non-negative integer,
// Classes is the largest label + 1 (at least 2).
func LoadNPY(xPath, yPath string) (*Set, error) {
	x, err := readNPY(xPath)
	if err != nil {
		return nil, err
	}
	y, err := readNPY(yPath)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 1 {
		return nil, fmt.Errorf("dataset: %s: inputs are a scalar; want shape [N, ...]", xPath)
	}
	if !(len(y.Shape) == 1 || (len(y.Shape) == 2 && y.Shape[1] == 1)) {
		return nil, fmt.Errorf("dataset: %s: labels have shape %v; want [N] or [N 1]", yPath, y.Shape)
	}
	// NaN or infinite values would only surface later as a NaN loss.
	for _, t := range []struct {
		path string
		v    *model.Tensor
	}{{xPath, x}, {yPath, y}} {
		if err := finite(t.path, t.v); err != nil {
			return nil, err
		}
	}
	classes, top := 2, float32(0)
	for _, v := range y.F32 {
		if v < 0 || v != float32(math.Trunc(float64(v))) || v >= maxLabelClasses {
			classes = 0
			break
		}
		top = max(top, v)
	}
	if classes != 0 {
		classes = max(classes, int(top)+1)
	}
	return NewSet("npy:"+xPath+","+yPath, x, y.F32, classes)
}

// finite returns an error wrapping ErrNotFinite naming the first NaN or
// infinite value of t (read from path), by flat index and row.
func finite(path string, t *model.Tensor) error {
	row := 1
	for _, d := range t.Shape[min(1, len(t.Shape)):] {
		row *= d
	}
	for i, v := range t.F32 {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: %s: value %d (row %d) is %v; clean or impute the data first", ErrNotFinite, path, i, i/max(row, 1), f)
		}
	}
	return nil
}

// readNPY reads a .npy file with tensorio (xfer's one .npy decoder) into a
// float32 tensor: integer types are converted as is.
func readNPY(path string) (*model.Tensor, error) {
	t, err := tensorio.ReadNPYFile(path)
	if err != nil {
		return nil, &npyError{err}
	}
	if t.DType == model.Int64 {
		t.F32 = make([]float32, len(t.I64))
		for i, v := range t.I64 {
			t.F32[i] = float32(v)
		}
		t.DType, t.I64 = model.Float32, nil
	}
	return t, nil
}

// npyError is a .npy file tensorio refused (its message names the file);
// errors.Is matches this package's ErrFormat for a damaged file (as
// for IDX files), and model.ErrUnsupported for a dtype xfer does not read.
type npyError struct{ err error }

func (e *npyError) Error() string { return "dataset: " + e.err.Error() }

func (e *npyError) Unwrap() []error {
	if errors.Is(e.err, tensorio.ErrFormat) {
		return []error{e.err, ErrFormat}
	}
	return []error{e.err}
}
