package model

import (
	"fmt"
	"math"
	"strings"
)

// DType is the element type of a tensor or value.
//
// A tensor holds its values in one of two storages: F32 for the float
// types (float32 itself; float16, bfloat16 and float64 held as float32, so
// that every float kernel computes in float32) and I64 for the integer types
// and bool (held as int64; bool as 0 or 1). The tag says what the values
// mean and how they are written back to a file; Fit rounds float16 and
// bfloat16 values to their precision and wraps integers to their width, so
// a tensor of a narrow type holds only values that type can represent.
// float64 keeps float32 precision (xfer computes in float32), and uint64
// values at or above 2^63 are held as negative int64 (their bit pattern).
//
// Params are always Float32. The numbering is part of the workspace
// snapshot format (internal/native): never renumber.
type DType int

// Element types.
const (
	Float32 DType = iota + 1
	Int64
	Float16
	BFloat16
	Float64
	Int32
	Int16
	Int8
	Uint8
	Uint16
	Uint32
	Uint64
	Bool
)

var dtypeInfo = [...]struct {
	name string
	onnx int32 // onnx.proto TensorProto.DataType
	size int   // bytes per element in files
}{
	Float32: {"float32", 1, 4}, Int64: {"int64", 7, 8}, Float16: {"float16", 10, 2},
	BFloat16: {"bfloat16", 16, 2}, Float64: {"float64", 11, 8}, Int32: {"int32", 6, 4},
	Int16: {"int16", 5, 2}, Int8: {"int8", 3, 1}, Uint8: {"uint8", 2, 1},
	Uint16: {"uint16", 4, 2}, Uint32: {"uint32", 12, 4}, Uint64: {"uint64", 13, 8},
	Bool: {"bool", 9, 1},
}

// DTypes lists every element type, in numbering order.
func DTypes() []DType {
	out := make([]DType, 0, len(dtypeInfo)-1)
	for d := Float32; int(d) < len(dtypeInfo); d++ {
		out = append(out, d)
	}
	return out
}

