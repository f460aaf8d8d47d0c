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
// have any numeric dtype and is converted to float32 as is (no scaling; see
// Set.Rescale). Y is [N] or [N 1] (class indices or values: when every
// label is a non-negative integer, Classes is the largest label + 1, at
// least 2) or [N K] with K > 1 one-hot or class-probability rows
// (categorical_crossentropy's labels; Classes is K).
func LoadNPY(xPath, yPath string) (*Set, error) {
	x, err := readNPY(xPath)
	if err != nil {
		return nil, err
	}
	y, err := readNPY(yPath)
	if err != nil {
		return nil, err
	}
	return arraysToSet("npy:"+xPath+","+yPath, xPath, yPath, x, y)
}

// arraysToSet checks inputs x (read from xWhere) and labels y (from
// yWhere) and makes a set named name.
func arraysToSet(name, xWhere, yWhere string, x, y *model.Tensor) (*Set, error) {
	if len(x.Shape) < 1 {
		return nil, fmt.Errorf("dataset: %s: inputs are a scalar; want shape [N, ...]", xWhere)
	}
	oneHot := len(y.Shape) == 2 && y.Shape[1] > 1
	if !(len(y.Shape) == 1 || (len(y.Shape) == 2 && y.Shape[1] == 1) || oneHot) {
		return nil, fmt.Errorf("dataset: %s: labels have shape %v; want [N], [N 1] or one-hot [N K]", yWhere, y.Shape)
	}
	if len(y.Shape) > 0 && y.Shape[0] != x.Shape[0] {
		return nil, fmt.Errorf("dataset: %s has %d examples but %s has %d labels; they must match", xWhere, x.Shape[0], yWhere, y.Shape[0])
	}
	// NaN or infinite values would only surface later as a NaN loss.
	for _, t := range []struct {
		path string
		v    *model.Tensor
	}{{xWhere, x}, {yWhere, y}} {
		if err := finite(t.path, t.v); err != nil {
			return nil, err
		}
	}
	if oneHot {
		k := y.Shape[1]
		for r := 0; r < y.Shape[0]; r++ {
			var sum float64
			for _, v := range y.F32[r*k : (r+1)*k] {
				if v < 0 || v > 1 {
					return nil, fmt.Errorf("dataset: %s: label row %d holds %v, not a one-hot or probability row of %d classes (values in [0, 1] summing to 1)", yWhere, r, v, k)
				}
				sum += float64(v)
			}
			if math.Abs(sum-1) > 1e-3 {
				return nil, fmt.Errorf("dataset: %s: label row %d sums to %.4g, not 1: want one-hot or probability rows of %d classes", yWhere, r, sum, k)
			}
		}
		return NewOneHotSet(name, x, y.F32, k)
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
	return NewSet(name, x, y.F32, classes)
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
// float32 tensor (asFloat32).
func readNPY(path string) (*model.Tensor, error) {
	t, err := tensorio.ReadNPYFile(path)
	if err != nil {
		return nil, &npyError{err}
	}
	return asFloat32(t), nil
}

// asFloat32 returns t as float32: tensorio keeps a .npy file's own type
// (integers, bool, float16, float64), data sets are float32.
func asFloat32(t *model.Tensor) *model.Tensor {
	if t.DType != model.Float32 {
		return model.Convert(t, model.Float32)
	}
	return t
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
