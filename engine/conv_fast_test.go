package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/kernels"
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
		{"7x7 stride 2 in bands", 3, 16, 1, 7, 2, 3, 60, 62, true},
		{"3x3 stride 2 in bands", 8, 16, 1, 3, 2, 1, 41, 40, false},
	}
	// Bands of a few rows (im2colBands) in the cases with large planes.
	defer func(b int) { colBandBytes = b }(colBandBytes)
	colBandBytes = 8 << 10
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
						st := s.steps[0]
						wino := strings.Contains(c.name, "winograd")
						if planned := st.wino != nil || st.winoPW != nil; planned != wino {
							t.Fatalf("New: Winograd weights planned %v; want %v", planned, wino)
						}
						// kernels.Pointwise's packed weights on AVX-512: the
						// Winograd products' or the one-group Conv's.
						if pw := kernels.HasAVX512 && (wino || c.group == 1); (st.winoPW != nil || st.pw != nil) != pw {
							t.Fatalf("New: packed weights planned %v, %v; want %v", st.winoPW != nil, st.pw != nil, pw)
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

// TestConvResidual: a residual connection's Add (and the Relu after it)
// fold into the Conv that computes one operand when the other is ready
// before it: x -> Conv -> Add(x) -> Relu (ResNet's block end, either
// operand order) and x -> Conv -> Add(x) (MobileNetV2's linear
// bottleneck), on every Conv path, against convRef plus x; an Add whose
// other operand is computed after the Conv stays a step of its own. (The
// fusion needs the inferred shapes to match with only the batch unknown.)
func TestConvResidual(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct {
		name    string
		c, k, h int
		group   int
	}{
		{"pointwise", 24, 1, 14, 1}, {"winograd", 16, 3, 14, 1}, {"im2col", 8, 3, 5, 1}, {"depthwise", 8, 3, 9, 8},
	} {
		for _, relu := range []bool{false, true} {
			for _, swap := range []bool{false, true} {
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("%s/relu=%v/swap=%v/threads%d", c.name, relu, swap, threads)
					t.Run(name, func(t *testing.T) {
						w, b := randSigned(rng, c.c, c.c/c.group, c.k, c.k), randSigned(rng, c.c)
						m := convActModel(w, b, c.group, 1, c.k/2, "", c.c)
						m.Inputs[0].Shape = []int{-1, c.c, c.h, c.h} // the fusion needs the spatial dims known
						l := m.Layers[0]
						l.Nodes[0].Outputs = []string{"c"}
						add := &model.Node{Name: "add", Op: "Add", Inputs: []string{"c", "x"}, Outputs: []string{"y"}}
						if swap {
							add.Inputs = []string{"x", "c"}
						}
						l.Nodes = append(l.Nodes, add)
						if relu {
							add.Outputs = []string{"s"}
							l.Nodes = append(l.Nodes, &model.Node{Name: "relu", Op: "Relu", Inputs: []string{"s"}, Outputs: []string{"y"}})
						}
						SetThreads(threads)
						s, err := New(m)
						if err != nil {
							t.Fatal(err)
						}
						if len(s.steps) != 1 || !s.steps[0].sum || relu != (s.steps[0].act != nil) {
							t.Fatalf("New: %d steps; want the Add (and Relu) fused into the Conv", len(s.steps))
						}
						x := randSigned(rng, 2, c.c, c.h, c.h)
						got, err := s.Predict(x)
						if err != nil {
							t.Fatal(err)
						}
						want := convRef(x, w, b, c.group, 1, c.k/2, "")
						for i := range want {
							want[i] += x.F32[i]
							if relu {
								want[i] = max(want[i], 0)
							}
							if d := math.Abs(float64(got.F32[i] - want[i])); d > 1e-5+1e-5*math.Abs(float64(want[i])) {
								t.Fatalf("Conv + Add: y[%d] = %v; want %v", i, got.F32[i], want[i])
							}
						}
					})
				}
			}
		}
	}
	// The Add's other operand is a second Conv's output, computed after
	// the first Conv: the first cannot take the Add; the second can.
	w := randSigned(rng, 8, 8, 1, 1)
	m := convActModel(w, nil, 1, 1, 0, "", 8)
	m.Inputs[0].Shape = []int{-1, 8, 4, 4}
	l := m.Layers[0]
	l.Nodes[0].Outputs = []string{"c"}
	l.Nodes = append(l.Nodes,
		&model.Node{Name: "conv2", Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"d"}},
		&model.Node{Name: "add", Op: "Add", Inputs: []string{"c", "d"}, Outputs: []string{"y"}})
	s, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.steps) != 2 || s.steps[0].sum || !s.steps[1].sum {
		t.Fatalf("New: %d steps, sums %v; want the Add fused into the second Conv only", len(s.steps), []bool{s.steps[0].sum, s.steps[len(s.steps)-1].sum})
	}
	x := randSigned(rng, 1, 8, 4, 4)
	got, err := s.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	want := convRef(x, w, nil, 1, 1, 0, "")
	for i := range want {
		if d := math.Abs(float64(got.F32[i] - 2*want[i])); d > 1e-5+1e-5*math.Abs(float64(want[i])) {
			t.Fatalf("Conv + Conv: y[%d] = %v; want %v", i, got.F32[i], 2*want[i])
		}
	}
}

