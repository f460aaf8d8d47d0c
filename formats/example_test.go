package formats_test

import (
	"fmt"

	"github.com/xferml/xfer/formats"
)

func ExampleFormatOf() {
	for _, p := range []string{"model.h5", "model.keras", "model.onnx"} {
		f, _ := formats.FormatOf(p)
		fmt.Println(p, f)
	}
	// Output:
	// model.h5 keras-h5
	// model.keras keras-zip
	// model.onnx onnx
}
