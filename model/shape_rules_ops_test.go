package model

import "testing"

// TestShapeRulesOps covers the rules of the ops issue 11 added: known
// bounds give exact dims, bounds known only at run time keep the rank.
func TestShapeRulesOps(t *testing.T) {
	f, i := Float32, Int64
	tests := []shapeCase{
		// x[0:2, :, 1:-1] of [3 4 5].
		{name: "slice known bounds", opset: 13, inputs: []*Value{v("x", f, 3, 4, 5)}, consts: []*Tensor{ci("s", 0, 1), ci("e", 2, -1), ci("a", 0, 2)},
			node: nd("Slice", []string{"x", "s", "e", "a"}, nil), want: [][]int{{2, 4, 3}}, wantDType: []DType{f}},
		// x[:, :, ::-2] of [3 4 5]: indices 4, 2, 0.
		{name: "slice negative step", opset: 13, inputs: []*Value{v("x", f, 3, 4, 5)}, consts: []*Tensor{ci("s", -1), ci("e", -100), ci("a", 2), ci("st", -2)},
			node: nd("Slice", []string{"x", "s", "e", "a", "st"}, nil), want: [][]int{{3, 4, 3}}},
		{name: "slice run-time bounds keep rank", opset: 13, inputs: []*Value{v("x", f, -1, 4, 5), v("s", i, 1), v("e", i, 1)}, consts: []*Tensor{ci("a", 2)},
			node: nd("Slice", []string{"x", "s", "e", "a"}, nil), want: [][]int{{-1, 4, -1}}},
		{name: "slice opset 1 attributes", opset: 9, inputs: []*Value{v("x", f, 3, 4)},
			node: nd("Slice", []string{"x"}, map[string]Attr{"starts": Ints(1), "ends": Ints(100)}), want: [][]int{{2, 4}}},
		{name: "slice step 0", opset: 13, inputs: []*Value{v("x", f, 3, 4)}, consts: []*Tensor{ci("s", 0), ci("e", 1), ci("a", 0), ci("st", 0)},
			node: nd("Slice", []string{"x", "s", "e", "a", "st"}, nil), wantErr: "has a 0"},
		// 2*(3-1) + 1 + 3 - 1 - 1 = 6 per dim; M = 2 * group 2 = 4.
		{name: "convtranspose stride pads output_padding group", opset: 13, inputs: []*Value{v("x", f, -1, 4, 3, 3), v("w", f, 4, 2, 3, 3)},
			node: nd("ConvTranspose", []string{"x", "w"}, map[string]Attr{"group": Int(2), "strides": Ints(2, 2), "pads": Ints(1, 1, 1, 1), "output_padding": Ints(1, 1)}),
			want: [][]int{{-1, 4, 6, 6}}},
		// output_shape beyond the full output (test_convtranspose_output_shape: 10 > 9).
		{name: "convtranspose output_shape", opset: 13, inputs: []*Value{v("x", f, 1, 1, 3, 3), v("w", f, 1, 2, 3, 3)},
			node: nd("ConvTranspose", []string{"x", "w"}, map[string]Attr{"strides": Ints(3, 2), "output_shape": Ints(10, 8)}),
			want: [][]int{{1, 2, 10, 8}}},
		{name: "convtranspose same upper", opset: 13, inputs: []*Value{v("x", f, 1, 1, 3), v("w", f, 1, 1, 3)},
			node: nd("ConvTranspose", []string{"x", "w"}, map[string]Attr{"auto_pad": String("SAME_UPPER"), "strides": Ints(2)}),
			want: [][]int{{1, 1, 6}}},
		{name: "convtranspose W channels", opset: 13, inputs: []*Value{v("x", f, 1, 3, 3), v("w", f, 2, 1, 3)},
			node: nd("ConvTranspose", []string{"x", "w"}, nil), wantErr: "channels"},
		// floor(3*1.5) = 4, floor(5*0.5) = 2.
		{name: "resize scales", opset: 13, inputs: []*Value{v("x", f, 1, 2, 3, 5)},
			consts: []*Tensor{{Name: "roi", DType: Float32, Shape: []int{0}, F32: []float32{}}, {Name: "sc", DType: Float32, Shape: []int{4}, F32: []float32{1, 1, 1.5, 0.5}}},
			node:   nd("Resize", []string{"x", "roi", "sc"}, nil), want: [][]int{{1, 2, 4, 2}}},
		{name: "resize sizes", opset: 13, inputs: []*Value{v("x", f, -1, 2, 3, 5)}, consts: []*Tensor{ci("sz", 1, 2, 7, 9)},
			node: nd("Resize", []string{"x", "", "", "sz"}, nil), want: [][]int{{1, 2, 7, 9}}},
		{name: "resize run-time sizes keep rank", opset: 13, inputs: []*Value{v("x", f, 1, 2, 3, 5), v("sz", i, 4)},
			node: nd("Resize", []string{"x", "", "", "sz"}, nil), want: [][]int{{-1, -1, -1, -1}}},
		{name: "upsample opset 7 attribute", opset: 7, inputs: []*Value{v("x", f, 1, 2, 3, 5)},
			node: nd("Upsample", []string{"x"}, map[string]Attr{"scales": Floats(1, 1, 2, 3)}), want: [][]int{{1, 2, 6, 15}}},
		{name: "lstm bidirectional, Y omitted", opset: 14, inputs: []*Value{v("x", f, 7, -1, 3), v("w", f, 2, 16, 3), v("r", f, 2, 16, 4)},
			node: nd("LSTM", []string{"x", "w", "r"}, map[string]Attr{"direction": String("bidirectional"), "hidden_size": Int(4)}, "", "yh", "yc"),
			want: [][]int{nil, {2, -1, 4}, {2, -1, 4}}},
		{name: "gru layout 1", opset: 14, inputs: []*Value{v("x", f, 2, 7, 3), v("w", f, 1, 15, 3), v("r", f, 1, 15, 5)},
			node: nd("GRU", []string{"x", "w", "r"}, map[string]Attr{"layout": Int(1)}, "y", "yh"),
			want: [][]int{{2, 7, 1, 5}, {2, 1, 5}}},
		{name: "rnn W rows", opset: 14, inputs: []*Value{v("x", f, 2, 7, 3), v("w", f, 1, 4, 3), v("r", f, 1, 5, 5)},
			node: nd("RNN", []string{"x", "w", "r"}, nil), wantErr: "does not fit"},
		// The cases of the layers helper's first rule (model/shape_rules_seq_test.go).
		{name: "lstm bidirectional all outputs", opset: 13, inputs: []*Value{v("x", f, 7, -1, 3), v("w", f, 2, 16, 3), v("r", f, 2, 16, 4)},
			node: nd("LSTM", []string{"x", "w", "r"}, map[string]Attr{"hidden_size": Int(4), "direction": String("bidirectional")}, "y", "yh", "yc"),
			want: [][]int{{7, 2, -1, 4}, {2, -1, 4}, {2, -1, 4}}},
		{name: "gru layout 1 hidden_size", opset: 14, inputs: []*Value{v("x", f, -1, 7, 3), v("w", f, 1, 12, 3), v("r", f, 1, 12, 4)},
			node: nd("GRU", []string{"x", "w", "r"}, map[string]Attr{"hidden_size": Int(4), "layout": Int(1)}, "y", "yh"),
			want: [][]int{{-1, 7, 1, 4}, {-1, 1, 4}}},
		{name: "rnn gates", opset: 13, inputs: []*Value{v("x", f, 7, 2, 3), v("w", f, 1, 8, 3), v("r", f, 1, 8, 8)},
			node: nd("RNN", []string{"x", "w", "r"}, map[string]Attr{"hidden_size": Int(4)}, "y", "yh"), wantErr: "does not fit"},
		{name: "equal gives bool", opset: 13, inputs: []*Value{v("a", i, 2, 1), v("b", i, 3)},
			node: nd("Equal", []string{"a", "b"}, nil), want: [][]int{{2, 3}}, wantDType: []DType{Bool}},
		{name: "and wants bool", opset: 13, inputs: []*Value{v("a", f, 2), v("b", f, 2)},
			node: nd("And", []string{"a", "b"}, nil), wantErr: "bool"},
		{name: "where", opset: 16, inputs: []*Value{v("c", Bool, 2, 1), v("x", f, 3), v("y", f, 1)},
			node: nd("Where", []string{"c", "x", "y"}, nil), want: [][]int{{2, 3}}, wantDType: []DType{f}},
		{name: "expand known", opset: 13, inputs: []*Value{v("x", f, 3, 1)}, consts: []*Tensor{ci("s", 2, 1, 4)},
			node: nd("Expand", []string{"x", "s"}, nil), want: [][]int{{2, 3, 4}}},
		{name: "expand run-time shape", opset: 13, inputs: []*Value{v("x", f, 3, 1), v("s", i, 3)},
			node: nd("Expand", []string{"x", "s"}, nil), want: [][]int{{-1, 3, -1}}},
		{name: "tile", opset: 13, inputs: []*Value{v("x", f, 2, -1)}, consts: []*Tensor{ci("r", 3, 2)},
			node: nd("Tile", []string{"x", "r"}, nil), want: [][]int{{6, -1}}},
		{name: "split equal", opset: 13, inputs: []*Value{v("x", f, 2, 6)},
			node: nd("Split", []string{"x"}, map[string]Attr{"axis": Int(1)}, "a", "b", "c"), want: [][]int{{2, 2}, {2, 2}, {2, 2}}},
		{name: "split opset 18 uneven", opset: 18, inputs: []*Value{v("x", f, 7)},
			node: nd("Split", []string{"x"}, map[string]Attr{"num_outputs": Int(2)}, "a", "b"), want: [][]int{{4}, {3}}},
		{name: "constantofshape int64 value", opset: 13, consts: []*Tensor{ci("s", 2, 3)},
			inputs: []*Value{v("unused", f, 1)},
			node:   nd("ConstantOfShape", []string{"s"}, map[string]Attr{"value": {Kind: AttrTensor, Tensor: &Tensor{DType: Int64, Shape: []int{1}, I64: []int64{7}}}}),
			want:   [][]int{{2, 3}}, wantDType: []DType{i}},
		// ceil((10 - 3) / 3) = 3 elements: 3, 6, 9.
		{name: "range known", opset: 13, inputs: []*Value{v("unused", f, 1)},
			consts: []*Tensor{{Name: "a", DType: i, Shape: []int{}, I64: []int64{3}}, {Name: "b", DType: i, Shape: []int{}, I64: []int64{10}}, {Name: "d", DType: i, Shape: []int{}, I64: []int64{3}}},
			node:   nd("Range", []string{"a", "b", "d"}, nil), want: [][]int{{3}}},
		{name: "range run-time", opset: 13, inputs: []*Value{v("a", f), v("b", f), v("d", f)},
			node: nd("Range", []string{"a", "b", "d"}, nil), want: [][]int{{-1}}},
		{name: "layernorm stats", opset: 17, inputs: []*Value{v("x", f, -1, 5, 8), v("g", f, 8)},
			node: nd("LayerNormalization", []string{"x", "g"}, nil, "y", "m", "s"), want: [][]int{{-1, 5, 8}, {-1, 5, 1}, {-1, 5, 1}}},
		{name: "groupnorm opset 18 scale per group", opset: 18, inputs: []*Value{v("x", f, 1, 4, 3), v("s", f, 4), v("b", f, 4)},
			node: nd("GroupNormalization", []string{"x", "s", "b"}, map[string]Attr{"num_groups": Int(2)}), wantErr: "must be [2]"},
	}
	runShapeCases(t, tests)
}
