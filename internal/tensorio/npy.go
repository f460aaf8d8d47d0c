package tensorio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sbinet/npyio"

	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/model"
)

// npyDTypes maps the numpy types ReadNPY accepts (descriptors without
// their byte-order character, as numpy writes them in numpy/lib/format.py:
// dtype.str: '<f4', '>f8', '|u1', '<i4', '|b1') to the model.DType they
// are read as.
var npyDTypes = map[string]model.DType{
	"f2": model.Float16, "f4": model.Float32, "f8": model.Float64,
	"i1": model.Int8, "i2": model.Int16, "i4": model.Int32, "i8": model.Int64,
	"u1": model.Uint8, "u2": model.Uint16, "u4": model.Uint32, "u8": model.Uint64,
	"b1": model.Bool,
}

// npyHeaderMax bounds a header ReadNPY reads into memory: numpy writes a few
// hundred bytes, version 2.0 allows 4 GiB.
const npyHeaderMax = 1 << 20

// DecodeNPY decodes a .npy file held in memory (ReadNPY on its bytes).
func DecodeNPY(data []byte) (*model.Tensor, error) {
	return ReadNPY(bytes.NewReader(data), int64(len(data)))
}

// ReadNPY decodes a .npy stream of exactly size bytes (a file, a member of
// an .npz zip) without holding the stream in memory. The header is checked
// by us (magic, version, length, dtype, shape against the size) before
// npyio reads the values, because npyio trusts the header: it allocates
// whatever length it states and zero-fills short data.
//
// The tensor keeps the file's element type (model.DType: float16/32/64,
// int8/16/32/64, uint8/16/32/64, bool; any byte order); As converts it to
// what a model input or a data set wants. Fortran-order arrays are
// transposed to C order. Anything else wraps model.ErrUnsupported; a
// damaged or truncated file wraps ErrFormat.
func ReadNPY(r io.Reader, size int64) (*model.Tensor, error) {
	br := bufio.NewReader(r)
	pre, _ := br.Peek(12)
	if len(pre) < 10 || !bytes.Equal(pre[:6], npyio.Magic[:]) {
		return nil, fmt.Errorf("%w: not a .npy file (no \\x93NUMPY magic)", ErrFormat)
	}
	// NEP 1: version 1.0 has a uint16 header length at offset 8, versions
	// 2.0 and 3.0 a uint32 at offset 8.
	var hlen, start int64
	switch pre[6] {
	case 1:
		hlen, start = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if len(pre) < 12 {
			return nil, fmt.Errorf("%w: .npy header truncated", ErrFormat)
		}
		hlen, start = int64(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		return nil, fmt.Errorf("%w: .npy version %d.%d is not supported (1.0 to 3.0 are)", ErrFormat, pre[6], pre[7])
	}
	if hlen > size-start {
		return nil, fmt.Errorf("%w: .npy header length %d exceeds the %d bytes that remain (truncated?)", ErrFormat, hlen, max(size-start, 0))
	}
	if hlen > npyHeaderMax {
		return nil, fmt.Errorf("%w: .npy header length %d (numpy writes a few hundred bytes; xfer reads up to %d)", ErrFormat, hlen, npyHeaderMax)
	}
	raw := make([]byte, start+hlen)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, fmt.Errorf("%w: .npy header truncated: %v", ErrFormat, err)
	}
	head := string(raw[start:])
	if !strings.HasSuffix(head, "\n") || !strings.HasPrefix(head, "{") {
		return nil, fmt.Errorf("%w: .npy header is not a {...} dictionary ending in a newline", ErrFormat)
	}
	descr, fortran, shape, err := parseNPYHeader(head)
	if err != nil {
		return nil, err
	}
	code := descr
	if len(code) == 3 && strings.ContainsRune("<>|=", rune(code[0])) {
		code = code[1:]
	}
	dt, ok := npyDTypes[code]
	if !ok {
		return nil, fmt.Errorf("tensorio: %w: .npy dtype %q (supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool)", model.ErrUnsupported, descr)
	}
	width := dt.Size()
	body := size - start - hlen
	n, err := checkedCount(shape, int(body/int64(width)))
	if err != nil {
		// checkedCount counts elements; say it in bytes, as the file is.
		return nil, fmt.Errorf("%w: .npy shape %v of %s needs more data than the file's %d bytes after the header (truncated?)", ErrFormat, shape, descr, body)
	}
	if int64(n*width) != body {
		return nil, fmt.Errorf("%w: .npy shape %v of %s needs %d data bytes, the file has %d", ErrFormat, shape, descr, n*width, body)
	}
	cr := &countingReader{r: br}
	nr, err := safeNewReader(io.MultiReader(bytes.NewReader(raw), cr))
	if err != nil {
		return nil, err
	}
	if nr.Header.Descr.Type != descr || !slices.Equal(nr.Header.Descr.Shape, shape) || nr.Header.Descr.Fortran != fortran {
		return nil, fmt.Errorf("%w: .npy header %s is ambiguous", ErrFormat, clipHeader(head))
	}
	t := &model.Tensor{DType: dt, Shape: shape}
	if n == 0 {
		if dt.IsFloat() {
			t.F32 = []float32{}
		} else {
			t.I64 = []int64{}
		}
		return t, nil
	}
	if code == "f2" {
		// npyio has no float16: read the bit patterns after the header.
		var order binary.ByteOrder = binary.LittleEndian
		if descr[0] == '>' {
			order = binary.BigEndian
		}
		bits := make([]uint16, n)
		err = binary.Read(cr, order, bits)
		t.F32 = make([]float32, n)
		for i, b := range bits {
			t.F32[i] = model.Float16FromBits(b)
		}
	} else {
		err = readNPYData(nr, code, n, t)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: .npy data (%s, shape %v): %v", ErrFormat, descr, shape, err)
	}
	if cr.n != int64(n*width) {
		return nil, fmt.Errorf("%w: .npy data (%s, shape %v): read %d bytes, want %d (truncated?)", ErrFormat, descr, shape, cr.n, n*width)
	}
	if fortran {
		transposeInPlace(t)
	}
	return t, nil
}

