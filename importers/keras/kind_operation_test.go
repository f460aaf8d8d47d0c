package keras

import (
	"errors"
	"strings"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// tfOpModel is a tf.keras 2.13 model_config with TFOpLambda layers in the
// form tf_keras's Node.serialize writes (keras-team/tf-keras:
// tf_keras/engine/node.py): the first argument is the inbound tensor, or
// ["_CONSTANT_VALUE", -1, value, kwargs] for a constant; the others are
// keyword arguments, tensors among them as [layer, node, tensor].
const tfOpModel = `{"class_name": "Functional", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "dtype": "float32", "name": "x"}, "name": "x", "inbound_nodes": []},
 {"class_name": "TFOpLambda", "config": {"name": "tf.__operators__.add", "trainable": true, "dtype": "float32", "function": "__operators__.add"}, "name": "tf.__operators__.add", "inbound_nodes": [[["x", 0, 0, {"y": 3.0, "name": null}]]]},
 {"class_name": "TFOpLambda", "config": {"name": "tf.math.multiply", "trainable": true, "dtype": "float32", "function": "math.multiply"}, "name": "tf.math.multiply", "inbound_nodes": [[["tf.__operators__.add", 0, 0, {"y": 0.5, "name": null}]]]},
 {"class_name": "TFOpLambda", "config": {"name": "tf.math.subtract", "trainable": true, "dtype": "float32", "function": "math.subtract"}, "name": "tf.math.subtract", "inbound_nodes": [[["_CONSTANT_VALUE", -1, 1.0, {"y": ["tf.math.multiply", 0, 0], "name": null}]]]},
 {"class_name": "TFOpLambda", "config": {"name": "tf.math.maximum", "trainable": true, "dtype": "float32", "function": "math.maximum"}, "name": "tf.math.maximum", "inbound_nodes": [[["tf.math.subtract", 0, 0, {"y": ["x", 0, 0], "name": null}]]]},
 {"class_name": "TFOpLambda", "config": {"name": "tf.math.truediv", "trainable": true, "dtype": "float32", "function": "math.truediv"}, "name": "tf.math.truediv", "inbound_nodes": [[["tf.math.maximum", 0, 0, {"y": [1.0, 2.0, 4.0], "name": null}]]]},
 {"class_name": "TFOpLambda", "config": {"name": "tf.nn.relu6", "trainable": true, "dtype": "float32", "function": "nn.relu6"}, "name": "tf.nn.relu6", "inbound_nodes": [[["tf.math.truediv", 0, 0, {"name": null}]]]}
 ], "input_layers": [["x", 0, 0]], "output_layers": [["tf.nn.relu6", 0, 0]]}, "keras_version": "2.13.1", "backend": "tensorflow"}`

// TestTFOpLambda reads TFOpLambda layers and computes what TensorFlow's
// functions give on values worked by hand.
func TestTFOpLambda(t *testing.T) {
	m, err := build([]byte(tfOpModel), memWeights{}, map[string]string{"keras_version": "2.13.1"})
	if err != nil {
		t.Fatalf("build = %v", err)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	s, err := engine.New(m)
	if err != nil {
		t.Fatal(err)
	}
	x := &model.Tensor{DType: model.Float32, Shape: []int{1, 3}, F32: []float32{-2, 0, 13}}
	got, err := s.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	// x + 3 = [1 3 16]; * 0.5 = [0.5 1.5 8]; 1 - that = [0.5 -0.5 -7];
	// max(that, x) = [0.5 0 13]; / [1 2 4] = [0.5 0 3.25]; relu6 = [0.5 0 3.25].
	want := []float32{0.5, 0, 3.25}
	for i, w := range want {
		if got.F32[i] != w {
			t.Errorf("prediction = %v; want %v", got.F32, want)
			break
		}
	}
	for _, l := range m.Layers[1:] {
		if l.Kind != "TFOpLambda" {
			t.Errorf("layer %s kind %s; want TFOpLambda", l.Name, l.Kind)
		}
	}
}

func TestOperationRefusals(t *testing.T) {
	op := func(fn, kwargs string) string {
		return strings.Replace(strings.Replace(`{"class_name": "Functional", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "name": "x"}, "name": "x", "inbound_nodes": []},
 {"class_name": "TFOpLambda", "config": {"name": "t", "function": "FN"}, "name": "t", "inbound_nodes": [[["x", 0, 0, KW]]]}
 ], "input_layers": [["x", 0, 0]], "output_layers": [["t", 0, 0]]}}`, "FN", fn, 1), "KW", kwargs, 1)
	}
	cases := []struct {
		name, cfg string
		msg       []string
	}{
		{"unknown function", op("math.cumsum", `{"name": null}`), []string{`"t"`, `"math.cumsum"`, "__operators__.add"}},
		{"extra keyword", op("math.multiply", `{"y": 2.0, "transpose_a": true}`), []string{`"t"`, `"transpose_a"`}},
		{"string constant", op("math.multiply", `{"y": "two"}`), []string{`"t"`, "argument y"}},
		{"keras 3 op unknown", `{"class_name": "Functional", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 3], "name": "x"}, "name": "x", "inbound_nodes": []},
 {"module": "keras.src.ops.numpy", "class_name": "Cumsum", "config": {"name": "c"}, "registered_name": "Cumsum", "name": "c", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32", "keras_history": ["x", 0, 0]}}], "kwargs": {}}]}
 ], "input_layers": ["x", 0, 0], "output_layers": ["c", 0, 0]}}`, []string{`"c"`, "keras.src.ops.numpy.Cumsum", "add"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build([]byte(tc.cfg), memWeights{}, map[string]string{})
			if !errors.Is(err, model.ErrUnsupported) {
				t.Fatalf("build = %v; want model.ErrUnsupported", err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}

// TestRecurrentRefusals: Keras features with no faithful lowering are one
// clear error naming the layer and class.
func TestRecurrentRefusals(t *testing.T) {
	fn := func(layer string) string {
		return `{"class_name": "Functional", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 5, 3], "name": "x"}, "name": "x", "inbound_nodes": []},
 ` + layer + `], "input_layers": [["x", 0, 0]], "output_layers": [["r", 0, 0]]}}`
	}
	lstm := func(extra string) string {
		return `{"class_name": "LSTM", "config": {"name": "r", "units": 2` + extra + `}, "name": "r", "inbound_nodes": [[["x", 0, 0, {}]]]}`
	}
	w := memWeights{"r": {
		{name: "k", shape: []int{3, 8}, data: make([]float32, 24)},
		{name: "rk", shape: []int{2, 8}, data: make([]float32, 16)},
		{name: "b", shape: []int{8}, data: make([]float32, 8)},
	}}
	cases := []struct {
		name, cfg string
		msg       []string
	}{
		{"return_state", fn(lstm(`, "return_state": true`)), []string{`"r"`, "LSTM", "return_state"}},
		{"stateful", fn(lstm(`, "stateful": true`)), []string{`"r"`, "stateful"}},
		{"activation", fn(lstm(`, "activation": "gelu"`)), []string{`"r"`, `"gelu"`}},
		{"merge none", fn(`{"class_name": "Bidirectional", "config": {"name": "r", "merge_mode": null, "layer": {"class_name": "LSTM", "config": {"name": "f", "units": 2}}}, "name": "r", "inbound_nodes": [[["x", 0, 0, {}]]]}`), []string{`"r"`, "merge_mode None"}},
		{"wraps dense", fn(`{"class_name": "Bidirectional", "config": {"name": "r", "layer": {"class_name": "Dense", "config": {"name": "f", "units": 2}}}, "name": "r", "inbound_nodes": [[["x", 0, 0, {}]]]}`), []string{`"r"`, "Dense"}},
		{"mask_zero", `{"class_name": "Functional", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 5], "name": "x"}, "name": "x", "inbound_nodes": []},
 {"class_name": "Embedding", "config": {"name": "r", "input_dim": 4, "output_dim": 2, "mask_zero": true}, "name": "r", "inbound_nodes": [[["x", 0, 0, {}]]]}
 ], "input_layers": [["x", 0, 0]], "output_layers": [["r", 0, 0]]}}`, []string{`"r"`, "Embedding", "mask_zero"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build([]byte(tc.cfg), w, map[string]string{})
			if !errors.Is(err, model.ErrUnsupported) {
				t.Fatalf("build = %v; want model.ErrUnsupported", err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}
