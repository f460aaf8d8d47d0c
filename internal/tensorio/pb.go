package tensorio

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/model"
)

// TensorError is a TensorProto that FromProto cannot decode: which tensor,
// whether it is malformed (ErrFormat) or of a kind xfer does not hold
// (model.ErrUnsupported), and what is wrong. Callers with their own sentinels
// (importers/onnx) take Msg and wrap their own.
type TensorError struct {
	Name string // the TensorProto's name
	Err  error  // ErrFormat or model.ErrUnsupported
	Msg  string
}

func (e *TensorError) Error() string {
	if e.Err == ErrFormat {
		return fmt.Sprintf("%v: TensorProto %q: %s", e.Err, e.Name, e.Msg)
	}
	return fmt.Sprintf("tensorio: %v: TensorProto %q: %s", e.Err, e.Name, e.Msg)
}

func (e *TensorError) Unwrap() error { return e.Err }

// DecodePB decodes a serialized ONNX TensorProto (onnx.proto: message
// TensorProto), as in the input_N.pb files of ONNX's node tests, with
// FromProto.
func DecodePB(data []byte) (*model.Tensor, error) {
	if len(data) == 0 {
		// Protobuf decodes no bytes as an empty message, whose data type
		// would be reported as UNDEFINED.
		return nil, fmt.Errorf("%w: the file is empty (want an ONNX TensorProto)", ErrFormat)
	}
	var tp onnx.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return nil, fmt.Errorf("%w: not an ONNX TensorProto: %v", ErrFormat, err)
	}
	// Every element takes at least one byte in the message (raw data) or
	// one byte of a packed varint, so the count is bounded by len(data).
	shape := make([]int, 0, len(tp.Dims))
	for _, d := range tp.Dims {
		if d < 0 || d > math.MaxInt32 {
			break // FromProto names the bad dim
		}
		shape = append(shape, int(d))
	}
	if len(shape) == len(tp.Dims) {
		if _, err := checkedCount(shape, len(data)+1); err != nil {
			return nil, fmt.Errorf("%w (TensorProto %q)", err, tp.GetName())
		}
	}
	return FromProto(&tp)
}

// FromProto converts an ONNX TensorProto to a model.Tensor of the same
// element type (model.DType says how each is held): the one TensorProto
// decoder, used for .pb files and by the ONNX importer for initializers
// and tensor attributes. Dims and the data length are checked before
// anything is allocated (dims 0 to 2^31-1, their product without overflow,
// exactly that many elements in raw_data or the typed field); values are
// fitted to their type (an int8 in int32_data wraps, a bool is 0 or 1).
// External data, segments and the element types xfer does not hold
// (string, complex, float8) are refused. A float32 raw_data is aliased,
// not copied, when it is aligned (tp.RawData is then cleared): importing a
// large model then holds its weights once.
func FromProto(tp *onnx.TensorProto) (*model.Tensor, error) {
	fail := func(err error, format string, a ...any) error {
		return &TensorError{Name: tp.GetName(), Err: err, Msg: fmt.Sprintf(format, a...)}
	}
	if tp.GetDataLocation() == onnx.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, fail(model.ErrUnsupported, "data is stored in an external file; xfer reads self-contained models and tensors only (re-save with onnx.save_model(m, path, save_as_external_data=False))")
	}
	if tp.GetSegment() != nil {
		return nil, fail(model.ErrUnsupported, "segmented tensors are not supported")
	}
	shape := make([]int, len(tp.GetDims()))
	for i, d := range tp.GetDims() {
		if d < 0 || d > math.MaxInt32 {
			return nil, fail(ErrFormat, "dim %d is %d (a dimension is 0 to %d)", i, d, math.MaxInt32)
		}
		shape[i] = int(d)
	}
	n := model.NumElements(shape)
	if n < 0 {
		return nil, fail(ErrFormat, "dims %v overflow", tp.GetDims())
	}
	dt, ok := model.DTypeFromONNX(int64(tp.GetDataType()))
	if !ok {
		return nil, fail(model.ErrUnsupported, "element type %v (xfer holds %s)", strings.ToLower(onnx.TensorProto_DataType(tp.GetDataType()).String()), model.DTypeNames())
	}
	check := func(have int, what string) error {
		if have != n {
			return fail(ErrFormat, "dims %v need %d values, %s holds %d", tp.GetDims(), n, what, have)
		}
		return nil
	}
	t := &model.Tensor{Name: tp.GetName(), DType: dt, Shape: shape}
	if raw := tp.GetRawData(); raw != nil {
		if size := dt.Size(); len(raw) != n*size {
			return nil, fail(ErrFormat, "dims %v of %v need %d raw bytes, raw_data holds %d", tp.GetDims(), dt, n*size, len(raw))
		}
		if dt == model.Float32 {
			if f, ok := aliasFloat32(raw); ok {
				t.F32 = f
				tp.RawData = nil // the tensor owns the bytes now
				return t, nil
			}
		}
		decodeRaw(t, raw, n)
		return t, nil
	}
	switch dt {
	case model.Float32:
		if err := check(len(tp.GetFloatData()), "float_data"); err != nil {
			return nil, err
		}
		t.F32 = append(make([]float32, 0, n), tp.GetFloatData()...)
	case model.Float64:
		if err := check(len(tp.GetDoubleData()), "double_data"); err != nil {
			return nil, err
		}
		t.F32 = make([]float32, n)
		for i, v := range tp.GetDoubleData() {
			t.F32[i] = float32(v)
		}
	case model.Float16, model.BFloat16:
		// int32_data holds one 16-bit pattern per element (onnx.proto).
		if err := check(len(tp.GetInt32Data()), "int32_data"); err != nil {
			return nil, err
		}
		conv := model.Float16FromBits
		if dt == model.BFloat16 {
			conv = model.BFloat16FromBits
		}
		t.F32 = make([]float32, n)
		for i, v := range tp.GetInt32Data() {
			t.F32[i] = conv(uint16(v))
		}
	case model.Int64:
		if err := check(len(tp.GetInt64Data()), "int64_data"); err != nil {
			return nil, err
		}
		t.I64 = append(make([]int64, 0, n), tp.GetInt64Data()...)
	case model.Uint64, model.Uint32:
		if err := check(len(tp.GetUint64Data()), "uint64_data"); err != nil {
			return nil, err
		}
		t.I64 = make([]int64, n)
		for i, v := range tp.GetUint64Data() {
			t.I64[i] = int64(v)
		}
	default: // int32, int16, int8, uint16, uint8, bool: int32_data
		if err := check(len(tp.GetInt32Data()), "int32_data"); err != nil {
			return nil, err
		}
		t.I64 = make([]int64, n)
		for i, v := range tp.GetInt32Data() {
			t.I64[i] = int64(v)
		}
	}
	t.Fit()
	return t, nil
}

