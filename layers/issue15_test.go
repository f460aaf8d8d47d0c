package layers_test

import (
	"strings"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// TestIssue15Refusals: each builder refuses a bad spec with an error naming
// the layer (numbers are checked against real Keras in
// exporters/onnx TestKerasApps on importers/keras/testdata/keras3layers).
func TestIssue15Refusals(t *testing.T) {
	c := layers.Common{Name: "l", Inputs: []string{"x"}, Trainable: true}
	two := layers.Common{Name: "l", Inputs: []string{"x", "y"}, Trainable: true}
	add, _ := layers.LookupOperation("add")
	relu, _ := layers.LookupOperation("relu")
	cases := []struct {
		name  string
		build func() (*model.Layer, error)
		want  string
	}{
		{"normalization axis unsorted", func() (*model.Layer, error) {
			return layers.Normalization(layers.NormalizationSpec{Common: c, Rank: 3, Axis: []int{2, 1}, Shape: []int{2, 2}, Mean: make([]float32, 4), Variance: make([]float32, 4)})
		}, "sorted"},
		{"normalization stats count", func() (*model.Layer, error) {
			return layers.Normalization(layers.NormalizationSpec{Common: c, Rank: 3, Axis: []int{2}, Shape: []int{3}, Mean: make([]float32, 2), Variance: make([]float32, 3)})
		}, "needs 3 means"},
		{"separable 3-D", func() (*model.Layer, error) {
			return layers.SeparableConv(layers.SeparableConvSpec{Common: c, InChannels: 2, Filters: 2, KernelSize: []int{3, 3, 3}})
		}, "1-D or 2-D"},
		{"separable padding", func() (*model.Layer, error) {
			return layers.SeparableConv(layers.SeparableConvSpec{Common: c, InChannels: 2, Filters: 2, KernelSize: []int{3, 3}, Padding: "full"})
		}, "padding"},
		{"embedding dims", func() (*model.Layer, error) {
			return layers.Embedding(layers.EmbeddingSpec{Common: c, InputDim: 0, OutputDim: 4})
		}, "positive input_dim"},
		{"operation arity", func() (*model.Layer, error) {
			return layers.OperationLayer(layers.OperationSpec{Common: c, Kind: "ops.Add", Op: add, Args: []layers.OpArg{{Input: 0}}})
		}, "takes 2 argument"},
		{"operation unused input", func() (*model.Layer, error) {
			return layers.OperationLayer(layers.OperationSpec{Common: two, Kind: "ops.Relu", Op: relu, Args: []layers.OpArg{{Input: 0}}})
		}, "does not use all"},
		{"cropping negative", func() (*model.Layer, error) {
			return layers.Cropping(layers.CroppingSpec{Common: c, Cropping: [][2]int{{1, -1}}})
		}, "negative"},
		{"upsampling bicubic", func() (*model.Layer, error) {
			return layers.UpSampling(layers.UpSamplingSpec{Common: c, Size: []int{2, 2}, Interpolation: "bicubic"})
		}, "bicubic"},
		{"conv transpose output_padding", func() (*model.Layer, error) {
			return layers.ConvTranspose(layers.ConvTransposeSpec{Common: c, InChannels: 2, Filters: 2, KernelSize: []int{3}, Strides: []int{2}, Padding: "valid", OutputPadding: []int{2}})
		}, "output_padding 2"},
		{"recurrent activation", func() (*model.Layer, error) {
			return layers.Recurrent(layers.RecurrentSpec{Common: c, Kind: "LSTM", InFeatures: 3, Units: 2, Activation: "gelu", RecurrentActivation: "sigmoid"})
		}, `"gelu"`},
		{"bidirectional mismatch", func() (*model.Layer, error) {
			f := layers.RecurrentSpec{Kind: "GRU", InFeatures: 3, Units: 2, Activation: "tanh", RecurrentActivation: "sigmoid"}
			r := f
			r.Units = 3
			r.GoBackwards = true
			return layers.Bidirectional(layers.BidirectionalSpec{Common: c, Forward: f, Backward: r, MergeMode: "concat"})
		}, "same units"},
		{"bidirectional merge none", func() (*model.Layer, error) {
			f := layers.RecurrentSpec{Kind: "GRU", InFeatures: 3, Units: 2, Activation: "tanh", RecurrentActivation: "sigmoid"}
			r := f
			r.GoBackwards = true
			return layers.Bidirectional(layers.BidirectionalSpec{Common: c, Forward: f, Backward: r, MergeMode: ""})
		}, "merge_mode"},
		{"operation bad constant", func() (*model.Layer, error) {
			return layers.OperationLayer(layers.OperationSpec{Common: c, Kind: "ops.Add", Op: add, Args: []layers.OpArg{{Input: 0}, {Input: -1, Const: []float32{1, 2}, Shape: []int{3}}}})
		}, "constant argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.build()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `layer "l"`) {
				t.Errorf("error = %v; want one naming layer \"l\" and containing %q", err, tc.want)
			}
		})
	}
}

// TestNormalizationValues checks y = (x - mean) / max(sqrt(var), 1e-7) and
// its invert on values worked by hand (Keras's Normalization.call).
func TestNormalizationValues(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	mean, variance := []float32{1, 2, 3}, []float32{4, 0, 0.25}
	cases := []struct {
		invert bool
		want   []float64
	}{
		// (1-1)/2, (2-2)/1e-7, (3-3)/0.5; (4-1)/2, (5-2)/1e-7, (6-3)/0.5
		{false, []float64{0, 0, 0, 1.5, 3e7, 6}},
		// 1 + 1*2, 2 + 2e-7, 3 + 3*0.5; ...
		{true, []float64{3, 2.0000002, 4.5, 9, 2.0000005, 6}},
	}
	for _, tc := range cases {
		l, err := layers.Normalization(layers.NormalizationSpec{Common: layers.Common{Name: "n", Inputs: []string{"x"}}, Rank: 2,
			Axis: []int{1}, Shape: []int{3}, Mean: mean, Variance: variance, Invert: tc.invert, Adapted: true})
		if err != nil {
			t.Fatal(err)
		}
		if tot, tr, nt := l.ParamCounts(); tot != 7 || tr != 0 || nt != 7 {
			t.Errorf("ParamCounts = %d, %d, %d; want 7, 0, 7 (mean, variance, count, all non-trainable as in Keras)", tot, tr, nt)
		}
		checkClose(t, "normalization", run(t, l, [][]int{{2, 3}}, x).F32, tc.want)
	}
}

// TestOperationLookup: Keras 3 classes, TensorFlow functions and aliases
// name the same operations.
func TestOperationLookup(t *testing.T) {
	for name, want := range map[string]string{
		"Add": "add", "__operators__.add": "add", "math.add": "add", "TrueDivide": "divide", "math.truediv": "divide",
		"Relu6": "relu6", "nn.relu6": "relu6", "Absolute": "abs", "nn.swish": "silu", "HardSilu": "hard_silu",
	} {
		if op, ok := layers.LookupOperation(name); !ok || op.Name != want {
			t.Errorf("LookupOperation(%q) = %q, %v; want %q", name, op.Name, ok, want)
		}
	}
	if _, ok := layers.LookupOperation("math.cumsum"); ok {
		t.Errorf("LookupOperation(math.cumsum) found an operation; want none")
	}
	if !layers.IsOperation("ops.Add") || layers.IsOperation("Add") || layers.IsOperation("TFOpLambda") {
		t.Errorf("IsOperation: want true for ops.Add only")
	}
}
