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
			node: nd("Resize", []string{"x", "roi", "sc"}, nil), want: [][]int{{1, 2, 4, 2}}},
		{name: "resize sizes", opset: 13, inputs: []*Value{v("x", f, -1, 2, 3, 5)}, consts: []*Tensor{ci("sz", 1, 2, 7, 9)},
			node: nd("Resize", []string{"x", "", "", "sz"}, nil), want: [][]int{{1, 2, 7, 9}}},
		{name: "resize run-time sizes keep rank", opset: 13, inputs: []*Value{v("x", f, 1, 2, 3, 5), v("sz", i, 4)},
			node: nd("Resize", []string{"x", "", "", "sz"}, nil), want: [][]int{{-1, -1, -1, -1}}},
		{name: "upsample opset 7 attribute", opset: 7, inputs: []*Value{v("x", f, 1, 2, 3, 5)},
			node: nd("Upsample", []string{"x"}, map[string]Attr{"scales": Floats(1, 1, 2, 3)}), want: [][]int{{1, 2, 6, 15}}},
	}
	runShapeCases(t, tests)
}
