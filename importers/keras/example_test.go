package keras_test

import (
	"fmt"
	"log"

	"github.com/xferml/xfer/importers/keras"
)

func ExampleReadFile() {
	// A Keras 2.13 Functional model (written by testdata/gen.py).
	m, err := keras.ReadFile("testdata/kinds2d.h5", keras.Options{})
	if err != nil {
		log.Fatal(err)
	}
	total, trainable, nonTrainable := m.ParamCounts()
	fmt.Printf("%s from Keras %s: %d layers, %d params (%d trainable, %d non-trainable)\n",
		m.Name, m.Meta["keras_version"], len(m.Layers), total, trainable, nonTrainable)
	for _, l := range m.Layers[:5] {
		fmt.Printf("%-6s %-18s %d nodes\n", l.Name, l.Kind, len(l.Nodes))
	}

	// A weights-only file needs its config (model.to_json()).
	m, err = keras.ReadFile("testdata/kinds1d.weights.h5", keras.Options{ConfigPath: "testdata/kinds1d.json"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Name, "sequential:", m.Sequential, "input:", m.Inputs[0].Name, m.Inputs[0].Shape)
	// Output:
	// kinds2d from Keras 2.13.1: 13 layers, 367 params (351 trainable, 16 non-trainable)
	// input_1 InputLayer         0 nodes
	// zp     ZeroPadding2D      1 nodes
	// conv_a Conv2D             5 nodes
	// dw     DepthwiseConv2D    5 nodes
	// bn     BatchNormalization 3 nodes
	// kinds1d sequential: true input: c1_input [-1 10 3]
}
