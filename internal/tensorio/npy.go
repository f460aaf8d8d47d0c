package tensorio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/sbinet/npyio"

	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/model"
)

// npyDTypes maps the dtypes DecodeNPY accepts to their element size.
// Descriptors as numpy writes them (numpy/lib/format.py: dtype.str).
var npyDTypes = map[string]int{
	"<f4": 4, "<f8": 8, "<i8": 8, "|u1": 1, "<u1": 1, "u1": 1,
	">f4": 4, ">f8": 8, ">i8": 8,
}

// DecodeNPY decodes a .npy file held in memory. The header is checked by us
// (magic, version, length, dtype, shape against the data length) before
// npyio reads the values, because npyio trusts the header: it allocates
// whatever length it states and zero-fills short data.
func DecodeNPY(data []byte) (*model.Tensor, error) {
	if len(data) < 10 || !bytes.Equal(data[:6], npyio.Magic[:]) {
		return nil, fmt.Errorf("%w: not a .npy file (no \\x93NUMPY magic)", ErrFormat)
	}
	// NEP 1: version 1.0 has a uint16 header length at offset 8, versions
	// 2.0 and 3.0 a uint32 at offset 8.
	var hlen, start int
	switch data[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, fmt.Errorf("%w: .npy header truncated", ErrFormat)
		}
		hlen, start = int(binary.LittleEndian.Uint32(data[8:12])), 12
	default:
		return nil, fmt.Errorf("%w: .npy version %d.%d is not supported (1.0 to 3.0 are)", ErrFormat, data[6], data[7])
	}
	if hlen > len(data)-start {
		return nil, fmt.Errorf("%w: .npy header length %d exceeds the %d bytes that remain (truncated?)", ErrFormat, hlen, len(data)-start)
	}
	head := string(data[start : start+hlen])
	if !strings.HasSuffix(head, "\n") || !strings.HasPrefix(head, "{") {
		return nil, fmt.Errorf("%w: .npy header is not a {...} dictionary ending in a newline", ErrFormat)
	}
	descr, fortran, shape, err := parseNPYHeader(head)
	if err != nil {
		return nil, err
	}
	size, ok := npyDTypes[descr]
	if !ok {
		return nil, fmt.Errorf("tensorio: %w: .npy dtype %q (supported: float32, float64, int64, uint8)", model.ErrUnsupported, descr)
	}
	body := len(data) - start - hlen
	n, err := checkedCount(shape, body/size)
	if err != nil {
		// checkedCount counts elements; say it in bytes, as the file is.
		return nil, fmt.Errorf("%w: .npy shape %v of %s needs more data than the file's %d bytes after the header (truncated?)", ErrFormat, shape, descr, body)
	}
	if n*size != body {
		return nil, fmt.Errorf("%w: .npy shape %v of %s needs %d data bytes, the file has %d", ErrFormat, shape, descr, n*size, body)
	}
	r, err := safeNewReader(data)
	if err != nil {
		return nil, err
	}
	if r.Header.Descr.Type != descr || !equalInts(r.Header.Descr.Shape, shape) {
		return nil, fmt.Errorf("%w: .npy header %s is ambiguous", ErrFormat, clipHeader(head))
	}
	t := &model.Tensor{DType: model.Float32, Shape: shape}
	if n == 0 {
		if descr[1:] == "i8" {
			t.DType, t.I64 = model.Int64, []int64{}
		} else {
			t.F32 = []float32{}
		}
		return t, nil
	}
	switch descr[1:] {
	case "f4":
		t.F32 = make([]float32, n)
		err = r.Read(&t.F32)
	case "f8":
		v := make([]float64, n)
		if err = r.Read(&v); err == nil {
			t.F32 = make([]float32, n)
			for i, x := range v {
				t.F32[i] = float32(x)
			}
		}
	case "i8":
		t.DType = model.Int64
		t.I64 = make([]int64, n)
		err = r.Read(&t.I64)
	case "u1", "1":
		v := make([]uint8, n)
		if err = r.Read(&v); err == nil {
			t.F32 = make([]float32, n)
			for i, x := range v {
				t.F32[i] = float32(x)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: .npy data: %v", ErrFormat, err)
	}
	if fortran {
		transposeInPlace(t)
	}
	return t, nil
}

// safeNewReader runs npyio's header parser, turning a panic on a malformed
// header (it slices by the positions of keys it expects) into an error.
func safeNewReader(data []byte) (r *npyio.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%w: malformed .npy header (%v)", ErrFormat, p)
		}
	}()
	r, err = npyio.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return r, nil
}

