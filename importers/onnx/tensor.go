package onnx

import (
	"errors"
	"fmt"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
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
// output_*.pb files of ONNX's test data) into a model.Tensor of the same
// element type (see model.DType for how each is held).
func ReadTensor(data []byte) (*model.Tensor, error) {
	var tp pb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return nil, fmt.Errorf("onnx: tensor: %w: %w", ErrFormat, err)
	}
	return TensorFromProto(&tp)
}

// TensorFromProto converts an ONNX tensor to a model.Tensor of the same
// element type with tensorio.FromProto, the one TensorProto decoder (see
// there for the checks made before anything is allocated), and reports its
// errors with this package's sentinels.
func TensorFromProto(tp *pb.TensorProto) (*model.Tensor, error) {
	t, err := tensorio.FromProto(tp)
	var te *tensorio.TensorError
	if errors.As(err, &te) {
		if errors.Is(te.Err, model.ErrUnsupported) {
			return nil, fmt.Errorf("onnx: tensor %q: %w ONNX feature: %s", tp.GetName(), model.ErrUnsupported, te.Msg)
		}
		return nil, fmt.Errorf("onnx: tensor %q: %w: %s", tp.GetName(), ErrFormat, te.Msg)
	}
	if err != nil {
		return nil, fmt.Errorf("onnx: tensor %q: %w", tp.GetName(), err)
	}
	return t, nil
}
