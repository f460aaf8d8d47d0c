package channelslast_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/channelslast"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// graph builds ONNX-origin models (channels-first, one layer per node,
// no Keras configs) the way importers/onnx lays out a PyTorch export.
type graph struct {
	m   *model.Model
	rng *rand.Rand
	n   int
}

func newGraph(shape ...int) *graph {
	return &graph{
		m: &model.Model{Name: "torch_like", Opset: 17, Meta: map[string]string{"format": "onnx"},
			Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: append([]int{-1}, shape...)}}},
		rng: rand.New(rand.NewPCG(11, 1)),
	}
}

// param is a random float weight of the given shape; positive makes its
// values in [0.5, 1.5) (BatchNorm variances).
type param struct {
	shape    []int
	positive bool
}

// fconst is a float const with given values.
type fconst struct {
	shape []int
	v     []float32
}

// iconst is an int64 const; iscalar a rank-0 one.
type (
	iconst  []int64
	iscalar int64
)

func p(shape ...int) param    { return param{shape: shape} }
func pos(shape ...int) param  { return param{shape: shape, positive: true} }
func scalar(v float32) fconst { return fconst{shape: []int{}, v: []float32{v}} }
func attrs(kv ...any) map[string]model.Attr {
	a := map[string]model.Attr{}
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int:
			a[kv[i].(string)] = model.Int(int64(v))
		case float64:
			a[kv[i].(string)] = model.Float(float32(v))
		case string:
			a[kv[i].(string)] = model.String(v)
		case []int64:
			a[kv[i].(string)] = model.Ints(v...)
		}
	}
	return a
}

// add appends a layer holding one node op reading ins (value names, or
// params and consts it creates) and returns its output.
func (g *graph) add(op string, at map[string]model.Attr, ins ...any) string {
	g.n++
	l := &model.Layer{Name: fmt.Sprintf("%s_%d", strings.ToLower(op), g.n), Kind: op, Trainable: true}
	var names []string
	for i, in := range ins {
		name := fmt.Sprintf("%s/in%d", l.Name, i)
		switch v := in.(type) {
		case string:
			name = v
			if v != "" && !slices.Contains(l.Inputs, v) {
				l.Inputs = append(l.Inputs, v)
			}
		case param:
			d := make([]float32, model.NumElements(v.shape))
			for j := range d {
				d[j] = float32(g.rng.Float64()*2 - 1)
				if v.positive {
					d[j] = float32(g.rng.Float64() + 0.5)
				}
			}
			l.Params = append(l.Params, &model.Param{Name: name, Role: fmt.Sprintf("w%d", i), Shape: v.shape, Data: d, Trainable: true})
		case fconst:
			l.Consts = append(l.Consts, &model.Tensor{Name: name, DType: model.Float32, Shape: v.shape, F32: v.v})
		case iconst:
			l.Consts = append(l.Consts, &model.Tensor{Name: name, DType: model.Int64, Shape: []int{len(v)}, I64: v})
		case iscalar:
			l.Consts = append(l.Consts, &model.Tensor{Name: name, DType: model.Int64, Shape: []int{}, I64: []int64{int64(v)}})
		}
		names = append(names, name)
	}
	out := l.Name + "/out"
	l.Nodes = []*model.Node{{Name: l.Name + "/" + op, Op: op, Inputs: names, Outputs: []string{out}, Attrs: at}}
	l.Outputs = []string{out}
	g.m.Layers = append(g.m.Layers, l)
	return out
}

