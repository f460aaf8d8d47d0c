package layers_test

import (
	"slices"
	"testing"

	"github.com/xferml/xfer/layers"
)

func TestFlattenReshapePermute(t *testing.T) {
	c := layers.Common{Name: "s", Inputs: []string{"x"}}
	x := []float32{0, 1, 2, 3, 4, 5}
	l, err := layers.Flatten(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, l, [][]int{{1, 3, 2}}, x); !slices.Equal(got.Shape, []int{1, 6}) || !slices.Equal(got.F32, x) {
		t.Errorf("Flatten = %v %v; want [1 6] %v", got.Shape, got.F32, x)
	}

	l, err = layers.Reshape(layers.ReshapeSpec{Common: c, TargetShape: []int{-1, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if s := l.Consts[0].I64; !slices.Equal(s, []int64{0, -1, 3}) {
		t.Errorf("Reshape shape const = %v; want [0 -1 3]", s)
	}
	if got := run(t, l, [][]int{{1, 3, 2}}, x); !slices.Equal(got.Shape, []int{1, 2, 3}) {
		t.Errorf("Reshape shape = %v; want [1 2 3]", got.Shape)
	}
	for _, bad := range [][]int{{-1, -1}, {0, 2}, {-2}} {
		if _, err := layers.Reshape(layers.ReshapeSpec{Common: c, TargetShape: bad}); err == nil {
			t.Errorf("Reshape(%v) succeeded; want an error", bad)
		}
	}

	// Keras Permute((2, 1)) on [1, 3, 2] gives [1, 2, 3], element (i, j) -> (j, i).
	l, err = layers.Permute(layers.PermuteSpec{Common: c, Dims: []int{2, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if p := nodeOf(t, l, "Transpose").AttrInts("perm", nil); !slices.Equal(p, []int64{0, 2, 1}) {
		t.Errorf("Permute perm = %v; want [0 2 1]", p)
	}
	got := run(t, l, [][]int{{1, 3, 2}}, x)
	if want := []float32{0, 2, 4, 1, 3, 5}; !slices.Equal(got.F32, want) {
		t.Errorf("Permute = %v; want %v", got.F32, want)
	}
	for _, bad := range [][]int{{1, 1}, {0, 1}, {3, 1}} {
		if _, err := layers.Permute(layers.PermuteSpec{Common: c, Dims: bad}); err == nil {
			t.Errorf("Permute(%v) succeeded; want an error", bad)
		}
	}
}

func TestZeroPadding(t *testing.T) {
	l, err := layers.ZeroPadding(layers.ZeroPaddingSpec{Common: layers.Common{Name: "z", Inputs: []string{"x"}}, Padding: [][2]int{{1, 0}, {0, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != "ZeroPadding2D" || !slices.Equal(l.Consts[0].I64, []int64{0, 1, 0, 0, 0, 0, 2, 0}) {
		t.Errorf("ZeroPadding = %s pads %v; want ZeroPadding2D [0 1 0 0 0 0 2 0]", l.Kind, l.Consts[0].I64)
	}
	// [1, 1, 1, 1] -> [1, 2, 3, 1]: the value lands at row 1, column 0.
	got := run(t, l, [][]int{{1, 1, 1, 1}}, []float32{7})
	if want := []float32{0, 0, 0, 7, 0, 0}; !slices.Equal(got.F32, want) || !slices.Equal(got.Shape, []int{1, 2, 3, 1}) {
		t.Errorf("ZeroPadding = %v %v; want [1 2 3 1] %v", got.Shape, got.F32, want)
	}
	if _, err := layers.ZeroPadding(layers.ZeroPaddingSpec{Common: layers.Common{Name: "z", Inputs: []string{"x"}}, Padding: [][2]int{{-1, 0}}}); err == nil {
		t.Errorf("ZeroPadding(-1) succeeded; want an error")
	}
}
