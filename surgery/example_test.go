package surgery_test

import (
	"fmt"
	"math/rand"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

// mlp builds a small Sequential MLP: Dense 4 relu, Dense 3 relu, Dense 2 softmax.
func mlp() *model.Model {
	m := &model.Model{Name: "mlp", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 5}}}}
	in, inF := "x", 5
	for i, u := range []int{4, 3, 2} {
		act := "relu"
		if i == 2 {
			act = "softmax"
		}
		l, err := layers.Dense(layers.DenseSpec{Name: fmt.Sprintf("dense_%d", i+1), Input: in, InFeatures: inF, Units: u, Activation: act, UseBias: true, Trainable: true})
		if err != nil {
			panic(err) // a fixed, valid spec
		}
		m.Layers = append(m.Layers, l)
		in, inF = l.Outputs[0], u
	}
	m.Outputs = []string{in}
	return m
}

func summary(m *model.Model) {
	for i, l := range m.Layers {
		total, _, _ := l.ParamCounts()
		fmt.Printf("%d %s %s params=%d trainable=%v\n", i, l.Name, l.Kind, total, l.Trainable)
	}
	total, trainable, non := m.ParamCounts()
	fmt.Printf("total=%d trainable=%d non-trainable=%d\n", total, trainable, non)
}

// Remove the softmax output layer; the last hidden layer's output becomes
// the model output.
func ExampleDropHead() {
	m, err := surgery.DropHead(mlp(), 1, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	summary(m)
	// Output:
	// 0 dense_1 Dense params=24 trainable=true
	// 1 dense_2 Dense params=15 trainable=true
	// total=39 trainable=39 non-trainable=0
}

// Replace the head with a binary classifier, as chapter 11 does for task B.
func ExampleAddHead() {
	m, err := surgery.DropHead(mlp(), 1, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err = surgery.AddHead(m, surgery.HeadSpec{Units: 1, Activation: "sigmoid"}, rand.New(rand.NewSource(42)))
	if err != nil {
		fmt.Println(err)
		return
	}
	summary(m)
	// Output:
	// 0 dense_1 Dense params=24 trainable=true
	// 1 dense_2 Dense params=15 trainable=true
	// 2 dense_3 Dense params=4 trainable=true
	// total=43 trainable=43 non-trainable=0
}

// Freeze the reused layers so that only the new head trains; an index past
// the last layer is a usage error.
func ExampleFreeze() {
	m, err := surgery.Freeze(mlp(), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	summary(m)
	_, err = surgery.Freeze(m, 3)
	fmt.Println(err)
	// Output:
	// 0 dense_1 Dense params=24 trainable=false
	// 1 dense_2 Dense params=15 trainable=false
	// 2 dense_3 Dense params=8 trainable=true
	// total=47 trainable=8 non-trainable=39
	// surgery: bad argument: freeze: --upto 3 is out of range: model "mlp" has 3 layers, numbered 0 to 2 (or -1 to -3 from the end)
}

// Fold a BatchNormalization into the bias-free Dense before it: the Dense
// gains a bias, the BatchNormalization layer disappears, predictions stay.
func ExampleFoldBN() {
	dense, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 5, Units: 3, Trainable: true})
	if err != nil {
		panic(err) // a fixed, valid spec
	}
	bn, err := layers.BatchNormalization(layers.BatchNormSpec{
		Common: layers.Common{Name: "batch_normalization", Inputs: dense.Outputs, Trainable: true},
		Rank:   2, Channels: 3, Epsilon: 1e-3, Momentum: 0.99, Center: true, Scale: true,
		MovingMean: []float32{0.5, -1, 2}, MovingVariance: []float32{4, 1, 0.25},
	})
	if err != nil {
		panic(err)
	}
	m := &model.Model{Name: "bn", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 5}}},
		Layers: []*model.Layer{dense, bn}, Outputs: bn.Outputs}

	folded, report, err := surgery.FoldBN(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(report)
	summary(folded)
	// Output:
	// folded batch_normalization into dense
	// 0 dense Dense params=18 trainable=true
	// total=18 trainable=18 non-trainable=0
}
