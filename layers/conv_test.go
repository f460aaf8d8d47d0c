package layers_test

import (
	"slices"
	"testing"

	"github.com/xferml/xfer/layers"
)

func TestConvPadsAndLayout(t *testing.T) {
	cases := []struct {
		name     string
		spatial  []int
		kernel   []int
		strides  []int
		dil      []int
		padding  string
		pads     []int64
		perm     []int64
		kind     string
		outShape []int
	}{
		// TensorFlow 'same', k=4, s=1: 1 before, 2 after (../shared/interop/keras/README.md).
		{"same k4", []int{6}, []int{4}, nil, nil, "same", []int64{1, 2}, []int64{2, 1, 0}, "Conv1D", []int{1, 6, 2}},
		// n=7, k=3, s=2: out 4, total (4-1)*2+3-7 = 2.
		{"same strided 2d", []int{7, 5}, []int{3, 2}, []int{2, 1}, nil, "same", []int64{1, 0, 1, 1}, []int64{3, 2, 0, 1}, "Conv2D", []int{1, 4, 5, 2}},
		{"valid", []int{6}, []int{3}, nil, nil, "valid", []int64{0, 0}, []int64{2, 1, 0}, "Conv1D", []int{1, 4, 2}},
		// causal: (k-1)*d = 4 before, none after.
		{"causal dilated", []int{6}, []int{3}, nil, []int{2}, "causal", []int64{4, 0}, []int64{2, 1, 0}, "Conv1D", []int{1, 6, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := layers.Conv(layers.ConvSpec{
				Common: layers.Common{Name: "c", Inputs: []string{"x"}, Trainable: true}, InputSpatial: c.spatial, InChannels: 1,
				Filters: 2, KernelSize: c.kernel, Strides: c.strides, Dilation: c.dil, Padding: c.padding, UseBias: true, Activation: "relu",
			})
			if err != nil {
				t.Fatal(err)
			}
			if l.Kind != c.kind {
				t.Errorf("Kind = %s; want %s", l.Kind, c.kind)
			}
			conv := nodeOf(t, l, "Conv")
			if p := conv.AttrInts("pads", nil); !slices.Equal(p, c.pads) {
				t.Errorf("pads = %v; want %v", p, c.pads)
			}
			if p := l.Nodes[0].AttrInts("perm", nil); !slices.Equal(p, c.perm) {
				t.Errorf("kernel perm = %v; want %v", p, c.perm)
			}
			if k := l.Param("kernel"); !slices.Equal(k.Shape, append(slices.Clone(c.kernel), 1, 2)) || k.Init.Name != "glorot_uniform" {
				t.Errorf("kernel = %v %v; want %v+[1 2] glorot_uniform", k.Shape, k.Init, c.kernel)
			}
			in := append(append([]int{1}, c.spatial...), 1)
			x := make([]float32, len(c.spatial)*8*8)
			got := run(t, l, [][]int{in}, x[:product(in)])
			if !slices.Equal(got.Shape, c.outShape) {
				t.Errorf("output shape = %v; want %v", got.Shape, c.outShape)
			}
		})
	}
	bad := []layers.ConvSpec{
		{InChannels: 3, Filters: 2, KernelSize: []int{3}, Groups: 2},
		{InChannels: 1, Filters: 2, KernelSize: []int{3}, Padding: "full"},
		{InChannels: 1, Filters: 2, KernelSize: []int{3, 3}, Padding: "causal", InputSpatial: []int{4, 4}},
		{InChannels: 1, Filters: 0, KernelSize: []int{3}},
		{InChannels: 1, Filters: 2, KernelSize: []int{3}, Strides: []int{0}},
	}
	for _, s := range bad {
		s.Common = layers.Common{Name: "c", Inputs: []string{"x"}}
		if _, err := layers.Conv(s); err == nil {
			t.Errorf("Conv(%+v) succeeded; want an error", s)
		}
	}
}

