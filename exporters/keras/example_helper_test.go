package keras

import (
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// exampleModel is Sequential: Dense(2, softmax) over 3 features.
func exampleModel() *model.Model {
	l, err := layers.Dense(layers.DenseSpec{
		Name: "dense", Input: "input_1", InFeatures: 3, Units: 2, Activation: "softmax", UseBias: true, Trainable: true,
		Kernel: []float32{1, -1, 0.5, 0.25, -2, 2}, Bias: []float32{0.1, -0.1},
	})
	if err != nil {
		panic(err)
	}
	return &model.Model{
		Name: "example", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "input_1", DType: model.Float32, Shape: []int{-1, 3}}},
		Outputs: l.Outputs, Layers: []*model.Layer{l}, Meta: map[string]string{},
	}
}