// decodeRaw fills t (dtype set) from little-endian raw_data holding
// exactly n elements.
func decodeRaw(t *model.Tensor, raw []byte, n int) {
	le := binary.LittleEndian
	if t.DType.IsFloat() {
		t.F32 = make([]float32, n)
		for i := range t.F32 {
			switch t.DType {
			case model.Float32:
				t.F32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
			case model.Float64:
				t.F32[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
			case model.Float16:
				t.F32[i] = model.Float16FromBits(le.Uint16(raw[2*i:]))
			default: // bfloat16
				t.F32[i] = model.BFloat16FromBits(le.Uint16(raw[2*i:]))
			}
		}
		return
	}
	t.I64 = make([]int64, n)
	for i := range t.I64 {
		switch t.DType {
		case model.Int64, model.Uint64:
			t.I64[i] = int64(le.Uint64(raw[8*i:]))
		case model.Int32:
			t.I64[i] = int64(int32(le.Uint32(raw[4*i:])))
		case model.Uint32:
			t.I64[i] = int64(le.Uint32(raw[4*i:]))
		case model.Int16:
			t.I64[i] = int64(int16(le.Uint16(raw[2*i:])))
		case model.Uint16:
			t.I64[i] = int64(le.Uint16(raw[2*i:]))
		case model.Int8:
			t.I64[i] = int64(int8(raw[i]))
		default: // uint8, bool
			t.I64[i] = int64(raw[i])
		}
	}
	t.Fit()
}

// littleEndian reports whether this machine stores a float32 the way ONNX's
// raw_data does.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// aliasFloat32 reinterprets little-endian raw_data as float32 values without
// copying, on a little-endian machine when the bytes are 4-byte aligned. It
// keeps import memory near the model's size (issue 6: peak under 2x): the
// protobuf decoder has already copied raw_data out of the file's bytes, so
// the alias pins nothing else.
func aliasFloat32(raw []byte) ([]float32, bool) {
	if !littleEndian || len(raw) == 0 || uintptr(unsafe.Pointer(&raw[0]))%4 != 0 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), len(raw)/4), true
}

// ToProto returns t as an ONNX TensorProto with raw_data (little-endian)
// in t's own element type.
func ToProto(t *model.Tensor) (*onnx.TensorProto, error) {
	if !t.DType.Valid() {
		return nil, fmt.Errorf("tensorio: tensor %q: dtype %v cannot be written as TensorProto", t.Name, t.DType)
	}
	n := len(t.F32) + len(t.I64)
	if c := model.NumElements(t.Shape); c != n {
		return nil, fmt.Errorf("tensorio: tensor %q: shape %v needs %d values, has %d", t.Name, t.Shape, c, n)
	}
	tp := &onnx.TensorProto{Name: t.Name, DataType: t.DType.ONNX(), Dims: make([]int64, len(t.Shape))}
	for i, d := range t.Shape {
		tp.Dims[i] = int64(d)
	}
	tp.RawData = appendRaw(make([]byte, 0, n*t.DType.Size()), t)
	return tp, nil
}

// appendRaw appends t's values to b as little-endian raw data of t's dtype.
func appendRaw(b []byte, t *model.Tensor) []byte {
	le := binary.LittleEndian
	switch t.DType {
	case model.Float32:
		for _, v := range t.F32 {
			b = le.AppendUint32(b, math.Float32bits(v))
		}
	case model.Float64:
		for _, v := range t.F32 {
			b = le.AppendUint64(b, math.Float64bits(float64(v)))
		}
	case model.Float16:
		for _, v := range t.F32 {
			b = le.AppendUint16(b, model.Float16Bits(v))
		}
	case model.BFloat16:
		for _, v := range t.F32 {
			b = le.AppendUint16(b, model.BFloat16Bits(v))
		}
	default:
		for _, v := range t.I64 {
			switch t.DType.Size() {
			case 8:
				b = le.AppendUint64(b, uint64(v))
			case 4:
				b = le.AppendUint32(b, uint32(v))
			case 2:
				b = le.AppendUint16(b, uint16(v))
			default:
				b = append(b, byte(v))
			}
		}
	}
	return b
}

// EncodePB returns t as a serialized ONNX TensorProto with raw_data, in t's
// own element type.
func EncodePB(t *model.Tensor) ([]byte, error) {
	tp, err := ToProto(t)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tp)
	if err != nil {
		return nil, fmt.Errorf("tensorio: tensor %q: %w", t.Name, err)
	}
	return b, nil
}
