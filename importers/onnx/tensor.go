package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/model"
)

// ONNX TensorProto.DataType values (onnx/onnx.proto).
const (
	dtFloat    = 1
	dtInt32    = 6
	dtInt64    = 7
	dtFloat16  = 10
	dtDouble   = 11
	dtBFloat16 = 16
)

// dtypeNames names the ONNX element types for error messages.
var dtypeNames = map[int32]string{
	0: "undefined", 1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
	7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32",
	13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
}

func dtypeName(t int32) string {
	if s, ok := dtypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type %d", t)
}

// ReadTensor decodes a serialised ONNX TensorProto (the input_*.pb and
// output_*.pb files of ONNX's test data) into a float32 or int64 tensor.
// Float16, bfloat16 and double data are converted to float32.
func ReadTensor(data []byte) (*model.Tensor, error) {
	var tp pb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return nil, fmt.Errorf("onnx: tensor: %w: %w", ErrFormat, err)
	}
	return TensorFromProto(&tp)
}

// TensorFromProto converts an ONNX tensor to a model.Tensor, checking the
// dims and the data length before allocating anything: dims must be
// non-negative, their product must not overflow, and the data must hold
// exactly that many elements. External data, segments and element types other
// than float, float16, bfloat16, double and int64 are refused.
func TensorFromProto(tp *pb.TensorProto) (*model.Tensor, error) {
	where := fmt.Sprintf("onnx: tensor %q", tp.GetName())
	if tp.GetDataLocation() == pb.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, fmt.Errorf("%s: %w ONNX feature: data is stored in an external file; xfer reads self-contained models only (re-save with onnx.save_model(m, path, save_as_external_data=False))", where, model.ErrUnsupported)
	}
	if tp.GetSegment() != nil {
		return nil, fmt.Errorf("%s: %w ONNX feature: segmented tensors are not supported", where, model.ErrUnsupported)
	}
	shape := make([]int, len(tp.GetDims()))
	for i, d := range tp.GetDims() {
		if d < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("%s: %w: dim %d is %d (a dimension is 0 to %d)", where, ErrFormat, i, d, math.MaxInt32)
		}
		shape[i] = int(d)
	}
	n := model.NumElements(shape)
	if n < 0 {
		return nil, fmt.Errorf("%s: %w: dims %v overflow", where, ErrFormat, tp.GetDims())
	}
	raw := tp.GetRawData()
	hasRaw := raw != nil
	check := func(have int, what string) error {
		if have != n {
			return fmt.Errorf("%s: %w: dims %v need %d values, %s holds %d", where, ErrFormat, tp.GetDims(), n, what, have)
		}
		return nil
	}
	checkRaw := func(size int) error {
		if len(raw)%size != 0 {
			return fmt.Errorf("%s: %w: raw_data has %d bytes, not a multiple of %d", where, ErrFormat, len(raw), size)
		}
		return check(len(raw)/size, "raw_data")
	}
	t := &model.Tensor{Name: tp.GetName(), Shape: shape}
	switch tp.GetDataType() {
	case dtFloat:
		t.DType = model.Float32
		if hasRaw {
			if err := checkRaw(4); err != nil {
				return nil, err
			}
			if f, ok := aliasFloat32(raw); ok {
				t.F32 = f
				tp.RawData = nil // the tensor owns the bytes now
				return t, nil
			}
			t.F32 = make([]float32, n)
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
			return t, nil
		}
		if err := check(len(tp.GetFloatData()), "float_data"); err != nil {
			return nil, err
		}
		t.F32 = append(make([]float32, 0, n), tp.GetFloatData()...)
	case dtDouble:
		t.DType = model.Float32
		t.F32 = make([]float32, 0, n)
		if hasRaw {
			if err := checkRaw(8); err != nil {
				return nil, err
			}
			for i := 0; i < n; i++ {
				t.F32 = append(t.F32, float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))))
			}
			return t, nil
		}
		if err := check(len(tp.GetDoubleData()), "double_data"); err != nil {
			return nil, err
		}
		for _, v := range tp.GetDoubleData() {
			t.F32 = append(t.F32, float32(v))
		}
	case dtFloat16, dtBFloat16:
		conv := halfToFloat32
		if tp.GetDataType() == dtBFloat16 {
			conv = bfloat16ToFloat32
		}
		t.DType = model.Float32
		if hasRaw {
			if err := checkRaw(2); err != nil {
				return nil, err
			}
			t.F32 = make([]float32, n)
			for i := range t.F32 {
				t.F32[i] = conv(binary.LittleEndian.Uint16(raw[2*i:]))
			}
			return t, nil
		}
		// int32_data holds one 16-bit pattern per element (onnx.proto).
		if err := check(len(tp.GetInt32Data()), "int32_data"); err != nil {
			return nil, err
		}
		t.F32 = make([]float32, n)
		for i, v := range tp.GetInt32Data() {
			t.F32[i] = conv(uint16(v))
		}
	case dtInt64:
		t.DType = model.Int64
		if hasRaw {
			if err := checkRaw(8); err != nil {
				return nil, err
			}
			t.I64 = make([]int64, n)
			for i := range t.I64 {
				t.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
			return t, nil
		}
		if err := check(len(tp.GetInt64Data()), "int64_data"); err != nil {
			return nil, err
		}
		t.I64 = append(make([]int64, 0, n), tp.GetInt64Data()...)
	default:
		return nil, fmt.Errorf("%s: %w ONNX feature: element type %s (xfer holds float32, float16, bfloat16, double converted to float32, and int64)", where, model.ErrUnsupported, dtypeName(tp.GetDataType()))
	}
	return t, nil
}

// littleEndian reports whether this machine stores a float32 the way ONNX's
// raw_data does.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// aliasFloat32 reinterprets little-endian raw_data as float32 values without
// copying, on a little-endian machine when the bytes are 4-byte aligned. It
// keeps import memory near the model's size (issue 6: peak under 2x): the
// protobuf decoder has already copied raw_data out of the file's bytes, so
// the alias pins nothing else, and ReadTensor/Read drop the message.
func aliasFloat32(raw []byte) ([]float32, bool) {
	if !littleEndian || len(raw) == 0 || uintptr(unsafe.Pointer(&raw[0]))%4 != 0 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), len(raw)/4), true
}

// halfToFloat32 converts an IEEE 754 binary16 bit pattern.
func halfToFloat32(h uint16) float32 {
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

// bfloat16ToFloat32 widens a bfloat16 bit pattern (the top half of a float32).
func bfloat16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }
