package onnx

import (
	"errors"
	"os"
	"strings"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/model"
)

// torchModelA is the PyTorch export of the book's model A (fixtures/torch/gen.py).
const torchModelA = "../../fixtures/torch/model_a.onnx"

func TestReadTorchModelA(t *testing.T) {
	m, err := ReadFile(torchModelA)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", torchModelA, err)
	}
	// Layer names come from the torch module names in gen.py, which follow
	// Keras's default names for model A.
	wantNames := []string{"flatten", "dense", "dense_1", "dense_2", "dense_3", "dense_4", "dense_5"}
	wantKinds := []string{"Flatten", "Dense", "Dense", "Dense", "Dense", "Dense", "Dense"}
	if len(m.Layers) != len(wantNames) {
		t.Fatalf("ReadFile(%s) has %d layers; want %d", torchModelA, len(m.Layers), len(wantNames))
	}
	for i, l := range m.Layers {
		if l.Name != wantNames[i] || l.Kind != wantKinds[i] {
			t.Errorf("layer %d = %s (%s); want %s (%s)", i, l.Name, l.Kind, wantNames[i], wantKinds[i])
		}
	}
	// 276,158: Keras model.summary() of model A (Geron, ch. 11).
	if total, tr, nt := m.ParamCounts(); total != 276158 || tr != 276158 || nt != 0 {
		t.Errorf("ParamCounts() = %d, %d, %d; want 276158, 276158, 0", total, tr, nt)
	}
	if k := m.Layers[1].Param("kernel"); k == nil || k.Name != "dense/kernel" || len(k.Shape) != 2 || k.Shape[0] != 300 || k.Shape[1] != 784 {
		t.Errorf("dense kernel = %+v; want dense/kernel [300 784] (PyTorch layout, Gemm transB=1)", k)
	}
	if m.Opset != 14 {
		t.Errorf("Opset = %d; want 14 (gen.py exports at opset 14, never rewritten)", m.Opset)
	}
	last := m.Layers[6].Nodes
	if len(last) != 2 || last[0].Op != "Gemm" || last[1].Op != "Softmax" {
		t.Errorf("dense_5 nodes = %v; want Gemm, Softmax", last)
	}
	if got := m.Inputs[0].Shape; len(got) != 3 || got[0] != -1 || got[1] != 28 || got[2] != 28 {
		t.Errorf("input shape = %v; want [-1 28 28]", got)
	}
	if m.Meta["format"] != "onnx" || m.Meta["source"] != torchModelA {
		t.Errorf("Meta = %v; want format onnx, source %s", m.Meta, torchModelA)
	}
}

// tinyModel builds X[N,4] -> Gemm(W[3,4], B[3], transB=1) -> Relu -> Y.
func tinyModel() *pb.ModelProto {
	f := func(name string, dims []int64, vals ...float32) *pb.TensorProto {
		return &pb.TensorProto{Name: name, Dims: dims, DataType: int32(pb.TensorProto_FLOAT), FloatData: vals}
	}
	vi := func(name string, dims ...int64) *pb.ValueInfoProto {
		sh := &pb.TensorShapeProto{}
		for i, d := range dims {
			if i == 0 {
				sh.Dim = append(sh.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
				continue
			}
			sh.Dim = append(sh.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: int32(pb.TensorProto_FLOAT), Shape: sh}}}}
	}
	return &pb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: "", Version: 13}},
		Graph: &pb.GraphProto{
			Name: "tiny",
			Node: []*pb.NodeProto{
				{Name: "fc/Gemm", OpType: "Gemm", Input: []string{"X", "fc.weight", "fc.bias"}, Output: []string{"h"},
					Attribute: []*pb.AttributeProto{{Name: "transB", Type: pb.AttributeProto_INT, I: 1}}},
				{Name: "fc/Relu", OpType: "Relu", Input: []string{"h"}, Output: []string{"Y"}},
			},
			Initializer: []*pb.TensorProto{
				f("fc.weight", []int64{3, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
				f("fc.bias", []int64{3}, 1, 2, 3),
			},
			Input:  []*pb.ValueInfoProto{vi("X", -1, 4)},
			Output: []*pb.ValueInfoProto{vi("Y", -1, 3)},
		},
	}
}