// readNPYData reads n values of the dtype code (no byte-order character)
// into t: F32 for the float types, I64 for the integers and bool.
func readNPYData(r *npyio.Reader, code string, n int, t *model.Tensor) error {
	switch code {
	case "f4":
		t.F32 = make([]float32, n)
		return r.Read(&t.F32)
	case "f8":
		return widen(r, n, &t.F32, func(v float64) float32 { return float32(v) })
	case "i8":
		t.I64 = make([]int64, n)
		return r.Read(&t.I64)
	case "i1":
		return widen(r, n, &t.I64, func(v int8) int64 { return int64(v) })
	case "i2":
		return widen(r, n, &t.I64, func(v int16) int64 { return int64(v) })
	case "i4":
		return widen(r, n, &t.I64, func(v int32) int64 { return int64(v) })
	case "u1":
		return widen(r, n, &t.I64, func(v uint8) int64 { return int64(v) })
	case "u2":
		return widen(r, n, &t.I64, func(v uint16) int64 { return int64(v) })
	case "u4":
		return widen(r, n, &t.I64, func(v uint32) int64 { return int64(v) })
	case "u8": // values from 2^63 up are held as their bit pattern
		return widen(r, n, &t.I64, func(v uint64) int64 { return int64(v) })
	case "b1":
		return widen(r, n, &t.I64, func(v bool) int64 {
			if v {
				return 1
			}
			return 0
		})
	}
	return fmt.Errorf("dtype %q has no reader", code)
}

// widen reads n values of type S with npyio and converts each into *dst.
func widen[S any, D float32 | int64](r *npyio.Reader, n int, dst *[]D, conv func(S) D) error {
	v := make([]S, n)
	if err := r.Read(&v); err != nil {
		return err
	}
	*dst = make([]D, n)
	for i, x := range v {
		(*dst)[i] = conv(x)
	}
	return nil
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

// safeNewReader runs npyio's header parser, turning a panic on a malformed
// header (it slices by the positions of keys it expects) into an error.
func safeNewReader(rd io.Reader) (r *npyio.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%w: malformed .npy header (%v)", ErrFormat, p)
		}
	}()
	r, err = npyio.NewReader(rd)
	if err != nil {
		// npyio quotes what it failed to parse, which may be the whole
		// header: keep the message one readable line.
		return nil, fmt.Errorf("%w: .npy header: %s", ErrFormat, clipHeader(err.Error()))
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

// npyCodes is npyDTypes reversed: the type EncodeNPY writes.
var npyCodes = func() map[model.DType]string {
	m := map[model.DType]string{}
	for code, dt := range npyDTypes {
		m[dt] = code
	}
	return m
}()

// EncodeNPY returns t as a version 1.0 .npy file in C order, little-endian,
// in t's own element type ('<f4' for float32, '<i8' for int64, '|b1' for
// bool, ...; bfloat16, which numpy lacks, as float32). npyio's writer takes
// the shape from the Go value (1-D slices, 2-D matrices), not from a flat
// slice and a shape, so the header (NEP 1) is written here and the data
// with encoding/binary.
func EncodeNPY(t *model.Tensor) ([]byte, error) {
	if t.DType == model.BFloat16 {
		// numpy has no bfloat16: its values are float32s exactly.
		f := *t
		f.DType = model.Float32
		t = &f
	}
	code, ok := npyCodes[t.DType]
	if !ok {
		return nil, fmt.Errorf("tensorio: tensor %q: dtype %v cannot be written as .npy", t.Name, t.DType)
	}
	descr := "<" + code
	if t.DType.Size() == 1 {
		descr = "|" + code
	}
	n := len(t.F32) + len(t.I64)
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
	b := make([]byte, 0, 10+len(dict)+n*t.DType.Size())
	b = append(b, npyio.Magic[:]...)
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	b = append(b, dict...)
	return appendRaw(b, t), nil
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

// clipHeader quotes a .npy header for a message, cut after 120 bytes: a
// header may be up to 4 GiB long.
func clipHeader(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 120 {
		return fmt.Sprintf("%q... (%d bytes)", h[:120], len(h))
	}
	return fmt.Sprintf("%q", h)
}
