package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xferml/xfer/model"
)

// convRef is ONNX Conv on a 4-D NCHW x in float64 by its definition (taps
// in the padding count 0), then act ("": none, "Relu", "Clip" to [0, 6]).
func convRef(x, w, b *model.Tensor, group, stride, pad int, act string) []float32 {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	oh, ow := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	mg := m / group
	y := make([]float32, n*m*oh*ow)
	for img := range n {
		for o := range m {
			gi := o / mg
			for i := range oh {
				for j := range ow {
					var s float64
					for ci := range cg {
						ch := gi*cg + ci
						for p := range kh {
							for q := range kw {
								ih, iw := i*stride-pad+p, j*stride-pad+q
								if ih < 0 || ih >= h || iw < 0 || iw >= wd {
									continue
								}
								s += float64(x.F32[((img*c+ch)*h+ih)*wd+iw]) * float64(w.F32[((o*cg+ci)*kh+p)*kw+q])
							}
						}
					}
					if b != nil {
						s += float64(b.F32[o])
					}
					switch act {
					case "Relu":
						s = max(s, 0)
					case "Clip":
						s = min(max(s, 0), 6)
					}
					y[((img*m+o)*oh+i)*ow+j] = float32(s)
				}
			}
		}
	}
	return y
}

// convActModel is x -> Conv(w, b) -> act -> y ("" for no activation; Clip
// takes its bounds 0 and 6 as constant inputs, as torch exports ReLU6).
func convActModel(w, b *model.Tensor, group, stride, pad int, act string, c int) *model.Model {
	conv := &model.Node{Name: "conv", Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"},
		Attrs: map[string]model.Attr{"group": model.Int(int64(group)), "strides": model.Ints(int64(stride), int64(stride)),
			"pads": model.Ints(int64(pad), int64(pad), int64(pad), int64(pad))}}
	params := []*model.Param{{Name: "w", Shape: w.Shape, Data: w.F32}}
	if b != nil {
		conv.Inputs = append(conv.Inputs, "b")
		params = append(params, &model.Param{Name: "b", Shape: b.Shape, Data: b.F32})
	}
	l := &model.Layer{Name: "conv", Kind: "Conv2D", Inputs: []string{"x"}, Outputs: []string{"y"}, Params: params,
		Nodes: []*model.Node{conv}}
	switch act {
	case "":
		conv.Outputs = []string{"y"}
	case "Clip":
		l.Consts = []*model.Tensor{{Name: "lo", DType: model.Float32, F32: []float32{0}}, {Name: "hi", DType: model.Float32, F32: []float32{6}}}
		l.Nodes = append(l.Nodes, &model.Node{Name: "act", Op: "Clip", Inputs: []string{"c", "lo", "hi"}, Outputs: []string{"y"}})
	default:
		l.Nodes = append(l.Nodes, &model.Node{Name: "act", Op: act, Inputs: []string{"c"}, Outputs: []string{"y"}})
	}
	return &model.Model{Name: "conv", Opset: 13,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, c, -1, -1}}},
		Outputs: []string{"y"}, Layers: []*model.Layer{l}}
}

