package channelslast_test

import (
	"fmt"

	"github.com/xferml/xfer/channelslast"
	"github.com/xferml/xfer/model"
)

// A PyTorch-style CNN (channels-first: Conv, Relu, GlobalAveragePool,
// Flatten, Gemm) becomes channels-last Keras layers; the input is taken
// NHWC.
func ExampleConvert() {
	g := newGraph(3, 32, 32)
	c := g.add("Conv", attrs("pads", []int64{1, 1, 1, 1}, "strides", []int64{2, 2}), "x", p(8, 3, 3, 3), p(8))
	c = g.add("Relu", nil, c)
	c = g.add("GlobalAveragePool", nil, c)
	c = g.add("Flatten", nil, c)
	m := g.done(g.add("Gemm", attrs("transB", 1), c, p(10, 8), p(10)))

	k, layout, err := channelslast.Convert(m, channelslast.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range k.Layers {
		fmt.Println(l.Kind, paramShapes(l))
	}
	in := layout.Inputs[0]
	fmt.Printf("input %s: %v -> %v (transpose %v)\n", in.Name, in.Source, in.Shape, in.Perm)
	// Output:
	// ZeroPadding2D []
	// Conv2D [[3 3 3 8] [8]]
	// GlobalAveragePooling2D []
	// Dense [[8 10] [10]]
	// input x: [-1 3 32 32] -> [-1 32 32 3] (transpose [0 2 3 1])
}

func paramShapes(l *model.Layer) [][]int {
	s := [][]int{}
	for _, p := range l.Params {
		s = append(s, p.Shape)
	}
	return s
}
