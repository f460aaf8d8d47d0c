package native_test

import (
	"fmt"

	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func Example() {
	d, _ := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 2, Units: 1, UseBias: true, Trainable: true})
	m := &model.Model{Name: "tiny", Opset: model.DefaultOpset,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2}}},
		Outputs: d.Outputs, Layers: []*model.Layer{d}}
	b, _ := native.Encode(m)
	back, _ := native.Decode(b)
	fmt.Println(back.Layers[0].Name, native.Digest(back) == native.Digest(m))
	// Output: dense true
}
