package tensorio

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/model"
)

// DecodePB decodes a serialized ONNX TensorProto (onnx.proto: message
// TensorProto), as in the input_N.pb files of ONNX's node tests. Data may be
// in raw_data (little-endian) or in the typed repeated fields. Accepted
// data types: FLOAT, DOUBLE (narrowed), INT64, INT32 and UINT8 (widened to
// float32).
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
	if tp.GetDataLocation() == onnx.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, fmt.Errorf("tensorio: %w: TensorProto %q keeps its data in an external file", model.ErrUnsupported, tp.GetName())
	}
	shape := make([]int, len(tp.Dims))
	for i, d := range tp.Dims {
		if d < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("%w: TensorProto %q: bad dimension %d in %v", ErrFormat, tp.GetName(), d, tp.Dims)
		}
		shape[i] = int(d)
	}
	// Every element takes at least one byte in the message (raw data) or
	// one byte of a packed varint, so the count is bounded by len(data).
	n, err := checkedCount(shape, len(data)+1)
	if err != nil {
		return nil, fmt.Errorf("%w (TensorProto %q)", err, tp.GetName())
	}
	t := &model.Tensor{Name: tp.GetName(), DType: model.Float32, Shape: shape}
	raw := tp.GetRawData()
	dt := onnx.TensorProto_DataType(tp.GetDataType())
	size := map[onnx.TensorProto_DataType]int{
		onnx.TensorProto_FLOAT: 4, onnx.TensorProto_DOUBLE: 8, onnx.TensorProto_INT64: 8,
		onnx.TensorProto_INT32: 4, onnx.TensorProto_UINT8: 1,
	}[dt]
	if size == 0 {
		return nil, fmt.Errorf("tensorio: %w: TensorProto %q: data type %v (supported: FLOAT, DOUBLE, INT64, INT32, UINT8)", model.ErrUnsupported, tp.GetName(), dt)
	}
	have := 0
	if raw != nil {
		have = len(raw) / size
		if len(raw) != n*size {
			return nil, fmt.Errorf("%w: TensorProto %q: shape %v of %v needs %d raw bytes, has %d", ErrFormat, tp.GetName(), shape, dt, n*size, len(raw))
		}
	} else {
		switch dt {
		case onnx.TensorProto_FLOAT:
			have = len(tp.FloatData)
		case onnx.TensorProto_DOUBLE:
			have = len(tp.DoubleData)
		case onnx.TensorProto_INT64:
			have = len(tp.Int64Data)
		default: // INT32 and UINT8 live in int32_data
			have = len(tp.Int32Data)
		}
		if have != n {
			return nil, fmt.Errorf("%w: TensorProto %q: shape %v needs %d values, has %d", ErrFormat, tp.GetName(), shape, n, have)
		}
	}
	switch dt {
	case onnx.TensorProto_INT64:
		t.DType = model.Int64
		t.I64 = make([]int64, n)
		for i := range t.I64 {
			if raw != nil {
				t.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			} else {
				t.I64[i] = tp.Int64Data[i]
			}
		}
	default:
		t.F32 = make([]float32, n)
		for i := range t.F32 {
			t.F32[i] = pbFloat(dt, raw, &tp, i)
		}
	}
	return t, nil
}

// pbFloat returns element i of a float-convertible TensorProto.
func pbFloat(dt onnx.TensorProto_DataType, raw []byte, tp *onnx.TensorProto, i int) float32 {
	switch dt {
	case onnx.TensorProto_FLOAT:
		if raw != nil {
			return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return tp.FloatData[i]
	case onnx.TensorProto_DOUBLE:
		if raw != nil {
			return float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
		return float32(tp.DoubleData[i])
	case onnx.TensorProto_INT32:
		if raw != nil {
			return float32(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
		return float32(tp.Int32Data[i])
	default: // UINT8
		if raw != nil {
			return float32(raw[i])
		}
		return float32(tp.Int32Data[i])
	}
}

// EncodePB returns t as a serialized ONNX TensorProto with raw_data.
func EncodePB(t *model.Tensor) ([]byte, error) {
	tp := &onnx.TensorProto{Name: t.Name}
	for _, d := range t.Shape {
		tp.Dims = append(tp.Dims, int64(d))
	}
	switch t.DType {
	case model.Float32:
		tp.DataType = int32(onnx.TensorProto_FLOAT)
		tp.RawData = make([]byte, 4*len(t.F32))
		for i, x := range t.F32 {
			binary.LittleEndian.PutUint32(tp.RawData[4*i:], math.Float32bits(x))
		}
	case model.Int64:
		tp.DataType = int32(onnx.TensorProto_INT64)
		tp.RawData = make([]byte, 8*len(t.I64))
		for i, x := range t.I64 {
			binary.LittleEndian.PutUint64(tp.RawData[8*i:], uint64(x))
		}
	default:
		return nil, fmt.Errorf("tensorio: tensor %q: dtype %v cannot be written as TensorProto", t.Name, t.DType)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tp)
	if err != nil {
		return nil, fmt.Errorf("tensorio: tensor %q: %w", t.Name, err)
	}
	return b, nil
}
