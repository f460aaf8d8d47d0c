package native_test

import (
	"fmt"
	"os"
	"path/filepath"

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

// The snapshot file streams from and into the params' memory; WriteFile
// returns the digest from the same pass.
func ExampleWriteFile() {
	d, _ := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 2, Units: 1, UseBias: true, Trainable: true,
		Kernel: []float32{0.5, -1}, Bias: []float32{2}})
	m := &model.Model{Name: "tiny", Opset: model.DefaultOpset,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2}}},
		Outputs: d.Outputs, Layers: []*model.Layer{d}}
	dir, _ := os.MkdirTemp("", "native-example-")
	defer os.RemoveAll(dir)
	digest, err := native.WriteFile(filepath.Join(dir, "m.xnat"), m)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := native.ReadFile(filepath.Join(dir, "m.xnat"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Layers[0].Params[0].Data, digest == native.Digest(back))
	// Output: [0.5 -1] true
}
