package onnx

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/xferml/xfer/internal/onnxmeta"
)

// graph builds a ModelProto from nodes and float initializers at opset 13;
// input "x" has shape xshape (first dim symbolic).
func graph(xshape []int64, out string, inits []*pb.TensorProto, nodes ...*pb.NodeProto) *pb.ModelProto {
	mp := tinyModel()
	mp.Graph.Node = nodes
	mp.Graph.Initializer = inits
	mp.Graph.Input[0].Type.GetTensorType().Shape.Dim = mp.Graph.Input[0].Type.GetTensorType().Shape.Dim[:1]
	for _, d := range xshape[1:] {
		mp.Graph.Input[0].Type.GetTensorType().Shape.Dim = append(mp.Graph.Input[0].Type.GetTensorType().Shape.Dim,
			&pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	mp.Graph.Input[0].Name = "x"
	mp.Graph.Output[0].Name = out
	return mp
}

func ft(name string, dims ...int64) *pb.TensorProto {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return &pb.TensorProto{Name: name, Dims: dims, DataType: int32(pb.TensorProto_FLOAT), FloatData: make([]float32, n)}
}

func node(name, op string, ins []string, outs ...string) *pb.NodeProto {
	return &pb.NodeProto{Name: name, OpType: op, Input: ins, Output: outs}
}

// summary lists "name:Kind[ops](roles)" per layer.
func summary(t *testing.T, mp *pb.ModelProto) string {
	t.Helper()
	m, err := Read(marshal(t, mp), "g.onnx")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var parts []string
	for _, l := range m.Layers {
		var ops, roles []string
		for _, n := range l.Nodes {
			ops = append(ops, n.Op)
		}
		for _, p := range l.Params {
			r := p.Name + "=" + p.Role
			if p.State {
				r += "*"
			}
			roles = append(roles, r)
		}
		parts = append(parts, fmt.Sprintf("%s:%s%v%v", l.Name, l.Kind, ops, roles))
	}
	return strings.Join(parts, " ")
}

func TestGrouping(t *testing.T) {
	tests := []struct {
		name string
		mp   *pb.ModelProto
		want string
	}{
		{"keras2onnx dense", graph([]int64{-1, 4}, "y", []*pb.TensorProto{ft("sequential/dense/kernel:0", 4, 3), ft("sequential/dense/bias:0", 3)},
			node("sequential/dense/MatMul", "MatMul", []string{"x", "sequential/dense/kernel:0"}, "h"),
			node("sequential/dense/BiasAdd", "Add", []string{"h", "sequential/dense/bias:0"}, "a"),
			node("sequential/dense/Relu", "Relu", []string{"a"}, "y")),
			"sequential_dense:Dense[MatMul Add Relu][sequential_dense/kernel=kernel sequential_dense/bias=bias]"},
		{"bias first, no names", graph([]int64{-1, 4}, "y", []*pb.TensorProto{ft("W", 4, 3), ft("b", 3)},
			node("", "MatMul", []string{"x", "W"}, "h"),
			node("", "Add", []string{"b", "h"}, "y")),
			"matmul:Dense[MatMul Add][matmul/kernel=kernel matmul/bias=bias]"},
		{"matmul output used twice stays apart", graph([]int64{-1, 4}, "y", []*pb.TensorProto{ft("fc.weight", 4, 3), ft("fc.bias", 3)},
			node("mm", "MatMul", []string{"x", "fc.weight"}, "h"),
			node("add", "Add", []string{"h", "fc.bias"}, "a"),
			node("mul", "Mul", []string{"a", "h"}, "y")),
			"fc:Dense[MatMul][fc/kernel=kernel] add:Add[Add][fc.bias=bias] mul:Mul[Mul][]"},
		{"conv relu, bn, pool, flatten", graph([]int64{-1, 1, 5, 5}, "y", []*pb.TensorProto{ft("conv1.weight", 2, 1, 3, 3), ft("conv1.bias", 2),
			ft("bn1.weight", 2), ft("bn1.bias", 2), ft("bn1.running_mean", 2), ft("bn1.running_var", 2)},
			node("/conv1/Conv", "Conv", []string{"x", "conv1.weight", "conv1.bias"}, "c"),
			node("/relu/Relu", "Relu", []string{"c"}, "r"),
			node("/bn1/BatchNormalization", "BatchNormalization", []string{"r", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"}, "b"),
			node("/pool/GlobalAveragePool", "GlobalAveragePool", []string{"b"}, "p"),
			node("/flatten/Flatten", "Flatten", []string{"p"}, "y")),
			"conv1:Conv[Conv Relu][conv1/kernel=kernel conv1/bias=bias] bn1:BatchNormalization[BatchNormalization][bn1/gamma=gamma bn1/beta=beta bn1/moving_mean=moving_mean* bn1/moving_variance=moving_variance*] pool:GlobalAveragePool[GlobalAveragePool][] flatten:Flatten[Flatten][]"},
		{"duplicate names made unique", graph([]int64{-1, 4}, "y", nil,
			node("/act/Relu", "Relu", []string{"x"}, "a"),
			node("/act/Relu", "Relu", []string{"a"}, "y")),
			"act:Relu[Relu][] act_1:Relu[Relu][]"},
		{"shared weight owned by first reader", graph([]int64{-1, 4}, "y", []*pb.TensorProto{ft("w", 4, 4)},
			node("a", "MatMul", []string{"x", "w"}, "h"),
			node("b", "MatMul", []string{"h", "w"}, "y")),
			"a:Dense[MatMul][a/kernel=kernel] b:Dense[MatMul][]"},
		// torch.onnx.export writes each further use of a deduplicated
		// constant as an Identity of it: folded into a copy owned by the
		// reader (before, the Identity was a layer without inputs that no
		// exporter could write).
		{"torch shared constant through Identity", graph([]int64{-1, 4}, "y", []*pb.TensorProto{ft("w", 4, 4)},
			node("a", "MatMul", []string{"x", "w"}, "h"),
			node("/Identity", "Identity", []string{"w"}, "w_copy"),
			node("b", "MatMul", []string{"h", "w_copy"}, "y")),
			"a:Dense[MatMul][a/kernel=kernel] b:Dense[MatMul][b/kernel=kernel]"},
		{"Identity of a tensor stays", graph([]int64{-1, 4}, "y", nil,
			node("/id/Identity", "Identity", []string{"x"}, "y")),
			"id:Identity[Identity][]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summary(t, tc.mp); got != tc.want {
				t.Errorf("layers = %s\nwant     %s", got, tc.want)
			}
		})
	}
}

// TestStaleLayerMetadata checks that xfer.layers metadata that no longer
// matches the graph (edited by another tool) is ignored, not trusted.
func TestStaleLayerMetadata(t *testing.T) {
	mp := tinyModel()
	mp.MetadataProps = []*pb.StringStringEntryProto{
		{Key: onnxmeta.KeyLayers, Value: `[{"name":"x","kind":"Dense","nodes":["gone"]}]`},
		{Key: onnxmeta.KeyTrainable, Value: `{"fc":false}`},
	}
	m, err := Read(marshal(t, mp), "stale.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 || m.Layers[0].Name != "fc" || m.Layers[0].Trainable {
		t.Errorf("layers = %v (trainable %v); want the pattern grouping fc, frozen by xfer.trainable", m.Layers[0].Name, m.Layers[0].Trainable)
	}
	if !strings.Contains(m.Meta["xfer.layers_ignored"], "gone") {
		t.Errorf("Meta[xfer.layers_ignored] = %q; want the reason naming node \"gone\"", m.Meta["xfer.layers_ignored"])
	}
	mp.MetadataProps = []*pb.StringStringEntryProto{{Key: onnxmeta.KeyTrainable, Value: `{not json`}}
	if _, err := Read(marshal(t, mp), "bad.onnx"); err == nil {
		t.Errorf("Read(bad xfer.trainable JSON) = nil error; want an error")
	}
}
