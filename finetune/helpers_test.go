package finetune

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// mlp builds a Sequential Flatten + Dense stack on inputs of shape in, with
// Keras-default initial weights (glorot_uniform kernels, zero biases) drawn
// from seed.
func mlp(t testing.TB, seed int64, in []int, units []int, acts []string) *model.Model {
	t.Helper()
	stages := make([]stage, len(units))
	for i, u := range units {
		stages[i] = kerasDenseStage(fmt.Sprintf("dense_%d", i), u, acts[i])
	}
	m := seqModel(t, seed, in, stages...)
	m.Name = "mlp"
	return m
}

// stage appends one layer to a model under construction: it gets the
// previous value and its feature count and returns the layer and its
// output feature count.
type stage func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int)

// denseStage is a Dense layer with a glorot_uniform kernel and small
// random biases drawn from rng.
func denseStage(name string, units int, act string) stage {
	return denseStageOf(name, units, act, true)
}

// kerasDenseStage is a Dense layer as Keras initialises it: a
// glorot_uniform kernel drawn from rng and zero biases.
func kerasDenseStage(name string, units int, act string) stage {
	return denseStageOf(name, units, act, false)
}

func denseStageOf(name string, units int, act string, randomBias bool) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		k, err := initializers.Draw(&model.Initializer{Name: "glorot_uniform"}, []int{inF, units}, rng)
		if err != nil {
			t.Fatal(err)
		}
		bias := make([]float32, units)
		for i := range bias {
			if randomBias {
				bias[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
		l, err := layers.Dense(layers.DenseSpec{Name: name, Input: prev, InFeatures: inF, Units: units,
			Activation: act, UseBias: true, Trainable: true, Kernel: k, Bias: bias})
		if err != nil {
			t.Fatal(err)
		}
		return l, units
	}
}

func bnStage(name string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		g, b, mm, mv := make([]float32, inF), make([]float32, inF), make([]float32, inF), make([]float32, inF)
		for i := range g {
			g[i], b[i] = 1+float32(rng.NormFloat64()*0.2), float32(rng.NormFloat64()*0.2)
			mm[i], mv[i] = float32(rng.NormFloat64()*0.1), 1+float32(rng.Float64())
		}
		l, err := layers.BatchNormalization(layers.BatchNormSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true},
			Rank: 2, Channels: inF, Epsilon: 1e-3, Momentum: 0.99, Center: true, Scale: true, Gamma: g, Beta: b, MovingMean: mm, MovingVariance: mv})
		if err != nil {
			t.Fatal(err)
		}
		return l, inF
	}
}

func preluStage(name string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		a := make([]float32, inF)
		for i := range a {
			a[i] = float32(rng.Float64() * 0.3)
		}
		l, err := layers.PReLU(layers.PReLUSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true}, AlphaShape: []int{inF}, Alpha: a})
		if err != nil {
			t.Fatal(err)
		}
		return l, inF
	}
}

func dropoutStage(name, kind string, rate float32) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		cfg := fmt.Sprintf(`{"name": %q, "rate": %g, "stddev": %g}`, name, rate, rate)
		l, err := layers.Dropout(layers.DropoutSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true, Config: []byte(cfg)}, Kind: kind, Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		return l, inF
	}
}

// gemmStage is a PyTorch Linear: weight [out, in] through Gemm transB=1.
func gemmStage(name string, units int) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		w := make([]float32, units*inF)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * 0.3)
		}
		b := make([]float32, units)
		for i := range b {
			b[i] = float32(rng.NormFloat64() * 0.1)
		}
		out := name + "/Gemm:0"
		return &model.Layer{Name: name, Kind: "Gemm", Inputs: []string{prev}, Outputs: []string{out}, Trainable: true,
			Params: []*model.Param{
				{Name: name + "/weight", Role: "kernel", Shape: []int{units, inF}, Data: w, Trainable: true},
				{Name: name + "/bias", Role: "bias", Shape: []int{units}, Data: b, Trainable: true}},
			Nodes: []*model.Node{{Name: name + "/Gemm", Op: "Gemm", Inputs: []string{prev, name + "/weight", name + "/bias"}, Outputs: []string{out},
				Attrs: map[string]model.Attr{"transB": model.Int(1)}}}}, units
	}
}

