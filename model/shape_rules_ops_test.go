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
	}
	runShapeCases(t, tests)
}
