package layers_test

import (
	"testing"

	"github.com/xferml/xfer/layers"
)

func TestMerge(t *testing.T) {
	a, b, c := []float32{1, -2}, []float32{3, 4}, []float32{-5, 0.5}
	cases := []struct {
		kind string
		ins  int
		ops  []string
		want []float64
	}{
		{"Add", 2, []string{"Add"}, []float64{4, 2}},
		{"Add", 3, []string{"Sum"}, []float64{-1, 2.5}},
		{"Subtract", 2, []string{"Sub"}, []float64{-2, -6}},
		{"Multiply", 3, []string{"Mul", "Mul"}, []float64{-15, -4}},
		{"Average", 2, []string{"Mean"}, []float64{2, 1}},
		{"Maximum", 3, []string{"Max"}, []float64{3, 4}},
		{"Minimum", 3, []string{"Min"}, []float64{-5, -2}},
	}
	names := []string{"a", "b", "c"}
	for _, tc := range cases {
		l, err := layers.Merge(layers.MergeSpec{Common: layers.Common{Name: "m", Inputs: names[:tc.ins]}, Kind: tc.kind})
		if err != nil {
			t.Fatalf("Merge(%s) = %v", tc.kind, err)
		}
		if !equalOps(ops(l), tc.ops...) {
			t.Errorf("Merge(%s, %d) ops = %v; want %v", tc.kind, tc.ins, ops(l), tc.ops)
		}
		got := run(t, l, [][]int{{1, 2}, {1, 2}, {1, 2}}, a, b, c)
		checkClose(t, tc.kind, got.F32, tc.want)
	}
	if _, err := layers.Merge(layers.MergeSpec{Common: layers.Common{Name: "m", Inputs: names}, Kind: "Subtract"}); err == nil {
		t.Errorf("Subtract of 3 inputs succeeded")
	}
	if _, err := layers.Merge(layers.MergeSpec{Common: layers.Common{Name: "m", Inputs: names[:1]}, Kind: "Add"}); err == nil {
		t.Errorf("Add of 1 input succeeded")
	}
	if _, err := layers.Merge(layers.MergeSpec{Common: layers.Common{Name: "m", Inputs: names}, Kind: "Dot"}); err == nil {
		t.Errorf("Merge(Dot) succeeded")
	}

	l, err := layers.Concatenate(layers.ConcatenateSpec{Common: layers.Common{Name: "cat", Inputs: names[:2]}, Axis: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, l, [][]int{{1, 2}, {1, 2}}, a, b)
	checkClose(t, "Concatenate", got.F32, []float64{1, -2, 3, 4})
	if _, err := layers.Concatenate(layers.ConcatenateSpec{Common: layers.Common{Name: "cat", Inputs: names[:2]}, Axis: 0}); err == nil {
		t.Errorf("Concatenate(axis 0) succeeded")
	}
}

func TestInputLayer(t *testing.T) {
	l, err := layers.InputLayer(layers.Common{Name: "in", Inputs: []string{"in"}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != "InputLayer" || len(l.Nodes) != 0 || len(l.Outputs) != 1 || l.Outputs[0] != "in" {
		t.Errorf("InputLayer = %+v; want no nodes, output == input", l)
	}
	if _, err := layers.InputLayer(layers.Common{Name: "in"}); err == nil {
		t.Errorf("InputLayer without input succeeded")
	}
	if _, err := layers.Flatten(layers.Common{Inputs: []string{"x"}}); err == nil {
		t.Errorf("Flatten without a name succeeded")
	}
}
