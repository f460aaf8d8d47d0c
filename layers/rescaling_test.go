package layers_test

import (
	"testing"

	"github.com/xferml/xfer/layers"
)

func TestRescalingIdentity(t *testing.T) {
	c := layers.Common{Name: "r", Inputs: []string{"x"}}
	cases := []struct {
		scale, offset []float32
		ops           []string
		want          []float64
	}{
		// Keras's image idiom Rescaling(1/255): x = [0, 255, 51, 102].
		{[]float32{1.0 / 255}, nil, []string{"Mul"}, []float64{0, 1, 0.2, 0.4}},
		{[]float32{2}, []float32{-1}, []string{"Mul", "Add"}, []float64{-1, 509, 101, 203}},
		// Per channel over the last axis of [1, 2, 2].
		{[]float32{1, 0.5}, []float32{0, 1}, []string{"Mul", "Add"}, []float64{0, 128.5, 51, 52}},
	}
	for _, tc := range cases {
		l, err := layers.Rescaling(layers.RescalingSpec{Common: c, Scale: tc.scale, Offset: tc.offset})
		if err != nil {
			t.Fatal(err)
		}
		if !equalOps(ops(l), tc.ops...) {
			t.Errorf("Rescaling(%v, %v) ops = %v; want %v", tc.scale, tc.offset, ops(l), tc.ops)
		}
		got := run(t, l, [][]int{{1, 2, 2}}, []float32{0, 255, 51, 102})
		checkClose(t, "Rescaling", got.F32, tc.want)
	}
	if _, err := layers.Rescaling(layers.RescalingSpec{Common: c}); err == nil {
		t.Errorf("Rescaling without scale succeeded")
	}
	l, err := layers.Identity(c)
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, l, [][]int{{1, 2}}, []float32{3, -4})
	checkClose(t, "Identity", got.F32, []float64{3, -4})
}