// vitSource is a tiny torchvision ViT as torch.onnx.export (torch 1.13)
// writes it: 2x2 patches of a 4x4 image (4 tokens of 8 features), the class
// token expanded to the batch and concatenated, the position embedding
// added, one encoder block (LayerNormalization, torch's
// nn.MultiheadAttention with 2 heads in its seq-first export form, a
// GELU MLP) and the head on the class token. The query is divided by
// qdiv (torch: sqrt(head_dim) = 2).
func vitSource(qdiv float32) *model.Model {
	const e, h, d, tokens = 8, 2, 4, 5
	g := newGraph(3, 4, 4)
	x := g.add("Conv", attrs("kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}), "x", p(e, 3, 2, 2), p(e))
	x = g.add("Reshape", nil, x, iconst{-1, e, 4})
	x = g.add("Transpose", attrs("perm", []int64{0, 2, 1}), x)
	batch := g.add("Slice", nil, g.add("Shape", nil, "x"), iconst{0}, iconst{1})
	cls := g.add("Expand", nil, p(1, 1, e), g.add("Concat", attrs("axis", 0), batch, iconst{1, e}))
	x = g.add("Concat", attrs("axis", 1), cls, x)
	x = g.add("Add", nil, x, p(1, tokens, e))
	y := g.add("LayerNormalization", attrs("epsilon", 1e-6), x, p(e), p(e))
	y = g.add("Transpose", attrs("perm", []int64{1, 0, 2}), y)
	y = g.add("Add", nil, p(3*e), g.add("MatMul", nil, y, p(e, 3*e)))
	heads := func(i int, perm []int64) string {
		s := g.add("Slice", nil, y, iconst{int64(i * e)}, iconst{int64((i + 1) * e)}, iconst{-1})
		return g.add("Transpose", attrs("perm", perm), g.add("Reshape", nil, s, iconst{tokens, -1, d}))
	}
	q := g.add("Div", nil, heads(0, []int64{1, 0, 2}), scalar(qdiv))
	k := heads(1, []int64{1, 2, 0})
	v := heads(2, []int64{1, 0, 2})
	a := g.add("MatMul", nil, g.add("Softmax", attrs("axis", -1), g.add("MatMul", nil, q, k)), v)
	a = g.add("Reshape", nil, g.add("Transpose", attrs("perm", []int64{1, 0, 2}), a), iconst{-1, e})
	a = g.add("Gemm", attrs("transB", 1), a, p(e, e), p(e))
	a = g.add("Transpose", attrs("perm", []int64{1, 0, 2}), g.add("Reshape", nil, a, iconst{tokens, -1, e}))
	x = g.add("Add", nil, a, x)
	m := g.add("LayerNormalization", attrs("epsilon", 1e-6), x, p(e), p(e))
	m = g.add("Add", nil, p(16), g.add("MatMul", nil, m, p(e, 16)))
	m = g.add("Mul", nil, g.add("Mul", nil, m, g.add("Add", nil, g.add("Erf", nil, g.add("Div", nil, m, scalar(float32(math.Sqrt2)))), scalar(1))), scalar(0.5))
	m = g.add("Add", nil, p(e), g.add("MatMul", nil, m, p(16, e)))
	x = g.add("Add", nil, x, m)
	x = g.add("Gather", attrs("axis", 1), x, iscalar(0))
	return g.done(g.add("Gemm", attrs("transB", 1), x, p(10, e), p(10)))
}

func (g *graph) done(out string) *model.Model {
	g.m.Outputs = []string{out}
	return g.m
}

// input returns a random batch of 2 for m's input.
func input(m *model.Model, seed uint64) *model.Tensor {
	shape := slices.Clone(m.Inputs[0].Shape)
	shape[0] = 2
	rng := rand.New(rand.NewPCG(seed, 3))
	d := make([]float32, model.NumElements(shape))
	for i := range d {
		d[i] = float32(rng.Float64()*2 - 1)
	}
	return &model.Tensor{DType: model.Float32, Shape: shape, F32: d}
}

// transpose returns x transposed by perm (ONNX Transpose).
func transpose(x *model.Tensor, perm []int) *model.Tensor {
	r := len(perm)
	out := &model.Tensor{DType: x.DType, Shape: make([]int, r), F32: make([]float32, len(x.F32))}
	stride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		stride[i] = s
		s *= x.Shape[i]
	}
	for k, a := range perm {
		out.Shape[k] = x.Shape[a]
	}
	idx := make([]int, r)
	for i := range out.F32 {
		off := 0
		for k, a := range perm {
			off += idx[k] * stride[a]
		}
		out.F32[i] = x.F32[off]
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < out.Shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

func run(t *testing.T, m *model.Model, x *model.Tensor) *model.Tensor {
	t.Helper()
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	y, err := s.Predict(x)
	if err != nil {
		t.Fatalf("Predict: %v", err)
	}
	return y
}

func kinds(m *model.Model) string {
	var ks []string
	for _, l := range m.Layers {
		ks = append(ks, l.Kind)
	}
	return strings.Join(ks, " ")
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name  string
		build func() *model.Model
		opts  channelslast.Options
		want  string // the converted layers' kinds
	}{
		{"conv same relu", func() *model.Model {
			g := newGraph(3, 8, 8)
			c := g.add("Conv", attrs("pads", []int64{1, 1, 1, 1}), "x", p(4, 3, 3, 3), p(4))
			return g.done(g.add("Relu", nil, c))
		}, channelslast.Options{}, "Conv2D"},
		{"conv stride 2 pads 1 is not same", func() *model.Model {
			g := newGraph(3, 8, 8)
			return g.done(g.add("Conv", attrs("pads", []int64{1, 1, 1, 1}, "strides", []int64{2, 2}), "x", p(4, 3, 3, 3)))
		}, channelslast.Options{}, "ZeroPadding2D Conv2D"},
		{"conv SAME_LOWER", func() *model.Model {
			g := newGraph(3, 8, 8)
			return g.done(g.add("Conv", attrs("auto_pad", "SAME_LOWER", "strides", []int64{2, 2}, "kernel_shape", []int64{3, 3}), "x", p(4, 3, 3, 3)))
		}, channelslast.Options{}, "ZeroPadding2D Conv2D"},
		{"conv dilated, asymmetric pads", func() *model.Model {
			g := newGraph(3, 9, 9)
			return g.done(g.add("Conv", attrs("dilations", []int64{2, 2}, "pads", []int64{0, 1, 2, 1}), "x", p(5, 3, 3, 3), p(5)))
		}, channelslast.Options{}, "ZeroPadding2D Conv2D"},
		{"depthwise multiplier 2 with swish", func() *model.Model {
			g := newGraph(3, 6, 6)
			c := g.add("Conv", attrs("group", 3, "pads", []int64{1, 1, 1, 1}), "x", p(6, 1, 3, 3), p(6))
			s := g.add("Sigmoid", nil, c)
			return g.done(g.add("Mul", nil, c, s))
		}, channelslast.Options{}, "DepthwiseConv2D"},
		{"grouped conv", func() *model.Model {
			g := newGraph(4, 5, 5)
			return g.done(g.add("Conv", attrs("group", 2), "x", p(6, 2, 3, 3), p(6)))
		}, channelslast.Options{}, "Conv2D"},
		{"conv1d", func() *model.Model {
			g := newGraph(3, 10)
			c := g.add("Conv", attrs("pads", []int64{1, 1}), "x", p(4, 3, 3), p(4))
			return g.done(g.add("Tanh", nil, c))
		}, channelslast.Options{}, "Conv1D"},
		{"bn relu, ceil-mode max pool as same", func() *model.Model {
			g := newGraph(3, 8, 8)
			b := g.add("BatchNormalization", attrs("epsilon", 1e-3), "x", p(3), p(3), p(3), pos(3))
			r := g.add("Relu", nil, b)
			return g.done(g.add("MaxPool", attrs("kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "ceil_mode", 1), r))
		}, channelslast.Options{}, "BatchNormalization Activation MaxPooling2D"},
		{"max pool pads after relu", func() *model.Model {
			g := newGraph(3, 8, 8)
			r := g.add("Relu", nil, "x")
			return g.done(g.add("MaxPool", attrs("kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}), r))
		}, channelslast.Options{}, "Activation ZeroPadding2D MaxPooling2D"},
		{"average pool counting pads", func() *model.Model {
			g := newGraph(3, 7, 7)
			return g.done(g.add("AveragePool", attrs("kernel_shape", []int64{3, 3}, "pads", []int64{1, 1, 1, 1}, "count_include_pad", 1), "x"))
		}, channelslast.Options{}, "ZeroPadding2D AveragePooling2D"},
		{"average pool same without pads counted", func() *model.Model {
			g := newGraph(3, 7, 7)
			return g.done(g.add("AveragePool", attrs("kernel_shape", []int64{3, 3}, "pads", []int64{1, 1, 1, 1}), "x"))
		}, channelslast.Options{}, "AveragePooling2D"},
		{"squeeze-excitation", func() *model.Model {
			g := newGraph(4, 5, 5)
			x := g.add("Conv", nil, "x", p(8, 4, 1, 1), p(8))
			s := g.add("GlobalAveragePool", nil, x)
			s = g.add("Conv", nil, s, p(2, 8, 1, 1), p(2))
			s = g.add("Relu", nil, s)
			s = g.add("Conv", nil, s, p(8, 2, 1, 1), p(8))
			s = g.add("HardSigmoid", attrs("alpha", 1.0/6), s)
			return g.done(g.add("Mul", nil, x, s))
		}, channelslast.Options{}, "Conv2D GlobalAveragePooling2D Conv2D Conv2D Rescaling ReLU Multiply"},
		{"hard swish, concat on channels", func() *model.Model {
			g := newGraph(3, 4, 4)
			a := g.add("Conv", nil, "x", p(2, 3, 1, 1))
			b := g.add("HardSwish", nil, a)
			return g.done(g.add("Concat", attrs("axis", 1), a, b))
		}, channelslast.Options{}, "Conv2D Rescaling ReLU Multiply Concatenate"},
		{"flatten of a 2x2 map into Gemm reorders the kernel rows", func() *model.Model {
			g := newGraph(3, 4, 4)
			c := g.add("Conv", attrs("strides", []int64{2, 2}), "x", p(5, 3, 2, 2))
			f := g.add("Flatten", nil, c)
			return g.done(g.add("Gemm", attrs("transB", 1), f, p(7, 20), p(7)))
		}, channelslast.Options{}, "Conv2D Flatten Dense"},
		{"flatten of a 2x2 map into a non-Dense reader permutes first", func() *model.Model {
			g := newGraph(3, 4, 4)
			c := g.add("Conv", attrs("strides", []int64{2, 2}), "x", p(5, 3, 2, 2))
			f := g.add("Flatten", nil, c)
			return g.done(g.add("Softmax", attrs("axis", -1), f))
		}, channelslast.Options{}, "Conv2D Permute Flatten Activation"},
		{"global pool, flatten, gemm", func() *model.Model {
			g := newGraph(3, 4, 4)
			c := g.add("Conv", nil, "x", p(5, 3, 3, 3))
			c = g.add("GlobalAveragePool", nil, c)
			f := g.add("Flatten", nil, c)
			return g.done(g.add("Gemm", attrs("transB", 1), f, p(7, 5), p(7)))
		}, channelslast.Options{}, "Conv2D GlobalAveragePooling2D Dense"},
		{"reduce mean over spatial axes", func() *model.Model {
			g := newGraph(3, 4, 4)
			c := g.add("Relu", nil, "x")
			return g.done(g.add("ReduceMean", attrs("axes", []int64{2, 3}, "keepdims", 0), c))
		}, channelslast.Options{}, "Activation GlobalAveragePooling2D"},
		{"channel shuffle", func() *model.Model {
			g := newGraph(4, 3, 3)
			c := g.add("Conv", nil, "x", p(4, 4, 1, 1))
			r := g.add("Reshape", nil, c, iconst{-1, 2, 2, 3, 3})
			tr := g.add("Transpose", attrs("perm", []int64{0, 2, 1, 3, 4}), r)
			r = g.add("Reshape", nil, tr, iconst{-1, 4, 3, 3})
			return g.done(g.add("Conv", nil, r, p(2, 4, 1, 1)))
		}, channelslast.Options{}, "Conv2D Reshape Permute Reshape Conv2D"},
		{"per-channel constants, scalar constants", func() *model.Model {
			g := newGraph(3, 4, 4)
			c := g.add("Conv", nil, "x", p(4, 3, 1, 1))
			c = g.add("Mul", nil, c, p(4, 1, 1))
			c = g.add("Add", nil, fconst{[]int{4, 1, 1}, []float32{1, 2, 3, 4}}, c)
			c = g.add("Div", nil, c, scalar(4))
			return g.done(g.add("Sub", nil, scalar(1), c))
		}, channelslast.Options{}, "Conv2D DepthwiseConv2D DepthwiseConv2D Rescaling Rescaling"},
		{"ConvNeXt block: channels-last Linear between Transposes, GELU", func() *model.Model {
			g := newGraph(4, 3, 3)
			c := g.add("Conv", attrs("group", 4, "pads", []int64{1, 1, 1, 1}), "x", p(4, 1, 3, 3), p(4))
			t1 := g.add("Transpose", attrs("perm", []int64{0, 2, 3, 1}), c)
			h := g.add("MatMul", nil, t1, p(4, 8))
			h = g.add("Add", nil, h, p(8))
			d := g.add("Div", nil, h, scalar(float32(math.Sqrt2)))
			e := g.add("Erf", nil, d)
			e = g.add("Add", nil, e, scalar(1))
			e = g.add("Mul", nil, h, e)
			e = g.add("Mul", nil, e, scalar(0.5))
			h = g.add("MatMul", nil, e, p(8, 4))
			t2 := g.add("Transpose", attrs("perm", []int64{0, 3, 1, 2}), h)
			return g.done(g.add("Add", nil, t2, c))
		}, channelslast.Options{}, "DepthwiseConv2D Dense Dense Add"},
		{"channel split (x.chunk(2, dim=1)) and a rank-3 slice", func() *model.Model {
			g := newGraph(4, 3, 3)
			c := g.add("Conv", nil, "x", p(6, 4, 1, 1))
			a := g.add("Slice", nil, c, iconst{0}, iconst{3}, iconst{1})
			b := g.add("Slice", nil, c, iconst{3}, iconst{1 << 40}, iconst{-3})
			b = g.add("Slice", nil, b, iconst{1}, iconst{-1}, iconst{2}) // rows 1:2
			a = g.add("Slice", nil, a, iconst{1}, iconst{3}, iconst{3})  // columns 1:3
			r := g.add("Reshape", nil, a, iconst{-1, 3, 6})
			r = g.add("Slice", nil, r, iconst{2}, iconst{5}, iconst{2}) // [N, 3, 6] -> [N, 3, 3]
			f := g.add("Flatten", nil, r)
			f2 := g.add("Flatten", nil, b)
			return g.done(g.add("Concat", attrs("axis", 1), f, f2))
		}, channelslast.Options{}, "Conv2D Cropping2D Cropping2D Cropping2D Cropping2D Reshape Cropping1D Permute Flatten Permute Flatten Concatenate"},
		{"LayerNormalization of channels between Transposes (ConvNeXt's LayerNorm2d)", func() *model.Model {
			g := newGraph(4, 3, 3)
			c := g.add("Conv", nil, "x", p(6, 4, 1, 1))
			t1 := g.add("Transpose", attrs("perm", []int64{0, 2, 3, 1}), c)
			ln := g.add("LayerNormalization", attrs("epsilon", 1e-6), t1, p(6), p(6))
			return g.done(g.add("Transpose", attrs("perm", []int64{0, 3, 1, 2}), ln))
		}, channelslast.Options{}, "Conv2D LayerNormalization"},
		{"LayerNormalization over C, H, W: gamma reordered to H, W, C", func() *model.Model {
			g := newGraph(4, 3, 2)
			c := g.add("Conv", nil, "x", p(5, 4, 1, 1))
			return g.done(g.add("LayerNormalization", attrs("axis", 1), c, p(5, 3, 2), p(5, 3, 2)))
		}, channelslast.Options{}, "Conv2D LayerNormalization"},
		{"torch's LayerNorm before opset 17", func() *model.Model {
			g := newGraph(3, 4)
			h := g.add("MatMul", nil, "x", p(4, 6))
			m := g.add("ReduceMean", attrs("axes", []int64{-1}), h)
			d := g.add("Sub", nil, h, m)
			q := g.add("Pow", nil, d, scalar(2))
			v := g.add("ReduceMean", attrs("axes", []int64{-1}), q)
			e := g.add("Add", nil, v, scalar(1e-5))
			s := g.add("Sqrt", nil, e)
			y := g.add("Div", nil, d, s)
			y = g.add("Mul", nil, y, p(6))
			return g.done(g.add("Add", nil, y, p(6)))
		}, channelslast.Options{}, "Dense LayerNormalization"},
		{"torch's ViT: class token, position embedding, nn.MultiheadAttention, class token head", func() *model.Model { return vitSource(2) }, channelslast.Options{},
			"Conv2D Reshape Cropping1D Rescaling Concatenate Rescaling LayerNormalization MultiHeadAttention Add LayerNormalization Dense Dense Add Cropping1D Reshape Dense"},
		{"attention whose query scale is not 1/sqrt(head_dim): folded into the query kernel", func() *model.Model { return vitSource(3) }, channelslast.Options{},
			"Conv2D Reshape Cropping1D Rescaling Concatenate Rescaling LayerNormalization MultiHeadAttention Add LayerNormalization Dense Dense Add Cropping1D Reshape Dense"},
		{"softmax over channels of a map", func() *model.Model {
			g := newGraph(3, 2, 2)
			c := g.add("Conv", nil, "x", p(3, 3, 1, 1))
			return g.done(g.add("Softmax", attrs("axis", 1), c))
		}, channelslast.Options{}, "Conv2D"},
		{"softmax over a spatial axis", func() *model.Model {
			g := newGraph(3, 2, 5)
			c := g.add("Conv", nil, "x", p(3, 3, 1, 1))
			return g.done(g.add("Softmax", attrs("axis", 2), c))
		}, channelslast.Options{}, "Conv2D Softmax"},
		{"zero pad, keep NCHW", func() *model.Model {
			g := newGraph(3, 4, 4)
			c := g.add("Pad", nil, "x", iconst{0, 0, 1, 2, 0, 0, 2, 1})
			return g.done(g.add("Conv", nil, c, p(2, 3, 3, 3)))
		}, channelslast.Options{KeepNCHW: true}, "Permute ZeroPadding2D Conv2D Permute"},
		{"a Keras head after the ONNX body is kept", func() *model.Model {
			g := newGraph(3, 4, 4)
			c := g.add("Conv", nil, "x", p(5, 3, 4, 4))
			f := g.add("Flatten", nil, c)
			head, err := layers.Dense(layers.DenseSpec{Name: "head", Input: f, InFeatures: 5, Units: 2, Activation: "softmax", UseBias: true, Trainable: true,
				Kernel: []float32{1, -1, 0.5, 2, -2, 0, 1, 1, 0.25, -0.5}})
			if err != nil {
				panic(err)
			}
			g.m.Layers = append(g.m.Layers, head)
			return g.done(head.Outputs[0])
		}, channelslast.Options{}, "Conv2D Flatten Dense"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.build()
			if err := src.Validate(); err != nil {
				t.Fatalf("test model: %v", err)
			}
			before := native.Digest(src)
			got, lay, err := channelslast.Convert(src, tc.opts)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if native.Digest(src) != before {
				t.Errorf("Convert modified its input")
			}
			if k := kinds(got); k != tc.want {
				t.Errorf("Convert layers = %s; want %s", k, tc.want)
			}
			for _, l := range got.Layers {
				if len(l.Config) == 0 {
					t.Errorf("layer %q (%s) has no Keras config", l.Name, l.Kind)
				}
			}
			x := input(src, uint64(i))
			want := run(t, src, x)
			y := run(t, got, transpose(x, lay.Inputs[0].Perm))
			want = transpose(want, lay.Outputs[0].Perm)
			if !slices.Equal(y.Shape, want.Shape) {
				t.Fatalf("converted output shape %v; want %v", y.Shape, want.Shape)
			}
			for j := range want.F32 {
				if d := math.Abs(float64(y.F32[j] - want.F32[j])); d > 1e-5*math.Max(1, math.Abs(float64(want.F32[j]))) {
					t.Fatalf("converted output [%d] = %g; source %g", j, y.F32[j], want.F32[j])
				}
			}
		})
	}
}

// TestConvertErrors checks that constructs without a Keras form are one
// error naming the layer, the node and the op, wrapping ErrUnsupported.
func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() *model.Model
		want  string
	}{
		{"max pool pads on negative values", func() *model.Model {
			g := newGraph(3, 8, 8)
			return g.done(g.add("MaxPool", attrs("kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}), "x"))
		}, `layer "maxpool_1" node "maxpool_1/MaxPool" (MaxPool): MaxPool with pads [1 1] [1 1] (ceil_mode 0) on input "x", which may be negative`},
		{"average pool not counting explicit pads", func() *model.Model {
			g := newGraph(3, 8, 8)
			return g.done(g.add("AveragePool", attrs("kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}), "x"))
		}, `(AveragePool): AveragePool with pads [1 1] [1 1], count_include_pad false and ceil_mode 0 divides by a count`},
		{"division of two tensors", func() *model.Model {
			g := newGraph(3, 2, 2)
			a := g.add("Relu", nil, "x")
			return g.done(g.add("Div", nil, "x", a))
		}, `node "div_2/Div" (Div): Div of two tensors has no Keras merge layer`},
		{"an op with no Keras form", func() *model.Model {
			g := newGraph(3, 2, 2)
			return g.done(g.add("Log", nil, "x"))
		}, `layer "log_1" node "log_1/Log" (Log): ONNX Log has no Keras layer form here`},
		{"a product of two tensors", func() *model.Model {
			g := newGraph(3, 4)
			a := g.add("Relu", nil, "x")
			tr := g.add("Transpose", attrs("perm", []int64{0, 2, 1}), a)
			return g.done(g.add("MatMul", nil, "x", tr))
		}, `Keras has a Dense layer for a tensor times a constant 2-D weight only`},
		{"clip to [-1, 1]", func() *model.Model {
			g := newGraph(3, 2, 2)
			return g.done(g.add("Clip", nil, "x", scalar(-1), scalar(1)))
		}, `Clip to [-1, 1] is not a Keras ReLU`},
		{"pad of the channel axis", func() *model.Model {
			g := newGraph(3, 2, 2)
			return g.done(g.add("Pad", nil, "x", iconst{0, 1, 0, 0, 0, 0, 0, 0}))
		}, `pad the batch or channel axis`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := channelslast.Convert(tc.build(), channelslast.Options{})
			if err == nil {
				t.Fatalf("Convert succeeded; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "channelslast: ") {
				t.Errorf("Convert error = %q; want it to contain %q", err, tc.want)
			}
			var ne *channelslast.NodeError
			if !errors.Is(err, model.ErrUnsupported) || !errors.As(err, &ne) {
				t.Errorf("Convert error %v is not a NodeError wrapping ErrUnsupported", err)
			}
		})
	}
}

func TestNeeded(t *testing.T) {
	g := newGraph(3, 4, 4)
	conv := g.done(g.add("Conv", nil, "x", p(2, 3, 1, 1)))
	g = newGraph(4)
	mlp := g.done(g.add("Gemm", attrs("transB", 1), "x", p(2, 4)))
	// Any layer without a Keras config needs the conversion: the Keras
	// exporter writes Keras layers only.
	if !channelslast.Needed(conv) || !channelslast.Needed(mlp) {
		t.Errorf("Needed(conv) = %v, Needed(mlp) = %v; want true, true", channelslast.Needed(conv), channelslast.Needed(mlp))
	}
	k, _, err := channelslast.Convert(conv, channelslast.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if channelslast.Needed(k) {
		t.Errorf("Needed(converted model) = true; want false")
	}
}
