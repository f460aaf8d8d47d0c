package surgery

import (
	"errors"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/model"
)

// runTo runs m on x up to value out.
func runTo(t *testing.T, m *model.Model, out string, x *model.Tensor) *model.Tensor {
	t.Helper()
	c := m.Clone()
	c.Outputs = []string{out}
	s, err := engine.New(c)
	if err != nil {
		t.Fatalf("engine.New(%s up to %s): %v", m.Name, out, err)
	}
	got, err := s.Run(map[string]*model.Tensor{c.Inputs[0].Name: x})
	if err != nil {
		t.Fatal(err)
	}
	return got[out]
}

// TestAddHeadPooling: --pool, --flatten and --dropout put Keras's
// transfer-learning layers before the Dense head; on the channels-first
// output of a PyTorch model the pooling is ONNX's GlobalAveragePool (the
// model's own, cut off), on a channels-last one Keras's.
func TestAddHeadPooling(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	cnn, err := onnx.ReadFile("../fixtures/torch/cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	// cnn: conv1 bn1 relu1 pool1 conv2 gap flatten fc; gap's [N 8 1 1]
	// flattened is what pooling conv2's [N 8 6 6] must give.
	x := randInput(rng, 3, 1, 28, 28)
	gap := runTo(t, cnn, cnn.Layers[6].Outputs[0], x) // flatten's output, [3 8]
	conv, err := DropHead(cnn, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	atGap, err := DropHead(cnn, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	// A channels-last output: [N 2 3 4] through a ReLU.
	relu := &model.Model{Name: "cl", Opset: model.DefaultOpset, Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2, 3, 4}}},
		Outputs: []string{"r"}, Layers: []*model.Layer{{Name: "re_lu", Kind: "ReLU", Trainable: true, Inputs: []string{"x"}, Outputs: []string{"r"},
			Nodes: []*model.Node{{Name: "re_lu/Relu", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"r"}}}}}}
	xl := randInput(rng, 2, 2, 3, 4)
	// The mean and max over the spatial axes 1 and 2, by hand.
	clMean, clMax := make([]float32, 2*4), make([]float32, 2*4)
	for n := range 2 {
		for c := range 4 {
			var sum float64
			hi := float32(0)
			for i := range 6 {
				v := max(xl.F32[n*24+i*4+c], 0)
				sum += float64(v)
				hi = max(hi, v)
			}
			clMean[n*4+c], clMax[n*4+c] = float32(sum/6), hi
		}
	}
	tests := []struct {
		name  string
		m     *model.Model
		spec  HeadSpec
		x     *model.Tensor
		kinds []string  // of the layers added
		want  []float32 // the Dense layer's input
	}{
		{"channels-first avg", conv, HeadSpec{Units: 3, Pool: "avg"}, x, []string{"ReduceMean", "Dense"}, gap.F32},
		{"channels-first flatten", atGap, HeadSpec{Units: 3, Flatten: true}, x, []string{"Flatten", "Dense"}, gap.F32},
		{"channels-last avg and dropout", relu, HeadSpec{Units: 3, Pool: "avg", Dropout: 0.2}, xl, []string{"GlobalAveragePooling2D", "Dropout", "Dense"}, clMean},
		{"channels-last max", relu, HeadSpec{Units: 3, Pool: "max"}, xl, []string{"GlobalMaxPooling2D", "Dense"}, clMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddHead(tt.m, tt.spec, rand.New(rand.NewSource(2)))
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, l := range got.Layers[len(tt.m.Layers):] {
				kinds = append(kinds, l.Kind)
			}
			if !slices.Equal(kinds, tt.kinds) {
				t.Fatalf("AddHead(%+v) added %v; want %v", tt.spec, kinds, tt.kinds)
			}
			dense := got.Layers[len(got.Layers)-1]
			in := runTo(t, got, dense.Inputs[0], tt.x)
			if len(in.F32) != len(tt.want) {
				t.Fatalf("the Dense layer's input has shape %v; want %d values", in.Shape, len(tt.want))
			}
			for i, w := range tt.want {
				if math.Abs(float64(in.F32[i]-w)) > 1e-5 {
					t.Fatalf("the Dense layer's input[%d] = %g; want %g", i, in.F32[i], w)
				}
			}
		})
	}
	for _, tt := range []struct {
		name string
		m    *model.Model
		spec HeadSpec
	}{
		{"pool a 2-D output", cnn, HeadSpec{Units: 1, Pool: "avg"}},
		{"unknown pooling", relu, HeadSpec{Units: 1, Pool: "mean"}},
		{"dropout 1", relu, HeadSpec{Units: 1, Pool: "avg", Dropout: 1}},
	} {
		if _, err := AddHead(tt.m, tt.spec, rand.New(rand.NewSource(2))); !errors.Is(err, ErrUsage) {
			t.Errorf("AddHead(%s) = %v; want ErrUsage", tt.name, err)
		}
	}
}
