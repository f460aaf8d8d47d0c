package keras

import (
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func randData(rng *rand.Rand, n int, lo, hi float64) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return d
}

// kindsModel is a channels-last Sequential stack of kinds the shared
// fixtures lack, built with package layers and tf.keras 2.13 configs:
// Conv2D (same, stride 2), DepthwiseConv2D (multiplier 2), BatchNormalization
// without center, PReLU with shared axes, MaxPooling2D, Flatten, Dense.
func kindsModel(t *testing.T) *model.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 5))
	must := func(l *model.Layer, err error) *model.Layer {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	common := func(name, in, cfg string) layers.Common {
		return layers.Common{Name: name, Inputs: []string{in}, Trainable: true, Config: []byte(cfg)}
	}
	init := `{"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}`
	zeros := `{"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}`
	ones := `{"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}`
	var ls []*model.Layer
	conv := must(layers.Conv(layers.ConvSpec{
		Common:       common("conv2d", "x", `{"name": "conv2d", "trainable": true, "dtype": "float32", "filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true, "kernel_initializer": `+init+`, "bias_initializer": `+zeros+`, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}`),
		InputSpatial: []int{9, 9}, InChannels: 2, Filters: 4, KernelSize: []int{3, 3}, Strides: []int{2, 2}, Dilation: []int{1, 1},
		Padding: "same", Activation: "relu", UseBias: true, Kernel: randData(rng, 3*3*2*4, -1, 1), Bias: randData(rng, 4, -1, 1),
	}))
	ls = append(ls, conv)
	dw := must(layers.DepthwiseConv2D(layers.DepthwiseConvSpec{
		Common:       common("depthwise_conv2d", conv.Outputs[0], `{"name": "depthwise_conv2d", "trainable": true, "dtype": "float32", "kernel_size": [2, 2], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": true, "bias_initializer": `+zeros+`, "bias_regularizer": null, "activity_regularizer": null, "bias_constraint": null, "depth_multiplier": 2, "depthwise_initializer": `+init+`, "depthwise_regularizer": null, "depthwise_constraint": null}`),
		InputSpatial: []int{5, 5}, InChannels: 4, DepthMultiplier: 2, KernelSize: []int{2, 2}, Strides: []int{1, 1}, Dilation: []int{1, 1},
		Padding: "valid", UseBias: true, Kernel: randData(rng, 2*2*4*2, -1, 1), Bias: randData(rng, 8, -1, 1),
	}))
	ls = append(ls, dw)
	bn := must(layers.BatchNormalization(layers.BatchNormSpec{
		Common: common("batch_normalization", dw.Outputs[0], `{"name": "batch_normalization", "trainable": false, "dtype": "float32", "axis": [3], "momentum": 0.99, "epsilon": 0.001, "center": false, "scale": true, "beta_initializer": `+zeros+`, "gamma_initializer": `+ones+`, "moving_mean_initializer": `+zeros+`, "moving_variance_initializer": `+ones+`, "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null}`),
		Rank:   4, Channels: 8, Epsilon: 1e-3, Momentum: 0.99, Scale: true,
		Gamma: randData(rng, 8, 0.5, 1.5), MovingMean: randData(rng, 8, -1, 1), MovingVariance: randData(rng, 8, 0.5, 2),
	}))
	bn.SetTrainable(false)
	ls = append(ls, bn)
	pr := must(layers.PReLU(layers.PReLUSpec{
		Common:     common("p_re_lu", bn.Outputs[0], `{"name": "p_re_lu", "trainable": true, "dtype": "float32", "alpha_initializer": `+zeros+`, "alpha_regularizer": null, "alpha_constraint": null, "shared_axes": [1, 2]}`),
		AlphaShape: []int{1, 1, 8}, Alpha: randData(rng, 8, 0, 0.5),
	}))
	ls = append(ls, pr)
	pool := must(layers.Pooling(layers.PoolSpec{
		Common: common("max_pooling2d", pr.Outputs[0], `{"name": "max_pooling2d", "trainable": true, "dtype": "float32", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}`),
		Max:    true, InputSpatial: []int{4, 4}, PoolSize: []int{2, 2}, Strides: []int{2, 2}, Padding: "valid",
	}))
	ls = append(ls, pool)
	fl := must(layers.Flatten(common("flatten", pool.Outputs[0], `{"name": "flatten", "trainable": true, "dtype": "float32", "data_format": "channels_last"}`)))
	ls = append(ls, fl)
	de := must(layers.Dense(layers.DenseSpec{Name: "dense", Input: fl.Outputs[0], InFeatures: 32, Units: 3, Activation: "softmax",
		UseBias: true, Trainable: true, Kernel: randData(rng, 32*3, -1, 1), Bias: randData(rng, 3, -1, 1)}))
	ls = append(ls, de)
	m := &model.Model{Name: "kinds", Opset: model.DefaultOpset, Sequential: true, Layers: ls, Meta: map[string]string{},
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 9, 9, 2}}}, Outputs: de.Outputs}
	if err := m.Validate(); err != nil {
		t.Fatalf("kinds model: %v", err)
	}
	return m
}

