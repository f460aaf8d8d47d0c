package layers_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// ExampleReadKeras reads a Dense layer from its Keras config and stored
// weights, as the Keras importer does for every layer of a file.
func ExampleReadKeras() {
	l, out, err := layers.ReadKeras(&layers.KerasEntry{
		Name: "dense", Class: "Dense", Major: 3,
		Config:   json.RawMessage(`{"name": "dense", "units": 2, "activation": "relu", "use_bias": true}`),
		Inputs:   []string{"x"},
		InShapes: [][]int{{-1, 3}},
		Weights: []layers.StoredWeight{
			{Name: "kernel", Shape: []int{3, 2}, Data: []float32{1, 2, 3, 4, 5, 6}},
			{Name: "bias", Shape: []int{2}, Data: []float32{0.5, -0.5}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Kind, out, len(l.Params), l.Param("kernel").Shape)
	_, _, err = layers.ReadKeras(&layers.KerasEntry{Name: "d", Class: "Dense", Config: json.RawMessage(`{"units": "two"}`), InShapes: [][]int{{-1, 3}}})
	fmt.Println(err)
	// Output:
	// Dense [-1 2] 2 [3 2]
	// keras: layer "d" (Dense): config "units": not an integer: "two"
}

// TestReadKerasErrors: a bad config, weight set or class is an error of
// the right kind naming the layer.
func TestReadKerasErrors(t *testing.T) {
	dense := func(cfg string, ws ...layers.StoredWeight) *layers.KerasEntry {
		return &layers.KerasEntry{Name: "d", Class: "Dense", Config: json.RawMessage(cfg), Inputs: []string{"x"}, InShapes: [][]int{{-1, 3}}, Weights: ws}
	}
	k := layers.StoredWeight{Name: "kernel", Shape: []int{3, 2}, Data: make([]float32, 6)}
	b := layers.StoredWeight{Name: "bias", Shape: []int{2}, Data: make([]float32, 2)}
	cases := []struct {
		name string
		e    *layers.KerasEntry
		is   error
		want string
	}{
		{"unknown class", &layers.KerasEntry{Name: "c", Class: "Capsule"}, model.ErrUnsupported, `layer class "Capsule"`},
		{"config not an object", dense(`[1]`), layers.ErrKerasFormat, "not a JSON object"},
		{"units not positive", dense(`{"units": 0}`), layers.ErrKerasFormat, `"units": must be positive`},
		{"weight missing", dense(`{"units": 2}`, k), layers.ErrKerasFormat, `weight "bias" is missing`},
		{"weight shape", dense(`{"units": 3}`, k, b), layers.ErrKerasFormat, "does not match the config's [3 3]"},
		{"weight extra", dense(`{"units": 2, "use_bias": false}`, k, b), layers.ErrKerasFormat, "stores 2 weights, the config needs 1"},
		{"custom activation", dense(`{"units": 2, "activation": {"class_name": "Mish"}}`, k, b), model.ErrUnsupported, `custom activation object "Mish"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := layers.ReadKeras(c.e)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ReadKeras = %v; want %v containing %q", err, c.is, c.want)
			}
			if !strings.Contains(err.Error(), `"`+c.e.Name+`"`) {
				t.Errorf("error %q does not name layer %q", err, c.e.Name)
			}
		})
	}
}

// FuzzReadKeras: any config and class give a layer or an error, never a
// panic.
func FuzzReadKeras(f *testing.F) {
	for _, s := range []struct{ class, cfg string }{
		{"Dense", `{"units": 2, "activation": "relu"}`},
		{"Conv2D", `{"filters": 2, "kernel_size": [3, 3], "strides": 2, "padding": "same"}`},
		{"BatchNormalization", `{"axis": -1, "epsilon": 0.001}`},
		{"LSTM", `{"units": 2, "return_sequences": true}`},
		{"Bidirectional", `{"layer": {"class_name": "GRU", "config": {"name": "g", "units": 2}}, "merge_mode": "sum"}`},
		{"Normalization", `{"axis": -1, "mean": [1, 2, 3], "variance": [1, 1, 1]}`},
		{"Reshape", `{"target_shape": [3, 1]}`},
	} {
		f.Add(s.class, s.cfg)
	}
	f.Fuzz(func(t *testing.T, class, cfg string) {
		ws := []layers.StoredWeight{
			{Name: "w0", Shape: []int{3, 2}, Data: make([]float32, 6)},
			{Name: "w1", Shape: []int{2}, Data: make([]float32, 2)},
		}
		for _, shape := range [][]int{{-1, 3}, {-1, 4, 3}, {-1, 5, 5, 3}} {
			e := &layers.KerasEntry{Name: "l", Class: class, Config: json.RawMessage(cfg), Inputs: []string{"x"}, InShapes: [][]int{shape}, Weights: ws, Major: 3}
			l, _, err := layers.ReadKeras(e)
			if err == nil && l == nil {
				t.Fatalf("ReadKeras(%s, %s) = nil layer and nil error", class, cfg)
			}
		}
	})
}

// TestConfigSetters: TrainableConfig and UseBiasConfig set their key in
// place, keeping the other keys' order, and write as Keras does (pyjson).
func TestConfigSetters(t *testing.T) {
	cases := []struct {
		name      string
		fn        func(*model.Layer) (json.RawMessage, error)
		trainable bool
		cfg, want string
	}{
		{"trainable", layers.TrainableConfig, false, `{"name":"d","trainable":true,"units":3}`, `{"name": "d", "trainable": false, "units": 3}`},
		// InputLayer: no key, not added (Keras refuses unknown keys there).
		{"trainable absent", layers.TrainableConfig, false, `{"name":"input_1","dtype":"float32"}`, `{"name":"input_1","dtype":"float32"}`},
		{"trainable no config", layers.TrainableConfig, false, ``, ``},
		{"use_bias", layers.UseBiasConfig, true, `{ "name": "d", "use_bias": false }`, `{"name": "d", "use_bias": true}`},
		{"use_bias absent", layers.UseBiasConfig, true, `{"name":"d"}`, `{"name": "d", "use_bias": true}`},
		{"use_bias empty", layers.UseBiasConfig, true, `{}`, `{"use_bias": true}`},
		{"use_bias no config", layers.UseBiasConfig, true, ``, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &model.Layer{Name: "lay", Kind: "Dense", Trainable: c.trainable, Config: json.RawMessage(c.cfg)}
			got, err := c.fn(l)
			if err != nil || string(got) != c.want {
				t.Fatalf("%s(%s) = %s, %v; want %s", c.name, c.cfg, got, err, c.want)
			}
			if string(l.Config) != c.cfg {
				t.Errorf("%s changed the layer's config to %s", c.name, l.Config)
			}
		})
	}
	for _, bad := range []string{`[1]`, `{"a":`, `"s"`} {
		for name, fn := range map[string]func(*model.Layer) (json.RawMessage, error){"TrainableConfig": layers.TrainableConfig, "UseBiasConfig": layers.UseBiasConfig} {
			_, err := fn(&model.Layer{Name: "lay", Kind: "Dense", Config: json.RawMessage(bad)})
			var ce *layers.ConfigError
			if !errors.As(err, &ce) || ce.Layer != "lay" || !errors.Is(err, layers.ErrKerasFormat) {
				t.Errorf("%s(%s) = %v; want a *ConfigError naming layer \"lay\"", name, bad, err)
			}
		}
	}
}
