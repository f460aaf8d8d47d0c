// Command bigh5 writes a large Keras .h5 for bench/import_export_100mb.sh: a
// Sequential model of Dense layers (units x units, ReLU, with bias) whose
// float32 weights total about -mb megabytes, with weights drawn from a fixed
// seed, through xfer's own Keras exporter.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	kout "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func main() {
	out := flag.String("o", "big.h5", "output .h5 path")
	mb := flag.Int("mb", 100, "approximate weight size in megabytes (10^6 bytes)")
	units := flag.Int("units", 2048, "units of every Dense layer (and input width)")
	flag.Parse()
	if err := run(*out, *mb, *units); err != nil {
		fmt.Fprintln(os.Stderr, "bigh5:", err)
		os.Exit(1)
	}
}

func run(out string, mb, units int) error {
	if mb < 1 || units < 1 {
		return fmt.Errorf("-mb and -units must be positive, got %d and %d", mb, units)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m := &model.Model{Name: "big", Opset: model.DefaultOpset, Sequential: true, Meta: map[string]string{},
		Inputs: []*model.Value{{Name: "input", DType: model.Float32, Shape: []int{-1, units}}}}
	x, bytes := "input", 0
	perLayer := 4 * (units*units + units) // float32 kernel and bias
	for i := 0; bytes+perLayer/2 < mb*1_000_000; i++ {
		k := make([]float32, units*units)
		for j := range k {
			k[j] = float32(rng.NormFloat64() * 0.02)
		}
		b := make([]float32, units)
		for j := range b {
			b[j] = float32(rng.NormFloat64() * 0.01)
		}
		l, err := layers.Dense(layers.DenseSpec{Name: fmt.Sprintf("dense_%d", i), Input: x, InFeatures: units, Units: units,
			Activation: "relu", UseBias: true, Trainable: true, Kernel: k, Bias: b})
		if err != nil {
			return err
		}
		m.Layers = append(m.Layers, l)
		x, bytes = l.Outputs[0], bytes+perLayer
	}
	m.Outputs = []string{x}
	if err := kout.WriteH5(out, m); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d Dense layers of %d units, %d params (%.1f MB of float32)\n", out, len(m.Layers), units, bytes/4, float64(bytes)/1e6)
	return nil
}