// parseNPYHeader extracts descr, fortran_order and shape from a header
// dictionary as numpy writes it: {'descr': '<f4', 'fortran_order': False,
// 'shape': (6, 28, 28), }.
func parseNPYHeader(h string) (descr string, fortran bool, shape []int, err error) {
	bad := func(what string) error {
		return fmt.Errorf("%w: .npy header %s: %s", ErrFormat, clipHeader(h), what)
	}
	value := func(key string) (string, bool) {
		i := strings.Index(h, "'"+key+"':")
		if i < 0 {
			return "", false
		}
		return strings.TrimSpace(h[i+len(key)+3:]), true
	}
	v, ok := value("descr")
	if !ok || len(v) < 2 || v[0] != '\'' {
		return "", false, nil, bad("no 'descr'")
	}
	end := strings.IndexByte(v[1:], '\'')
	if end < 0 {
		return "", false, nil, bad("unterminated 'descr'")
	}
	descr = v[1 : 1+end]
	if v, ok = value("fortran_order"); !ok {
		return "", false, nil, bad("no 'fortran_order'")
	}
	switch {
	case strings.HasPrefix(v, "False"):
	case strings.HasPrefix(v, "True"):
		fortran = true
	default:
		return "", false, nil, bad("'fortran_order' is neither True nor False")
	}
	if v, ok = value("shape"); !ok || !strings.HasPrefix(v, "(") {
		return "", false, nil, bad("no 'shape' tuple")
	}
	end = strings.IndexByte(v, ')')
	if end < 0 {
		return "", false, nil, bad("unterminated 'shape'")
	}
	shape = []int{}
	for _, tok := range strings.Split(v[1:end], ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		d, err := strconv.Atoi(tok)
		if err != nil || d < 0 {
			return "", false, nil, bad(fmt.Sprintf("bad dimension %q", tok))
		}
		shape = append(shape, d)
	}
	return descr, fortran, shape, nil
}

// transposeInPlace turns Fortran-order (column-major) data into C order.
func transposeInPlace(t *model.Tensor) {
	n := len(t.F32) + len(t.I64)
	if len(t.Shape) < 2 || n == 0 {
		return
	}
	// Element at C index (i0..ik) sits at Fortran offset sum(i_j * fstride_j).
	fstride := make([]int, len(t.Shape))
	s := 1
	for j, d := range t.Shape {
		fstride[j] = s
		s *= d
	}
	idx := make([]int, len(t.Shape))
	src32, src64 := t.F32, t.I64
	if src32 != nil {
		t.F32 = make([]float32, n)
	}
	if src64 != nil {
		t.I64 = make([]int64, n)
	}
	for c := 0; c < n; c++ {
		off := 0
		for j, i := range idx {
			off += i * fstride[j]
		}
		if src32 != nil {
			t.F32[c] = src32[off]
		} else {
			t.I64[c] = src64[off]
		}
		for j := len(idx) - 1; j >= 0; j-- {
			idx[j]++
			if idx[j] < t.Shape[j] {
				break
			}
			idx[j] = 0
		}
	}
}

// EncodeNPY returns t as a version 1.0 .npy file in C order: '<f4' for
// float32, '<i8' for int64. npyio's writer only knows 1-D slices and 2-D
// matrices, so the header (NEP 1) is written here; the data is npyio's.
func EncodeNPY(t *model.Tensor) ([]byte, error) {
	var descr string
	var n int
	switch t.DType {
	case model.Float32:
		descr, n = "<f4", len(t.F32)
	case model.Int64:
		descr, n = "<i8", len(t.I64)
	default:
		return nil, fmt.Errorf("tensorio: tensor %q: dtype %v cannot be written as .npy", t.Name, t.DType)
	}
	if c := model.NumElements(t.Shape); c != n {
		return nil, fmt.Errorf("tensorio: tensor %q: shape %v needs %d values, has %d", t.Name, t.Shape, c, n)
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := "(" + strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	shape += ")"
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	// NEP 1: magic (6) + version (2) + length (2) + dict + padding + '\n' is
	// a multiple of 64 bytes (numpy's ARRAY_ALIGN).
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	if len(dict) > math.MaxUint16 {
		return nil, fmt.Errorf("tensorio: tensor %q: shape %v too long for a .npy header", t.Name, t.Shape)
	}
	var buf bytes.Buffer
	buf.Write(npyio.Magic[:])
	buf.Write([]byte{1, 0})
	binary.Write(&buf, binary.LittleEndian, uint16(len(dict)))
	buf.WriteString(dict)
	// npyio.Write of a slice writes its own 1-D header; keep only the data.
	var data bytes.Buffer
	var err error
	if t.DType == model.Float32 {
		err = npyio.Write(&data, t.F32)
	} else {
		err = npyio.Write(&data, t.I64)
	}
	if err != nil {
		return nil, fmt.Errorf("tensorio: tensor %q: %w", t.Name, err)
	}
	body := data.Bytes()
	elem := 4
	if t.DType == model.Int64 {
		elem = 8
	}
	buf.Write(body[len(body)-n*elem:])
	return buf.Bytes(), nil
}

// WriteNPY writes t to path as .npy, atomically.
func WriteNPY(path string, t *model.Tensor) error {
	b, err := EncodeNPY(t)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(tmp string) error {
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return fmt.Errorf("tensorio: %w", err)
		}
		return nil
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// clipHeader quotes a .npy header for a message, cut after 120 bytes: a
// header may be up to 4 GiB long.
func clipHeader(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 120 {
		return fmt.Sprintf("%q... (%d bytes)", h[:120], len(h))
	}
	return fmt.Sprintf("%q", h)
}