// TestKinds round-trips kinds the shared fixtures do not have; weight order
// and names per kind (depthwise_kernel, BN without beta, PReLU alpha) must
// survive, and so must the predictions, bit for bit.
func TestKinds(t *testing.T) {
	m := kindsModel(t)
	for _, w := range writers {
		t.Run(w.ext, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kinds"+w.ext)
			if err := w.write(path, m); err != nil {
				t.Fatalf("write = %v", err)
			}
			got, err := kin.ReadFile(path, kin.Options{})
			if err != nil {
				t.Fatalf("importers/keras.ReadFile = %v", err)
			}
			sameModel(t, got, m)
		})
	}
}

// TestKerasConfigForKeras3 checks the conversions Keras 3's constructors
// need on tf.keras 2 configs: BatchNormalization axis [3] becomes 3,
// DepthwiseConv2D loses groups, dtype becomes a DTypePolicy; and the .h5
// keeps tf.keras 2's forms.
func TestKerasConfigForKeras3(t *testing.T) {
	m := kindsModel(t)
	dir := t.TempDir()
	kz, h5 := filepath.Join(dir, "k.keras"), filepath.Join(dir, "k.h5")
	if err := WriteKeras(kz, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteH5(h5, m); err != nil {
		t.Fatal(err)
	}
	var kc map[string]any
	if err := json.Unmarshal(zipMembers(t, kz)[1].data, &kc); err != nil {
		t.Fatal(err)
	}
	hc := dumpH5(t, h5)[h5]["/"].Attrs["model_config"].Value.(map[string]any)
	find := func(c map[string]any, name string) map[string]any {
		for _, l := range c["config"].(map[string]any)["layers"].([]any) {
			lc := l.(map[string]any)["config"].(map[string]any)
			if lc["name"] == name {
				return lc
			}
		}
		t.Fatalf("layer %q not in config", name)
		return nil
	}
	if a := find(kc, "batch_normalization")["axis"]; a != 3.0 {
		t.Errorf(".keras batch_normalization axis = %v; want 3", a)
	}
	if a := find(hc, "batch_normalization")["axis"]; !reflect.DeepEqual(a, []any{3.0}) {
		t.Errorf(".h5 batch_normalization axis = %v; want [3]", a)
	}
	if _, ok := find(kc, "depthwise_conv2d")["groups"]; ok {
		t.Errorf(".keras depthwise_conv2d config has groups; Keras 3's DepthwiseConv2D refuses it")
	}
	if dt, ok := find(kc, "dense")["dtype"].(map[string]any); !ok || dt["class_name"] != "DTypePolicy" {
		t.Errorf(".keras dense dtype = %v; want a DTypePolicy object", find(kc, "dense")["dtype"])
	}
	if dt := find(hc, "dense")["dtype"]; dt != "float32" {
		t.Errorf(".h5 dense dtype = %v; want \"float32\"", dt)
	}
	if tr := find(hc, "batch_normalization")["trainable"]; tr != false {
		t.Errorf(".h5 batch_normalization trainable = %v; want false", tr)
	}
}
