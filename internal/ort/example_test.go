package ort_test

import (
	"fmt"

	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/model"
)

// Run needs libonnxruntime.so (see the package doc); without it the error
// says how to install it.
func ExampleRun() {
	x := &model.Tensor{DType: model.Float32, Shape: []int{1, 28, 28}, F32: make([]float32, 784)}
	out, err := ort.Run("../../fixtures/torch/model_a.onnx", map[string]*model.Tensor{"input": x})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out["output"].Shape)
}
