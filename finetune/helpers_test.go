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
	rng := rand.New(rand.NewSource(seed))
	m := &model.Model{Name: "mlp", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "input", DType: model.Float32, Shape: append([]int{-1}, in...)}}}
	fl, err := layers.Flatten(layers.Common{Name: "flatten", Inputs: []string{"input"}, Trainable: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Layers = append(m.Layers, fl)
	prev, inF := fl.Outputs[0], model.NumElements(in)
	for i, u := range units {
		k, err := initializers.Draw(&model.Initializer{Name: "glorot_uniform"}, []int{inF, u}, rng)
		if err != nil {
			t.Fatal(err)
		}
		l, err := layers.Dense(layers.DenseSpec{Name: fmt.Sprintf("dense_%d", i), Input: prev, InFeatures: inF, Units: u,
			Activation: acts[i], UseBias: true, Trainable: true, Kernel: k})
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, l)
		prev, inF = l.Outputs[0], u
	}
	m.Outputs = []string{prev}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// stage appends one layer to a model under construction: it gets the
// previous value and its feature count and returns the layer and its
// output feature count.
type stage func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int)

func denseStage(name string, units int, act string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		k, err := initializers.Draw(&model.Initializer{Name: "glorot_uniform"}, []int{inF, units}, rng)
		if err != nil {
			t.Fatal(err)
		}
		bias := make([]float32, units)
		for i := range bias {
			bias[i] = float32(rng.NormFloat64() * 0.1)
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
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func rreluStage(name string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		l, err := RReLU(name, prev, 1.0/8, 1.0/3)
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
