package onnx_test

import (
	"fmt"

	"github.com/xferml/xfer/importers/onnx"
)

func ExampleReadFile() {
	m, err := onnx.ReadFile("../../fixtures/torch/model_a.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range m.Layers {
		total, _, _ := l.ParamCounts()
		fmt.Printf("%-8s %-7s %d\n", l.Name, l.Kind, total)
	}
	total, _, _ := m.ParamCounts()
	fmt.Println("opset", m.Opset, "params", total)
	// Output:
	// flatten  Flatten 0
	// dense    Dense   235500
	// dense_1  Dense   30100
	// dense_2  Dense   5050
	// dense_3  Dense   2550
	// dense_4  Dense   2550
	// dense_5  Dense   408
	// opset 14 params 276158
}