// seqModel builds Flatten on inputs of shape in, then the stages.
func seqModel(t testing.TB, seed int64, in []int, stages ...stage) *model.Model {
	t.Helper()
	m := seqModelRaw(t, seed, in, stages...)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// seqModelRaw is seqModel without the final Validate, for tests that edit
// the model first.
func seqModelRaw(t testing.TB, seed int64, in []int, stages ...stage) *model.Model {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	m := &model.Model{Name: "seq", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "input", DType: model.Float32, Shape: append([]int{-1}, in...)}}}
	fl, err := layers.Flatten(layers.Common{Name: "flatten", Inputs: []string{"input"}, Trainable: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Layers = append(m.Layers, fl)
	prev, inF := fl.Outputs[0], model.NumElements(in)
	for _, s := range stages {
		l, n := s(t, rng, prev, inF)
		m.Layers = append(m.Layers, l)
		prev, inF = l.Outputs[0], n
	}
	m.Outputs = []string{prev}
	return m
}

func rreluStage(name string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		l, err := layers.RReLU(layers.RReLUSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true}, Lower: 1.0 / 8, Upper: 1.0 / 3})
		if err != nil {
			t.Fatal(err)
		}
		return l, inF
	}
}

// reluStage is a Keras ReLU layer with every option set.
func reluStage(name string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		six := float32(1.5)
		l, err := layers.ReLU(layers.ReLUSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true}, MaxValue: &six, NegativeSlope: 0.1, Threshold: 0.2})
		if err != nil {
			t.Fatal(err)
		}
		return l, inF
	}
}

// rawLayer is a layer of hand-written ONNX nodes; params are named
// "<name>/<role>" with random values.
func rawLayer(rng *rand.Rand, name, in, out string, params map[string][]int, nodes ...*model.Node) *model.Layer {
	l := &model.Layer{Name: name, Kind: "Raw", Inputs: []string{in}, Outputs: []string{out}, Trainable: true, Nodes: nodes}
	for _, role := range []string{"kernel", "bias", "kernel2"} {
		shape, ok := params[role]
		if !ok {
			continue
		}
		d := make([]float32, model.NumElements(shape))
		for i := range d {
			d[i] = float32(rng.NormFloat64() * 0.4)
		}
		l.Params = append(l.Params, &model.Param{Name: name + "/" + role, Role: role, Shape: shape, Data: d, Trainable: true})
	}
	return l
}

