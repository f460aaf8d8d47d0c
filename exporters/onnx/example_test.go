package onnx_test

import (
	"fmt"
	"os"
	"path/filepath"

	exporter "github.com/xferml/xfer/exporters/onnx"
	onnximp "github.com/xferml/xfer/importers/onnx"
)

func ExampleWriteFile() {
	m, err := onnximp.ReadFile("../../fixtures/torch/model_a.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Layers[1].SetTrainable(false) // freeze "dense"
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model_a_opset18.onnx")
	if err := exporter.WriteFile(path, m, exporter.Options{Opset: 18}); err != nil {
		fmt.Println(err)
		return
	}
	back, err := onnximp.ReadFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, trainable, frozen := back.ParamCounts()
	fmt.Println(len(back.Layers), "layers,", trainable, "trainable,", frozen, "frozen")
	// Output:
	// 7 layers, 40658 trainable, 235500 frozen
}
