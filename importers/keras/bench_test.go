package keras_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	kout "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// bigModel returns a Sequential model of units x units Dense layers whose
// float32 weights total about mb megabytes.
func bigModel(b *testing.B, mb int) *model.Model {
	const units = 2048 // 2048*2048*4 bytes = 16 MiB per kernel
	rng := rand.New(rand.NewSource(1))
	m := &model.Model{Name: "big", Opset: model.DefaultOpset, Sequential: true, Meta: map[string]string{},
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, units}}}}
	x := "x"
	for i := 0; i*units*units*4 < mb<<20; i++ {
		k := make([]float32, units*units)
		for j := range k {
			k[j] = float32(rng.NormFloat64() * 0.02)
		}
		l, err := layers.Dense(layers.DenseSpec{Name: "dense_" + string(rune('a'+i)), Input: x, InFeatures: units, Units: units,
			Activation: "relu", UseBias: true, Trainable: true, Kernel: k})
		if err != nil {
			b.Fatal(err)
		}
		m.Layers = append(m.Layers, l)
		x = l.Outputs[0]
	}
	m.Outputs = []string{x}
	return m
}

// benchmarkRead reports import throughput, bytes allocated per import
// (B/op: the weights themselves plus overhead) and the process's peak RSS.
func benchmarkRead(b *testing.B, ext string, write func(string, *model.Model) error) {
	path := filepath.Join(b.TempDir(), "big"+ext)
	if err := write(path, bigModel(b, 100)); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := keras.ReadFile(path, keras.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

func BenchmarkReadFileH5100MB(b *testing.B)    { benchmarkRead(b, ".h5", kout.WriteH5) }
func BenchmarkReadFileKeras100MB(b *testing.B) { benchmarkRead(b, ".keras", kout.WriteKeras) }