// convModel is Conv (strided, padded) + Relu, grouped dilated Conv, MaxPool,
// AveragePool, GlobalAveragePool, ReduceMean, Flatten and a softmax Dense on
// [N, 2, 7, 7] inputs.
func convModel(t testing.TB, seed int64) *model.Model {
	rng := rand.New(rand.NewSource(seed))
	ints := func(v ...int64) model.Attr { return model.Ints(v...) }
	m := &model.Model{Name: "conv", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2, 7, 7}}}}
	m.Layers = []*model.Layer{
		rawLayer(rng, "c1", "x", "c1/r", map[string][]int{"kernel": {4, 2, 3, 3}, "bias": {4}},
			&model.Node{Name: "c1/conv", Op: "Conv", Inputs: []string{"x", "c1/kernel", "c1/bias"}, Outputs: []string{"c1/y"},
				Attrs: map[string]model.Attr{"pads": ints(1, 1, 1, 1), "strides": ints(1, 1)}},
			&model.Node{Name: "c1/relu", Op: "Relu", Inputs: []string{"c1/y"}, Outputs: []string{"c1/r"}}),
		rawLayer(rng, "c2", "c1/r", "c2/y", map[string][]int{"kernel": {4, 2, 2, 2}},
			&model.Node{Name: "c2/conv", Op: "Conv", Inputs: []string{"c1/r", "c2/kernel"}, Outputs: []string{"c2/y"},
				Attrs: map[string]model.Attr{"group": model.Int(2), "dilations": ints(2, 2), "strides": ints(2, 1), "auto_pad": model.String("SAME_UPPER")}}),
		rawLayer(rng, "p", "c2/y", "p/g", nil,
			&model.Node{Name: "p/max", Op: "MaxPool", Inputs: []string{"c2/y"}, Outputs: []string{"p/m"},
				Attrs: map[string]model.Attr{"kernel_shape": ints(2, 2), "strides": ints(1, 1)}},
			&model.Node{Name: "p/avg", Op: "AveragePool", Inputs: []string{"p/m"}, Outputs: []string{"p/a"},
				Attrs: map[string]model.Attr{"kernel_shape": ints(2, 2), "pads": ints(1, 1, 0, 0)}},
			&model.Node{Name: "p/gap", Op: "GlobalAveragePool", Inputs: []string{"p/a"}, Outputs: []string{"p/g"}}),
		rawLayer(rng, "r", "c2/y", "r/f", nil,
			&model.Node{Name: "r/mean", Op: "ReduceMean", Inputs: []string{"c2/y"}, Outputs: []string{"r/m"},
				Attrs: map[string]model.Attr{"axes": ints(2, 3), "keepdims": model.Int(0)}},
			&model.Node{Name: "r/flat", Op: "Flatten", Inputs: []string{"r/m"}, Outputs: []string{"r/f"}}),
	}
	flat := rawLayer(rng, "f", "p/g", "f/y", nil, &model.Node{Name: "f/flat", Op: "Flatten", Inputs: []string{"p/g"}, Outputs: []string{"f/y"}})
	m.Layers = append(m.Layers, flat)
	head := rawLayer(rng, "head", "f/y", "head/s", map[string][]int{"kernel": {4, 3}, "kernel2": {4, 3}},
		&model.Node{Name: "head/mm", Op: "MatMul", Inputs: []string{"f/y", "head/kernel"}, Outputs: []string{"head/a"}},
		&model.Node{Name: "head/mm2", Op: "MatMul", Inputs: []string{"r/f", "head/kernel2"}, Outputs: []string{"head/b"}},
		&model.Node{Name: "head/add", Op: "Add", Inputs: []string{"head/a", "head/b"}, Outputs: []string{"head/z"}},
		&model.Node{Name: "head/softmax", Op: "Softmax", Inputs: []string{"head/z"}, Outputs: []string{"head/s"}, Attrs: map[string]model.Attr{"axis": model.Int(-1)}})
	head.Inputs = []string{"f/y", "r/f"}
	m.Layers = append(m.Layers, head)
	m.Outputs = []string{"head/s"}
	return m
}

// mergeModel branches [N, 4] inputs into two Dense layers and merges them
// with Max, Min, Sum and Mean, pads, then a softmax head.
func mergeModel(t testing.TB, seed int64) *model.Model {
	rng := rand.New(rand.NewSource(seed))
	m := &model.Model{Name: "merge", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 4}}}}
	d1 := rawLayer(rng, "d1", "x", "d1/y", map[string][]int{"kernel": {4, 5}},
		&model.Node{Name: "d1/mm", Op: "MatMul", Inputs: []string{"x", "d1/kernel"}, Outputs: []string{"d1/y"}})
	d2 := rawLayer(rng, "d2", "x", "d2/y", map[string][]int{"kernel": {4, 5}},
		&model.Node{Name: "d2/mm", Op: "MatMul", Inputs: []string{"x", "d2/kernel"}, Outputs: []string{"d2/y"}})
	mg := rawLayer(rng, "merge", "d1/y", "merge/p", nil,
		&model.Node{Name: "merge/max", Op: "Max", Inputs: []string{"d1/y", "d2/y"}, Outputs: []string{"merge/max"}},
		&model.Node{Name: "merge/min", Op: "Min", Inputs: []string{"d1/y", "d2/y", "merge/max"}, Outputs: []string{"merge/min"}},
		&model.Node{Name: "merge/sum", Op: "Sum", Inputs: []string{"merge/max", "merge/min", "d1/y"}, Outputs: []string{"merge/sum"}},
		&model.Node{Name: "merge/mean", Op: "Mean", Inputs: []string{"merge/sum", "d2/y"}, Outputs: []string{"merge/mean"}},
		&model.Node{Name: "merge/pad", Op: "Pad", Inputs: []string{"merge/mean", "merge/pads"}, Outputs: []string{"merge/p"}, Attrs: map[string]model.Attr{"mode": model.String("constant")}})
	mg.Inputs = []string{"d1/y", "d2/y"}
	mg.Consts = []*model.Tensor{{Name: "merge/pads", DType: model.Int64, Shape: []int{4}, I64: []int64{0, 1, 0, 2}}}
	head := rawLayer(rng, "head", "merge/p", "head/s", map[string][]int{"kernel": {8, 3}},
		&model.Node{Name: "head/mm", Op: "MatMul", Inputs: []string{"merge/p", "head/kernel"}, Outputs: []string{"head/z"}},
		&model.Node{Name: "head/softmax", Op: "Softmax", Inputs: []string{"head/z"}, Outputs: []string{"head/s"}, Attrs: map[string]model.Attr{"axis": model.Int(-1)}})
	m.Layers = []*model.Layer{d1, d2, mg, head}
	m.Outputs = []string{"head/s"}
	return m
}