// TestSameUnknownSizes: "same" padding on an input of unknown length uses
// auto_pad SAME_UPPER and gives what explicit TensorFlow pads give.
func TestSameUnknownSizes(t *testing.T) {
	x := []float32{1, -2, 3, 0.5, 4, -1, 2}
	kernel := []float32{1, 2, -1, 0.5}
	var outs [][]float32
	for _, spatial := range [][]int{{7}, {-1}, nil} {
		l, err := layers.Conv(layers.ConvSpec{
			Common: layers.Common{Name: "c", Inputs: []string{"x"}}, InputSpatial: spatial, InChannels: 1, Filters: 1,
			KernelSize: []int{4}, Strides: []int{2}, Padding: "same", Kernel: kernel,
		})
		if err != nil {
			t.Fatal(err)
		}
		conv := nodeOf(t, l, "Conv")
		if auto := conv.AttrString("auto_pad", ""); (spatial == nil || spatial[0] < 0) != (auto == "SAME_UPPER") {
			t.Errorf("spatial %v: auto_pad = %q", spatial, auto)
		}
		outs = append(outs, run(t, l, [][]int{{1, 7, 1}}, x).F32)
	}
	// TF: out = ceil(7/2) = 4, total pad (4-1)*2+4-7 = 3: 1 before, 2 after.
	want := make([]float64, 4)
	xp := []float64{0, 1, -2, 3, 0.5, 4, -1, 2, 0, 0}
	for o := 0; o < 4; o++ {
		want[o] = 0
		for k := 0; k < 4; k++ {
			want[o] += xp[2*o+k] * float64(kernel[k])
		}
	}
	for _, got := range outs {
		checkClose(t, "same conv", got, want)
	}
	l, err := layers.Pooling(layers.PoolSpec{Common: layers.Common{Name: "p", Inputs: []string{"x"}}, PoolSize: []int{2}, Padding: "same"})
	if err != nil || nodeOf(t, l, "AveragePool").AttrString("auto_pad", "") != "SAME_UPPER" {
		t.Errorf("Pooling same without sizes: %v", err)
	}
}

// TestConvNumbers checks a 1-D convolution by hand: kernel [k=2, in=1, out=1]
// = [1, 10], bias 0.5, input [1, 2, 3]: outputs 1+20+0.5, 2+30+0.5.
func TestConvNumbers(t *testing.T) {
	l, err := layers.Conv(layers.ConvSpec{
		Common: layers.Common{Name: "c", Inputs: []string{"x"}}, InputSpatial: []int{3}, InChannels: 1, Filters: 1,
		KernelSize: []int{2}, UseBias: true, Kernel: []float32{1, 10}, Bias: []float32{0.5},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, l, [][]int{{1, 3, 1}}, []float32{1, 2, 3})
	checkClose(t, "Conv1D", got.F32, []float64{21.5, 32.5})
}

func TestDepthwise(t *testing.T) {
	// in 2 channels, multiplier 2, 1x1 kernel: output channel c*2+m = x[c] * k[c][m].
	l, err := layers.DepthwiseConv2D(layers.DepthwiseConvSpec{
		Common: layers.Common{Name: "dw", Inputs: []string{"x"}}, InputSpatial: []int{1, 1}, InChannels: 2, DepthMultiplier: 2,
		KernelSize: []int{1, 1}, Kernel: []float32{1, 2, 3, 4}, KernelRole: "kernel",
	})
	if err != nil {
		t.Fatal(err)
	}
	if l.Param("kernel") == nil || nodeOf(t, l, "Conv").AttrInt("group", 0) != 2 {
		t.Errorf("depthwise: kernel role or group wrong: %v", ops(l))
	}
	got := run(t, l, [][]int{{1, 1, 1, 2}}, []float32{10, 100})
	checkClose(t, "DepthwiseConv2D", got.F32, []float64{10, 20, 300, 400})
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