// TestExpandDepthwise: a 1x1 Conv and the depthwise 3x3 Conv that alone
// reads it (each with bias and ReLU6, as in MobileNetV2) run as one step,
// band by band of rows, with the bits of the two steps apart (the same
// model with the expansion also a graph output, which stops the fusion):
// strides 1 and 2, even and odd planes, bands of one to several rows, one
// and two threads, batches 1 and 3. (Without AVX-512 nothing is fused and
// the two sessions run alike.)
func TestExpandDepthwise(t *testing.T) {
	defer SetThreads(0)
	defer func(b int) { expandBandBytes = b }(expandBandBytes)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, stride := range []int{1, 2} {
		for _, hw := range [][2]int{{7, 7}, {14, 15}, {29, 30}} {
			for _, band := range []int{1, 4 << 10, 16 << 10, 512 << 10} {
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("s%d/%dx%d/band%d/threads%d", stride, hw[0], hw[1], band, threads)
					t.Run(name, func(t *testing.T) {
						expandBandBytes = band
						SetThreads(threads)
						c, m := 5, 24
						we, be := randSigned(rng, m, c, 1, 1), randSigned(rng, m)
						wd, bd := randSigned(rng, m, 1, 3, 3), randSigned(rng, m)
						build := func(split bool) *Session {
							mdl := convActModel(we, be, 1, 1, 0, "Clip", c)
							mdl.Inputs[0].Shape = []int{-1, c, hw[0], hw[1]}
							l := mdl.Layers[0]
							l.Nodes[len(l.Nodes)-1].Outputs = []string{"e"}
							l.Params = append(l.Params, &model.Param{Name: "wd", Shape: wd.Shape, Data: wd.F32},
								&model.Param{Name: "bd", Shape: bd.Shape, Data: bd.F32})
							l.Nodes = append(l.Nodes,
								&model.Node{Name: "dw", Op: "Conv", Inputs: []string{"e", "wd", "bd"}, Outputs: []string{"d"},
									Attrs: map[string]model.Attr{"group": model.Int(int64(m)), "strides": model.Ints(int64(stride), int64(stride)),
										"pads": model.Ints(1, 1, 1, 1)}},
								&model.Node{Name: "dwact", Op: "Clip", Inputs: []string{"d", "lo", "hi"}, Outputs: []string{"y"}})
							if split {
								mdl.Outputs = append(mdl.Outputs, "e")
							}
							s, err := New(mdl)
							if err != nil {
								t.Fatal(err)
							}
							return s
						}
						fused, apart := build(false), build(true)
						// The fusion needs the expansion's packed weights
						// (kernels.Pointwise's C kernel, AVX-512).
						if kernels.HasAVX512 && (len(fused.steps) != 1 || fused.steps[0].dw == nil || fused.steps[0].act == nil || fused.steps[0].dw.act == nil) {
							t.Fatalf("New: %d steps; want the expansion and the depthwise Conv fused, activations included", len(fused.steps))
						}
						if len(apart.steps) != 2 {
							t.Fatalf("New with the expansion an output: %d steps; want 2", len(apart.steps))
						}
						for _, batch := range []int{1, 3} {
							x := randSigned(rng, batch, c, hw[0], hw[1])
							got, err := fused.Predict(x)
							if err != nil {
								t.Fatal(err)
							}
							outs, err := apart.Run(map[string]*model.Tensor{"x": x})
							if err != nil {
								t.Fatal(err)
							}
							want := outs["y"]
							if !slices.Equal(got.Shape, want.Shape) {
								t.Fatalf("batch %d: shape %v; want %v", batch, got.Shape, want.Shape)
							}
							for i := range want.F32 {
								if math.Float32bits(got.F32[i]) != math.Float32bits(want.F32[i]) {
									t.Fatalf("batch %d: y[%d] = %v; the steps apart give %v", batch, i, got.F32[i], want.F32[i])
								}
							}
						}
					})
				}
			}
		}
	}
}
