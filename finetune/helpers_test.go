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
