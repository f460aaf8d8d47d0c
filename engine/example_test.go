package engine_test

import (
	"fmt"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// A one-layer Dense model: y = relu(x @ kernel + bias).
func Example() {
	dense, err := layers.Dense(layers.DenseSpec{
		Name: "dense", Input: "x", InFeatures: 2, Units: 2, Activation: "relu", UseBias: true, Trainable: true,
		Kernel: []float32{1, -1, 2, 0.5}, // [in, out], Keras layout
		Bias:   []float32{0, 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := &model.Model{
		Name: "tiny", Opset: model.DefaultOpset,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2}}},
		Outputs: dense.Outputs, Layers: []*model.Layer{dense},
	}
	s, err := engine.New(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	y, err := s.Predict(&model.Tensor{DType: model.Float32, Shape: []int{2, 2}, F32: []float32{1, 1, -1, 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Shape, y.F32)
	// Output: [2 2] [3 0.5 3 3]
}
