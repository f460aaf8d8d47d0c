package keras

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// attentionScript has real Keras write a transformer-encoder-like model:
// self-attention mha(x, x), cross-attention with a key mha(q, v, k) without
// bias and with another value_dim and output_shape, and a Rescaling whose
// offset is an array (a position embedding); with random weights, in both
// formats, with its input and prediction.
const attentionScript = `
import sys, numpy as np, keras
from keras import layers as L
keras.utils.set_random_seed(11)
x = keras.Input((5, 8))
p = L.Rescaling(1.0, offset=np.random.default_rng(1).normal(size=(5, 8)).astype("float32").tolist())(x)
a = L.MultiHeadAttention(num_heads=2, key_dim=4, name="self_attention")(p, p)
y = L.Add()([p, a])
q = L.Dense(6)(y)
b = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5, use_bias=False, output_shape=7, name="cross")(q, y, p)
m = keras.Model(x, b)
for w in m.weights:
    w.assign(np.random.default_rng(len(w.path)).normal(0, 0.5, w.shape).astype("float32"))
xs = np.random.default_rng(2).normal(size=(2, 5, 8)).astype("float32")
out = sys.argv[1]
m.save(out + ".keras"); m.save(out + ".h5")
np.save(out + "_x.npy", xs); np.save(out + "_y.npy", m.predict(xs, verbose=0))
`

// TestMultiHeadAttentionFromKeras reads MultiHeadAttention layers that real
// Keras 3 wrote (.keras and .h5) and checks xfer's predictions against
// Keras's.
func TestMultiHeadAttentionFromKeras(t *testing.T) {
	kp := peers.KerasRuntime(t, "reading Keras-written MultiHeadAttention layers")
	base := filepath.Join(t.TempDir(), "mha")
	kp.Run(t, attentionScript, base)
	x, err := tensorio.ReadFile(base + "_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile(base + "_y.npy")
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".keras", ".h5"} {
		t.Run(ext, func(t *testing.T) {
			m, err := ReadFile(base+ext, Options{})
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			s, err := engine.New(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.F32) != len(want.F32) {
				t.Fatalf("prediction shape %v; Keras %v", got.Shape, want.Shape)
			}
			for i := range want.F32 {
				// atol 1e-5 + rtol 1e-4: float32 sums in another order.
				if d := math.Abs(float64(got.F32[i] - want.F32[i])); d > 1e-5+1e-4*math.Abs(float64(want.F32[i])) {
					t.Fatalf("prediction [%d] = %g; Keras %g", i, got.F32[i], want.F32[i])
				}
			}
			var kinds []string
			for _, l := range m.Layers {
				kinds = append(kinds, l.Kind)
			}
			if !slices.Equal(kinds, []string{"InputLayer", "Rescaling", "MultiHeadAttention", "Add", "Dense", "MultiHeadAttention"}) {
				t.Errorf("layer kinds %v; want InputLayer Rescaling MultiHeadAttention Add Dense MultiHeadAttention", kinds)
			}
		})
	}
}

// TestMultiHeadAttentionTF2Call reads mha(query, value) in the form tf.keras
// 2.13 writes (keras-team/tf-keras: tf_keras/engine/node.py serializes the
// first argument as the input and the others as keyword arguments, tensors
// as [layer, node, tensor]) and in Keras 3's (positional keras tensors):
// the layer reads the query and the value in that order either way.
func TestMultiHeadAttentionTF2Call(t *testing.T) {
	const head = `{"class_name": "Functional", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3, 4], "dtype": "float32", "name": "q"}, "name": "q", "inbound_nodes": []},
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 2, 6], "dtype": "float32", "name": "v"}, "name": "v", "inbound_nodes": []},
 {"class_name": "MultiHeadAttention", "config": {"name": "mha", "trainable": true, "dtype": "float32", "num_heads": 2, "key_dim": 3, "value_dim": 3, "dropout": 0.0, "use_bias": false, "output_shape": null, "attention_axes": [1]}, "name": "mha", "inbound_nodes": `
	const tail = `}], "input_layers": [["q", 0, 0], ["v", 0, 0]], "output_layers": [["mha", 0, 0]]}}`
	calls := map[string]string{
		"tf.keras 2": `[[["q", 0, 0, {"value": ["v", 0, 0]}]]]`,
		"Keras 3": `[{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 3, 4], "dtype": "float32", "keras_history": ["q", 0, 0]}}, ` +
			`{"class_name": "__keras_tensor__", "config": {"shape": [null, 2, 6], "dtype": "float32", "keras_history": ["v", 0, 0]}}], "kwargs": {}}]`,
	}
	w := func(name string, shape ...int) weight {
		return weight{name: "mha/" + name + ":0", shape: shape, data: make([]float32, model.NumElements(shape))}
	}
	ws := memWeights{"mha": {w("query/kernel", 4, 2, 3), w("key/kernel", 6, 2, 3), w("value/kernel", 6, 2, 3), w("attention_output/kernel", 2, 3, 4)}}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			m, err := build([]byte(head+call+tail), ws, map[string]string{"keras_version": "2.13.1"})
			if err != nil {
				t.Fatalf("build = %v", err)
			}
			l := m.Layers[len(m.Layers)-1]
			if l.Kind != "MultiHeadAttention" || !slices.Equal(l.Inputs, []string{m.Inputs[0].Name, m.Inputs[1].Name}) {
				t.Errorf("layer %s %s reads %v; want MultiHeadAttention reading %s, %s", l.Name, l.Kind, l.Inputs, m.Inputs[0].Name, m.Inputs[1].Name)
			}
			if got := l.Param("attention_output/kernel"); got == nil || !slices.Equal(got.Shape, []int{2, 3, 4}) {
				t.Errorf("attention_output/kernel = %v; want shape [2 3 4]", got)
			}
		})
	}
}
