package finetune_test

import (
	"context"
	"fmt"
	"math/rand"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// A one-layer softmax classifier trained with clipped SGD and momentum.
func ExampleTrain() {
	rng := rand.New(rand.NewSource(1))
	kernel := make([]float32, 4*3)
	for i := range kernel {
		kernel[i] = float32(rng.NormFloat64() * 0.1)
	}
	dense, _ := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 4, Units: 3, Activation: "softmax", UseBias: true, Trainable: true, Kernel: kernel})
	m := &model.Model{Name: "tiny", Opset: model.DefaultOpset, Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 4}}},
		Layers: []*model.Layer{dense}, Outputs: dense.Outputs}

	// Class k has feature k set: easy to learn.
	x := make([]float32, 90*4)
	y := make([]float32, 90)
	for i := range y {
		y[i] = float32(i % 3)
		x[i*4+i%3] = 1
	}
	set, _ := dataset.NewSet("toy", &model.Tensor{DType: model.Float32, Shape: []int{90, 4}, F32: x}, y, 3)

	trained, hist, err := finetune.Train(context.Background(), m, set, set,
		finetune.Config{Epochs: 30, LearningRate: 0.1, Momentum: 0.9, ClipNorm: 1, Seed: 1}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	met, _ := finetune.Evaluate(trained, set, "")
	fmt.Println(hist.LossFunction, len(hist.Epochs), met.Accuracy)
	// Output: sparse_categorical_crossentropy 30 1
}