// DTypeNames lists the element types' names for messages:
// "float32, int64, float16, ...".
func DTypeNames() string {
	var b strings.Builder
	for i, d := range DTypes() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// Valid reports whether d is one of the element types above.
func (d DType) Valid() bool { return d >= Float32 && int(d) < len(dtypeInfo) }

func (d DType) String() string {
	if d.Valid() {
		return dtypeInfo[d].name
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// IsFloat reports whether d's values live in Tensor.F32.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float16 || d == BFloat16 || d == Float64
}

// Storage returns Float32 for the float types and Int64 for the others:
// the dtype of the field that holds d's values.
func (d DType) Storage() DType {
	if d.IsFloat() {
		return Float32
	}
	return Int64
}

// Size returns the bytes per element of d in files (ONNX raw_data, .npy).
func (d DType) Size() int {
	if !d.Valid() {
		return 0
	}
	return dtypeInfo[d].size
}

// ONNX returns d's onnx.proto TensorProto.DataType code.
func (d DType) ONNX() int32 {
	if !d.Valid() {
		return 0
	}
	return dtypeInfo[d].onnx
}

// DTypeFromONNX returns the DType of an onnx.proto TensorProto.DataType
// code; ok is false for the types xfer does not hold (string, complex,
// float8, undefined).
func DTypeFromONNX(code int64) (d DType, ok bool) {
	for d := Float32; int(d) < len(dtypeInfo); d++ {
		if int64(dtypeInfo[d].onnx) == code {
			return d, true
		}
	}
	return 0, false
}

// Fit makes t's values representable in t.DType, in place: float16 and
// bfloat16 values are rounded to nearest even, integers wrap to the type's
// width (two's complement, as a C cast does) and bool values become 0 or 1.
func (t *Tensor) Fit() {
	FitF32(t.DType, t.F32)
	FitI64(t.DType, t.I64)
}

// FitF32 rounds v in place to the precision of d (float16, bfloat16); it
// does nothing for other types.
func FitF32(d DType, v []float32) {
	switch d {
	case Float16:
		for i, x := range v {
			v[i] = Float16FromBits(Float16Bits(x))
		}
	case BFloat16:
		for i, x := range v {
			v[i] = BFloat16FromBits(BFloat16Bits(x))
		}
	}
}

// FitI64 wraps v in place to the width of the integer type d (bool: 0 or
// 1); it does nothing for int64 and uint64.
func FitI64(d DType, v []int64) {
	switch d {
	case Int32:
		for i, x := range v {
			v[i] = int64(int32(x))
		}
	case Int16:
		for i, x := range v {
			v[i] = int64(int16(x))
		}
	case Int8:
		for i, x := range v {
			v[i] = int64(int8(x))
		}
	case Uint8:
		for i, x := range v {
			v[i] = int64(uint8(x))
		}
	case Uint16:
		for i, x := range v {
			v[i] = int64(uint16(x))
		}
	case Uint32:
		for i, x := range v {
			v[i] = int64(uint32(x))
		}
	case Bool:
		for i, x := range v {
			if x != 0 {
				v[i] = 1
			}
		}
	}
}

// Convert returns t's values as dtype to (a new tensor sharing nothing with
// t), with ONNX Cast semantics (see ConvertInto). Converting to t's own
// dtype copies.
func Convert(t *Tensor, to DType) *Tensor {
	c := &Tensor{Name: t.Name, DType: to, Shape: append([]int{}, t.Shape...)}
	if to.IsFloat() {
		c.F32 = make([]float32, len(t.F32)+len(t.I64))
	} else {
		c.I64 = make([]int64, len(t.F32)+len(t.I64))
	}
	ConvertInto(c, t)
	return c
}

// ConvertInto writes src's values into dst as dst.DType, with ONNX Cast
// semantics: floats to integers truncate toward zero (NaN and out-of-range
// values are undefined in ONNX; here NaN gives 0 and others saturate at
// int64's range before wrapping to the width), anything to bool is x != 0,
// bool to a number is 0 or 1, and the result is fitted to dst.DType's
// precision or width. dst's storage for its dtype must have src's length;
// dst may be src.
func ConvertInto(dst, src *Tensor) {
	to := dst.DType
	switch {
	case to.IsFloat() && src.DType.IsFloat():
		copy(dst.F32, src.F32)
	case to.IsFloat():
		if src.DType == Uint64 {
			for i, v := range src.I64 {
				dst.F32[i] = float32(uint64(v))
			}
		} else {
			for i, v := range src.I64 {
				dst.F32[i] = float32(v)
			}
		}
	case src.DType.IsFloat():
		for i, v := range src.F32 {
			dst.I64[i] = floatToInt(v, to)
		}
	default:
		copy(dst.I64, src.I64)
	}
	dst.Fit()
}

// floatToInt truncates v toward zero into the integer type to, saturating
// at int64's range (bool: v != 0; NaN gives 0).
func floatToInt(v float32, to DType) int64 {
	switch {
	case to == Bool:
		if v != 0 {
			return 1
		}
		return 0
	case v != v:
		return 0
	case to == Uint64 && v >= 1<<63:
		if v >= 1<<64 {
			return -1 // all ones: the largest uint64
		}
		return int64(uint64(v))
	case v >= 1<<63:
		return math.MaxInt64
	case v < -(1 << 63):
		return math.MinInt64
	}
	return int64(v)
}

// Float16FromBits converts an IEEE 754 binary16 bit pattern to float32
// (exactly: every float16 is a float32).
func Float16FromBits(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = frac * 2^-24.
		f := float32(frac) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// Float16Bits rounds f to the nearest binary16 (ties to even), overflowing
// to infinity, and returns its bit pattern; NaN stays NaN.
func Float16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b >> 23 & 0xff)
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13) // quiet NaN, payload kept
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// A binary16 subnormal (or zero): units of 2^-24.
		if exp == 0 {
			return sign // float32 subnormals are far below 2^-25
		}
		m := man | 0x800000
		shift := uint(126 - exp)
		if shift >= 32 {
			return sign
		}
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, up to infinity: correct
	}
	return sign | uint16(h)
}

// BFloat16FromBits widens a bfloat16 bit pattern (the top half of a
// float32).
func BFloat16FromBits(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// BFloat16Bits rounds f to the nearest bfloat16 (ties to even) and returns
// its bit pattern; NaN stays NaN.
func BFloat16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// CastTo returns the target dtype of a Cast node: attribute to, an ONNX
// TensorProto.DataType code, or (Cast-1 to Cast-5) its name as a string
// ("FLOAT", "INT64").
func CastTo(n *Node) (DType, error) {
	a, ok := n.Attrs["to"]
	if !ok {
		return 0, fmt.Errorf("Cast: missing attribute to")
	}
	if a.Kind == AttrString {
		names := map[string]DType{}
		for _, d := range DTypes() {
			names[onnxNames[d]] = d
		}
		if d, ok := names[strings.ToUpper(a.String)]; ok {
			return d, nil
		}
		return 0, fmt.Errorf("%w: Cast to %q (supported: %s)", ErrUnsupported, a.String, DTypeNames())
	}
	d, ok := DTypeFromONNX(a.Int)
	if !ok {
		return 0, fmt.Errorf("%w: Cast to ONNX data type %d (supported: %s)", ErrUnsupported, a.Int, DTypeNames())
	}
	return d, nil
}

// onnxNames are the TensorProto.DataType names of the dtypes.
var onnxNames = map[DType]string{
	Float32: "FLOAT", Int64: "INT64", Float16: "FLOAT16", BFloat16: "BFLOAT16", Float64: "DOUBLE",
	Int32: "INT32", Int16: "INT16", Int8: "INT8", Uint8: "UINT8", Uint16: "UINT16", Uint32: "UINT32",
	Uint64: "UINT64", Bool: "BOOL",
}
