package keras

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// denseStack is a Sequential model of n Dense layers of width w (about
// 4*n*w*w bytes of weights).
func denseStack(b *testing.B, n, w int) *model.Model {
	m := &model.Model{Name: "stack", Opset: model.DefaultOpset, Sequential: true, Meta: map[string]string{},
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, w}}}}
	in := "x"
	for i := range n {
		k := make([]float32, w*w)
		for j := range k {
			k[j] = float32(j%97) * 0.01
		}
		l, err := layers.Dense(layers.DenseSpec{Name: fmt.Sprintf("dense_%d", i), Input: in, InFeatures: w, Units: w,
			Activation: "relu", UseBias: true, Trainable: true, Kernel: k})
		if err != nil {
			b.Fatal(err)
		}
		m.Layers = append(m.Layers, l)
		in = l.Outputs[0]
	}
	m.Outputs = []string{in}
	return m
}

func benchWrite(b *testing.B, n, w int, write func(string, *model.Model) error, ext string) {
	m := denseStack(b, n, w)
	path := filepath.Join(b.TempDir(), "m"+ext)
	b.SetBytes(int64(4 * n * (w*w + w)))
	for b.Loop() {
		if err := write(path, m); err != nil {
			b.Fatal(err)
		}
	}
}

// 4 layers of 512: 4 MiB of weights; 4 of 2560: 100 MiB.
func BenchmarkWriteH5_4MB(b *testing.B)      { benchWrite(b, 4, 512, WriteH5, ".h5") }
func BenchmarkWriteKeras_4MB(b *testing.B)   { benchWrite(b, 4, 512, WriteKeras, ".keras") }
func BenchmarkWriteH5_100MB(b *testing.B)    { benchWrite(b, 4, 2560, WriteH5, ".h5") }
func BenchmarkWriteKeras_100MB(b *testing.B) { benchWrite(b, 4, 2560, WriteKeras, ".keras") }
