package onnx

import (
	"testing"

	onnximp "github.com/xferml/xfer/importers/onnx"
)

// BenchmarkMarshalModelA writes model A (276,158 params) at opset 17.
func BenchmarkMarshalModelA(b *testing.B) {
	m, err := onnximp.ReadFile(torchModelA)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		data, err := Marshal(m, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}