// linearStage is a Keras Activation("linear") layer: one Identity node.
func linearStage(name string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		l, err := layers.Activation(layers.ActivationSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true}, Activation: "linear"})
		if err != nil {
			t.Fatal(err)
		}
		return l, inF
	}
}

// actStage is a Keras Activation layer.
func actStage(name, act string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		l, err := layers.Activation(layers.ActivationSpec{Common: layers.Common{Name: name, Inputs: []string{prev}, Trainable: true}, Activation: act})
		if err != nil {
			t.Fatal(err)
		}
		return l, inF
	}
}

// kerasConvModel is a Keras-built model on [N, 6, 6, 2] (channels last):
// Conv2D "same" stride 2 + relu, Conv2D "valid" with two groups, Flatten
// and a softmax Dense. The Conv layers hold Transposes of
// the input and of the kernel param.
func kerasConvModel(t testing.TB, seed int64) *model.Model {
	rng := rand.New(rand.NewSource(seed))
	randn := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * s)
		}
		return v
	}
	m := &model.Model{Name: "kconv", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 6, 6, 2}}}}
	c1, err := layers.Conv(layers.ConvSpec{Common: layers.Common{Name: "conv1", Inputs: []string{"x"}, Trainable: true},
		InputSpatial: []int{6, 6}, InChannels: 2, Filters: 4, KernelSize: []int{3, 3}, Strides: []int{2, 2}, Dilation: []int{1, 1},
		Padding: "same", Activation: "relu", UseBias: true, Kernel: randn(3*3*2*4, 0.4), Bias: randn(4, 0.1)})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := layers.Conv(layers.ConvSpec{Common: layers.Common{Name: "conv2", Inputs: c1.Outputs, Trainable: true},
		InputSpatial: []int{3, 3}, InChannels: 4, Filters: 4, KernelSize: []int{2, 2}, Strides: []int{1, 1}, Dilation: []int{1, 1},
		Padding: "valid", Groups: 2, Activation: "tanh", UseBias: true, Kernel: randn(2*2*2*4, 0.4), Bias: randn(4, 0.1)})
	if err != nil {
		t.Fatal(err)
	}
	fl, err := layers.Flatten(layers.Common{Name: "flatten", Inputs: c2.Outputs, Trainable: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Layers = []*model.Layer{c1, c2, fl}
	d, _ := denseStage("dense", 3, "softmax")(t, rng, fl.Outputs[0], 2*2*4)
	m.Layers = append(m.Layers, d)
	m.Outputs = d.Outputs
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// reshapeModel applies a Dense to the last axis of [N, 2, 3] inputs (a
// rank-3 MatMul), transposes to [N, 3, 2], reshapes to [N, 6] (ONNX Reshape
// with 0 and -1) and applies a softmax Dense.
func reshapeModel(t testing.TB, seed int64) *model.Model {
	rng := rand.New(rand.NewSource(seed))
	m := &model.Model{Name: "reshape", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2, 3}}}}
	r := rawLayer(rng, "r", "x", "r/y", map[string][]int{"kernel": {3, 3}},
		&model.Node{Name: "r/mm", Op: "MatMul", Inputs: []string{"x", "r/kernel"}, Outputs: []string{"r/mm"}},
		&model.Node{Name: "r/t", Op: "Transpose", Inputs: []string{"r/mm"}, Outputs: []string{"r/t"}, Attrs: map[string]model.Attr{"perm": model.Ints(0, 2, 1)}},
		&model.Node{Name: "r/r", Op: "Reshape", Inputs: []string{"r/t", "r/shape"}, Outputs: []string{"r/y"}})
	r.Consts = []*model.Tensor{{Name: "r/shape", DType: model.Int64, Shape: []int{2}, I64: []int64{0, -1}}}
	d, _ := denseStage("d", 3, "softmax")(t, rng, "r/y", 6)
	m.Layers = []*model.Layer{r, d}
	m.Outputs = d.Outputs
	return m
}