// TestConvPaths runs each kind of convolution the engine has a separate
// path for (depthwise, 1x1 without im2col, im2col + product, Winograd;
// image by image or several images side by side; work split between
// threads), with the activation that follows fused into it, on 1
// and 2 threads and batches 1 and 3, against convRef.
func TestConvPaths(t *testing.T) {
	defer SetThreads(0)
	cases := []struct {
		name                        string
		c, m, group, k, stride, pad int
		h, w                        int
		bias                        bool
	}{
		{"depthwise 3x3", 8, 8, 8, 3, 1, 1, 14, 14, true},
		{"depthwise 3x3 7x7 plane", 5, 5, 5, 3, 1, 1, 7, 7, true},
		{"depthwise 3x3 stride 2", 6, 6, 6, 3, 2, 1, 15, 16, true},
		{"depthwise 5x5 pad 2", 4, 4, 4, 5, 1, 2, 9, 11, false},
		{"depthwise wide", 3, 3, 3, 3, 1, 1, 4, 70, true},
		{"pointwise", 16, 24, 1, 1, 1, 0, 12, 13, true},
		{"pointwise no bias", 7, 5, 1, 1, 1, 0, 3, 3, false},
		{"1x1 stride 2", 8, 16, 1, 1, 2, 0, 14, 14, true},
		{"3x3", 8, 16, 1, 3, 1, 1, 14, 14, true},
		{"3x3 small plane", 8, 40, 1, 3, 1, 1, 4, 4, true},
		{"3x3 stride 2 grouped", 8, 12, 2, 3, 2, 1, 13, 13, true},
		{"7x7 stride 2", 3, 8, 1, 7, 2, 3, 30, 30, true},
		{"3x3 wide", 4, 30, 1, 3, 1, 1, 20, 20, true},
		{"pointwise wide", 4, 30, 1, 1, 1, 0, 20, 20, true},
		{"3x3 im2col split by channels", 32, 8, 1, 3, 1, 1, 30, 30, true},
		{"3x3 winograd", 16, 16, 1, 3, 1, 1, 14, 14, true},
		{"3x3 winograd odd plane", 16, 24, 1, 3, 1, 1, 7, 9, true},
		{"3x3 winograd no pad no bias", 16, 16, 1, 3, 1, 0, 9, 10, false},
		{"3x3 winograd small planes side by side", 32, 16, 1, 3, 1, 1, 8, 8, true},
		{"3x3 winograd split between threads", 64, 64, 1, 3, 1, 1, 20, 20, true},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		for _, act := range []string{"", "Relu", "Clip"} {
			for _, batch := range []int{1, 3} {
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("%s/%s/batch%d/threads%d", c.name, act, batch, threads)
					t.Run(name, func(t *testing.T) {
						x := randSigned(rng, batch, c.c, c.h, c.w)
						w := randSigned(rng, c.m, c.c/c.group, c.k, c.k)
						var b *model.Tensor
						if c.bias {
							b = randSigned(rng, c.m)
						}
						SetThreads(threads)
						s, err := New(convActModel(w, b, c.group, c.stride, c.pad, act, c.c))
						if err != nil {
							t.Fatal(err)
						}
						if act != "" && (len(s.steps) != 1 || s.steps[0].act == nil) {
							t.Fatalf("New: %d steps, the activation not fused into the Conv", len(s.steps))
						}
						if wino := strings.Contains(c.name, "winograd"); (s.steps[0].wino != nil) != wino {
							t.Fatalf("New: Winograd weights planned %v; want %v", s.steps[0].wino != nil, wino)
						}
						got, err := s.Predict(x)
						if err != nil {
							t.Fatal(err)
						}
						want := convRef(x, w, b, c.group, c.stride, c.pad, act)
						if len(got.F32) != len(want) {
							t.Fatalf("Conv: %d values; want %d", len(got.F32), len(want))
						}
						for i := range want {
							if d := math.Abs(float64(got.F32[i] - want[i])); d > 1e-5+1e-5*math.Abs(float64(want[i])) {
								t.Fatalf("Conv: y[%d] = %v; want %v", i, got.F32[i], want[i])
							}
						}
					})
				}
			}
		}
	}
}

// randSigned is a tensor of uniform values in [-1, 1).
func randSigned(rng *rand.Rand, shape ...int) *model.Tensor {
	t := randTensor(rng, shape...)
	for i := range t.F32 {
		t.F32[i] = 2*t.F32[i] - 1
	}
	return t
}

// benchConv times one Conv + ReLU6 on a batch of 8: c channels of h x h,
// m outputs, k x k kernel, groups, same padding.
func benchConv(b *testing.B, c, m, group, k, h int) {
	rng := rand.New(rand.NewPCG(7, 8))
	w, bias := randSigned(rng, m, c/group, k, k), randSigned(rng, m)
	s, err := New(convActModel(w, bias, group, 1, k/2, "Clip", c))
	if err != nil {
		b.Fatal(err)
	}
	x := randSigned(rng, 8, c, h, h)
	for b.Loop() {
		if _, err := s.Predict(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(8*b.N)/b.Elapsed().Seconds(), "images/s")
}

// ResNet-18's first block (Winograd), MobileNetV2's depthwise and
// pointwise layers at 56x56 (224x224 input).
func BenchmarkConvResNet56(b *testing.B)    { benchConv(b, 64, 64, 1, 3, 56) }
func BenchmarkConvDepthwise56(b *testing.B) { benchConv(b, 144, 144, 144, 3, 56) }
func BenchmarkConvPointwise56(b *testing.B) { benchConv(b, 24, 144, 1, 1, 56) }