func marshal(t testing.TB, mp *pb.ModelProto) []byte {
	t.Helper()
	b, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadTiny(t *testing.T) {
	m, err := Read(marshal(t, tinyModel()), "tiny.onnx")
	if err != nil {
		t.Fatalf("Read(tiny) error %v", err)
	}
	if len(m.Layers) != 1 || m.Layers[0].Name != "fc" || m.Layers[0].Kind != "Dense" {
		t.Fatalf("Read(tiny) layers = %v; want one Dense layer fc", m.Layers)
	}
	if n := m.Layers[0].Nodes[0]; n.Inputs[1] != "fc/kernel" || n.Inputs[2] != "fc/bias" {
		t.Errorf("Gemm inputs = %v; want renamed params fc/kernel, fc/bias", n.Inputs)
	}
}

func TestReadErrors(t *testing.T) {
	good := marshal(t, tinyModel())
	tests := []struct {
		name   string
		edit   func(mp *pb.ModelProto)
		data   []byte
		want   error
		substr string
	}{
		{name: "garbage", data: []byte("\xff\xff\xff\xffnot onnx"), want: ErrFormat},
		{name: "empty", data: []byte{}, want: model.ErrUnsupported, substr: "IR version 0"},
		{name: "truncated", data: good[:len(good)/2], want: ErrFormat},
		{name: "ir2", edit: func(mp *pb.ModelProto) { mp.IrVersion = 2 }, want: model.ErrUnsupported, substr: "IR version 2"},
		{name: "opset0", edit: func(mp *pb.ModelProto) { mp.OpsetImport[0].Version = 0 }, want: model.ErrUnsupported, substr: "opset 0"},
		{name: "opset22", edit: func(mp *pb.ModelProto) { mp.OpsetImport[0].Version = 22 }, want: model.ErrUnsupported, substr: "opset 22"},
		{name: "no default opset", edit: func(mp *pb.ModelProto) { mp.OpsetImport[0].Domain = "ai.onnx.ml" }, want: ErrFormat, substr: "default ONNX domain"},
		{name: "other domain", edit: func(mp *pb.ModelProto) { mp.Graph.Node[1].Domain = "com.microsoft" }, want: model.ErrUnsupported, substr: "com.microsoft"},
		{name: "no graph", edit: func(mp *pb.ModelProto) { mp.Graph = nil }, want: ErrFormat},
		{name: "external data", edit: func(mp *pb.ModelProto) {
			mp.Graph.Initializer[0].DataLocation = pb.TensorProto_EXTERNAL
		}, want: model.ErrUnsupported, substr: "external"},
		{name: "negative dim", edit: func(mp *pb.ModelProto) { mp.Graph.Initializer[1].Dims = []int64{-3} }, want: ErrFormat},
		{name: "shape bomb", edit: func(mp *pb.ModelProto) {
			mp.Graph.Initializer[1].Dims = []int64{1 << 30, 1 << 30, 1 << 30}
		}, want: ErrFormat},
		{name: "short data", edit: func(mp *pb.ModelProto) { mp.Graph.Initializer[1].FloatData = []float32{1} }, want: ErrFormat, substr: "need 3 values"},
		{name: "raw data length", edit: func(mp *pb.ModelProto) {
			mp.Graph.Initializer[1].FloatData = nil
			mp.Graph.Initializer[1].RawData = make([]byte, 11)
		}, want: ErrFormat},
		{name: "string tensor", edit: func(mp *pb.ModelProto) { mp.Graph.Initializer[1].DataType = 8 }, want: model.ErrUnsupported, substr: "string"},
		{name: "string input", edit: func(mp *pb.ModelProto) {
			mp.Graph.Input[0].Type.GetTensorType().ElemType = 8
		}, want: model.ErrUnsupported, substr: "string"},
		{name: "node without output", edit: func(mp *pb.ModelProto) { mp.Graph.Node[0].Output = nil }, want: ErrFormat, substr: "no output"},
		{name: "dangling", edit: func(mp *pb.ModelProto) { mp.Graph.Node[1].Input[0] = "nowhere" }, want: ErrFormat, substr: "nowhere"},
		{name: "bad shape", edit: func(mp *pb.ModelProto) { mp.Graph.Initializer[0].Dims = []int64{4, 3} }, want: model.ErrShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if tc.edit != nil {
				mp := tinyModel()
				tc.edit(mp)
				data = marshal(t, mp)
			}
			_, err := Read(data, "bad.onnx")
			if !errors.Is(err, tc.want) {
				t.Fatalf("Read(%s) error = %v; want %v", tc.name, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.substr) || !strings.HasPrefix(err.Error(), "onnx: ") {
				t.Errorf("Read(%s) error = %q; want prefix \"onnx: \" and %q", tc.name, err, tc.substr)
			}
		})
	}
}

func TestReadTruncations(t *testing.T) {
	data, err := os.ReadFile(torchModelA)
	if err != nil {
		t.Fatal(err)
	}
	// Every strict prefix of a valid model must be refused cleanly; step
	// through the header byte by byte, then in large strides.
	for n := 0; n < len(data); n++ {
		if n > 4096 {
			n += 9973 // a prime stride over the 1 MB of weights
		}
		if n >= len(data) {
			break
		}
		if _, err := Read(data[:n], "cut.onnx"); err == nil {
			t.Fatalf("Read(first %d of %d bytes) = nil error; want an error", n, len(data))
		}
	}
}

// TestReadDoesNotRetainInput checks that the model shares no memory with the
// bytes it was read from (params alias the decoder's own copy of raw_data).
func TestReadDoesNotRetainInput(t *testing.T) {
	data, err := os.ReadFile(torchModelA)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Read(data, "a.onnx")
	if err != nil {
		t.Fatal(err)
	}
	k := m.Layers[1].Param("kernel")
	before := append([]float32(nil), k.Data[:16]...)
	for i := range data {
		data[i] = 0xff
	}
	for i, v := range before {
		if k.Data[i] != v {
			t.Fatalf("kernel[%d] = %g after overwriting the input bytes; want %g", i, k.Data[i], v)
		}
	}
}