// broadcastModel exercises Add, Sub, Mul and Div with numpy broadcasting
// on [N, 2, 3, 3] inputs: a per-channel scale param ([2, 1, 1]), an SE
// block's [N,C,H,W]*[N,C,1,1] product, a layer-scale Sub of a [3] param, a
// Div by a positive [1, 1, 3, 1] param and a bias Add, then a softmax head.
func broadcastModel(t testing.TB, seed int64) *model.Model {
	rng := rand.New(rand.NewSource(seed))
	m := &model.Model{Name: "broadcast", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2, 3, 3}}}}
	se := rawLayer(rng, "se", "x", "se/d", map[string][]int{"kernel": {2, 1, 1}, "bias": {3}, "kernel2": {1, 1, 3, 1}},
		&model.Node{Name: "se/scale", Op: "Mul", Inputs: []string{"x", "se/kernel"}, Outputs: []string{"se/a"}},
		&model.Node{Name: "se/gap", Op: "GlobalAveragePool", Inputs: []string{"se/a"}, Outputs: []string{"se/g"}},
		&model.Node{Name: "se/sig", Op: "Sigmoid", Inputs: []string{"se/g"}, Outputs: []string{"se/s"}},
		&model.Node{Name: "se/mul", Op: "Mul", Inputs: []string{"se/a", "se/s"}, Outputs: []string{"se/m"}},
		&model.Node{Name: "se/sub", Op: "Sub", Inputs: []string{"se/bias", "se/m"}, Outputs: []string{"se/b"}},
		&model.Node{Name: "se/pos", Op: "Exp", Inputs: []string{"se/kernel2"}, Outputs: []string{"se/p"}},
		&model.Node{Name: "se/div", Op: "Div", Inputs: []string{"se/b", "se/p"}, Outputs: []string{"se/d"}})
	flat := rawLayer(rng, "f", "se/d", "f/y", nil, &model.Node{Name: "f/flat", Op: "Flatten", Inputs: []string{"se/d"}, Outputs: []string{"f/y"}})
	head := rawLayer(rng, "head", "f/y", "head/s", map[string][]int{"kernel": {18, 3}, "bias": {1, 3}},
		&model.Node{Name: "head/mm", Op: "MatMul", Inputs: []string{"f/y", "head/kernel"}, Outputs: []string{"head/z"}},
		&model.Node{Name: "head/add", Op: "Add", Inputs: []string{"head/bias", "head/z"}, Outputs: []string{"head/b"}},
		&model.Node{Name: "head/softmax", Op: "Softmax", Inputs: []string{"head/b"}, Outputs: []string{"head/s"}, Attrs: map[string]model.Attr{"axis": model.Int(-1)}})
	m.Layers = []*model.Layer{se, flat, head}
	m.Outputs = []string{"head/s"}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}
