package layers_test

import (
	"slices"
	"testing"

	"github.com/xferml/xfer/layers"
)

func TestPooling(t *testing.T) {
	c := layers.Common{Name: "p", Inputs: []string{"x"}}
	x := []float32{1, 2, 3, 4, 5}
	// AveragePooling1D(pool 2, strides 2, same) on 5 steps: out 3, pads 0 before 1 after;
	// the last window holds only x[4], and Keras divides by 1 (count_include_pad = 0).
	l, err := layers.Pooling(layers.PoolSpec{Common: c, InputSpatial: []int{5}, PoolSize: []int{2}, Padding: "same"})
	if err != nil {
		t.Fatal(err)
	}
	n := nodeOf(t, l, "AveragePool")
	if n.AttrInt("count_include_pad", 1) != 0 || !slices.Equal(n.AttrInts("strides", nil), []int64{2}) || !slices.Equal(n.AttrInts("pads", nil), []int64{0, 1}) {
		t.Errorf("AveragePool attrs = %v", n.Attrs)
	}
	got := run(t, l, [][]int{{1, 5, 1}}, x)
	checkClose(t, "AveragePooling1D", got.F32, []float64{1.5, 3.5, 5})

	l, err = layers.Pooling(layers.PoolSpec{Common: c, Max: true, InputSpatial: []int{5}, PoolSize: []int{3}, Strides: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != "MaxPooling1D" {
		t.Errorf("Kind = %s; want MaxPooling1D", l.Kind)
	}
	got = run(t, l, [][]int{{1, 5, 1}}, x)
	checkClose(t, "MaxPooling1D", got.F32, []float64{3, 4, 5})

	for _, keep := range []bool{false, true} {
		for _, max := range []bool{false, true} {
			l, err := layers.GlobalPooling(layers.GlobalPoolSpec{Common: c, Max: max, Rank: 4, KeepDims: keep})
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, l, [][]int{{1, 2, 1, 2}}, []float32{1, 10, 3, 30})
			want, shape := []float64{2, 20}, []int{1, 2}
			if max {
				want = []float64{3, 30}
			}
			if keep {
				shape = []int{1, 1, 1, 2}
			}
			if !slices.Equal(got.Shape, shape) {
				t.Errorf("GlobalPooling(max %v keep %v) shape = %v; want %v", max, keep, got.Shape, shape)
			}
			checkClose(t, l.Kind, got.F32, want)
		}
	}
	if _, err := layers.GlobalPooling(layers.GlobalPoolSpec{Common: c, Rank: 2}); err == nil {
		t.Errorf("GlobalPooling(rank 2) succeeded")
	}
	if _, err := layers.Pooling(layers.PoolSpec{Common: c, PoolSize: []int{0}}); err == nil {
		t.Errorf("Pooling(pool 0) succeeded")
	}
}
