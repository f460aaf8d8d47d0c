package onnx

import (
	"os"
	"testing"
)

// BenchmarkReadModelA reads the 1.1 MB PyTorch export of model A from memory.
func BenchmarkReadModelA(b *testing.B) {
	data, err := os.ReadFile(torchModelA)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Read(data, "model_a.onnx"); err != nil {
			b.Fatal(err)
		}
	}
}
