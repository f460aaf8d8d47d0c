package dataset

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/sbinet/npyio"

	"github.com/xferml/xfer/internal/limits"
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

// readNPY reads a .npy file into a float32 tensor.
func readNPY(path string) (*model.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if err := limits.Check(path, st.Size(), 1); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	t, err := decodeNPY(bufio.NewReader(f), st.Size())
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	return t, nil
}

// decodeNPY decodes a .npy stream of size bytes into a float32 tensor.
func decodeNPY(r io.Reader, size int64) (t *model.Tensor, err error) {
	// npyio's header parser panics on some malformed headers (found by
	// FuzzDecodeNPY); a bad file must be an error.
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("npy header: malformed (%s): %w", clipText(fmt.Sprint(p), 160), ErrFormat)
		}
	}()
	// Check the header length before npyio allocates it (NEP 1: uint16 at
	// offset 8 for version 1, uint32 for versions 2 and 3).
	br := bufio.NewReader(r)
	head, _ := br.Peek(12)
	if len(head) < 10 || string(head[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("npy: no \\x93NUMPY magic: %w", ErrFormat)
	}
	var hlen, start int64
	switch head[6] {
	case 1:
		hlen, start = int64(head[8])|int64(head[9])<<8, 10
	case 2, 3:
		if len(head) < 12 {
			return nil, fmt.Errorf("npy: header truncated: %w", ErrFormat)
		}
		hlen, start = int64(head[8])|int64(head[9])<<8|int64(head[10])<<16|int64(head[11])<<24, 12
	default:
		return nil, fmt.Errorf("npy: version %d is not supported: %w", head[6], ErrFormat)
	}
	if hlen > size-start {
		return nil, fmt.Errorf("npy: header length %d exceeds the file's %d bytes: %w", hlen, size, ErrFormat)
	}
	cr := &countingReader{r: br}
	nr, err := npyio.NewReader(cr)
	if err != nil {
		// npyio quotes what it failed to parse, which may be the whole
		// header (up to 4 GiB): keep the message one readable line.
		return nil, fmt.Errorf("npy header: %w: %s", ErrFormat, clipText(err.Error(), 160))
	}
	h := nr.Header
	if h.Descr.Fortran {
		return nil, fmt.Errorf("npy: Fortran-order arrays are not read; save with numpy.ascontiguousarray: %w", model.ErrUnsupported)
	}
	shape := append([]int(nil), h.Descr.Shape...)
	n := model.NumElements(shape)
	if n < 0 {
		return nil, fmt.Errorf("npy: bad shape %v: %w", shape, ErrFormat)
	}
	code := strings.TrimLeft(h.Descr.Type, "<>|=")
	width := 0
	if len(code) >= 2 {
		fmt.Sscanf(code[1:], "%d", &width)
	}
	// Check before allocating: the file must hold n elements of this width.
	if width <= 0 || int64(n) > (size-cr.n)/int64(width) {
		return nil, fmt.Errorf("npy: shape %v of %s needs more bytes than the file's %d: %w", shape, h.Descr.Type, size, ErrFormat)
	}
	out := make([]float32, n)
	dataStart := cr.n
	read := func(ptr any, conv func(i int)) error {
		if n == 0 {
			return nil
		}
		if err := nr.Read(ptr); err != nil {
			return fmt.Errorf("npy data (%s, shape %v): %w: %w", h.Descr.Type, shape, ErrFormat, err)
		}
		if got := cr.n - dataStart; got != int64(n*width) {
			return fmt.Errorf("npy data (%s, shape %v): read %d bytes, want %d: %w", h.Descr.Type, shape, got, n*width, ErrFormat)
		}
		for i := range out {
			conv(i)
		}
		return nil
	}
	switch code {
	case "f4":
		v := make([]float32, n)
		err = read(&v, func(i int) { out[i] = v[i] })
	case "f8":
		v := make([]float64, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	case "u1":
		v := make([]uint8, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	case "i1":
		v := make([]int8, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	case "i2":
		v := make([]int16, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	case "u2":
		v := make([]uint16, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	case "i4":
		v := make([]int32, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	case "u4":
		v := make([]uint32, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	case "i8":
		v := make([]int64, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	case "u8":
		v := make([]uint64, n)
		err = read(&v, func(i int) { out[i] = float32(v[i]) })
	default:
		return nil, fmt.Errorf("npy: dtype %q (want a float or integer dtype): %w", h.Descr.Type, model.ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}
	return &model.Tensor{DType: model.Float32, Shape: shape, F32: out}, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

// clipText cuts s after n bytes, saying how long it was.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:n], len(s))
}
