package layers_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/xferml/xfer/layers"
)

func TestBatchNormalization(t *testing.T) {
	spec := func(rank int, center, scale bool) layers.BatchNormSpec {
		return layers.BatchNormSpec{
			Common: layers.Common{Name: "bn", Inputs: []string{"x"}, Trainable: true}, Rank: rank, Channels: 2,
			Epsilon: 0.01, Momentum: 0.9, Center: center, Scale: scale,
			Gamma: []float32{2, 3}, Beta: []float32{0.5, -1}, MovingMean: []float32{1, -1}, MovingVariance: []float32{4, 0.25},
		}
	}
	// y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel (last axis).
	ref := func(x []float32, center, scale bool) []float64 {
		g, b := []float64{2, 3}, []float64{0.5, -1}
		mean, v := []float64{1, -1}, []float64{4, 0.25}
		out := make([]float64, len(x))
		for i, xv := range x {
			c := i % 2
			y := (float64(xv) - mean[c]) / math.Sqrt(v[c]+0.01)
			if scale {
				y *= g[c]
			}
			if center {
				y += b[c]
			}
			out[i] = y
		}
		return out
	}
	x := []float32{0, 1, 2, 3, -4, 5, 6, -7}
	cases := []struct {
		name          string
		rank          int
		shape         []int
		center, scale bool
		ops           []string
		params        int
	}{
		{"dense", 2, []int{4, 2}, true, true, []string{"BatchNormalization"}, 4},
		{"conv1d", 3, []int{2, 2, 2}, true, true, []string{"Transpose", "BatchNormalization", "Transpose"}, 4},
		{"conv2d", 4, []int{1, 2, 2, 2}, true, true, []string{"Transpose", "BatchNormalization", "Transpose"}, 4},
		{"no center", 2, []int{4, 2}, false, true, []string{"BatchNormalization"}, 3},
		{"no scale", 2, []int{4, 2}, true, false, []string{"BatchNormalization"}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := layers.BatchNormalization(spec(c.rank, c.center, c.scale))
			if err != nil {
				t.Fatal(err)
			}
			if !equalOps(ops(l), c.ops...) || len(l.Params) != c.params {
				t.Errorf("ops %v, %d params; want %v, %d", ops(l), len(l.Params), c.ops, c.params)
			}
			n := nodeOf(t, l, "BatchNormalization")
			if n.AttrFloat("epsilon", 0) != 0.01 || n.AttrFloat("momentum", 0) != 0.9 {
				t.Errorf("attrs %v; want epsilon 0.01 momentum 0.9", n.Attrs)
			}
			for _, p := range l.Params {
				state := p.Role == "moving_mean" || p.Role == "moving_variance"
				if p.State != state || p.Trainable == state {
					t.Errorf("param %s: State %v Trainable %v", p.Name, p.State, p.Trainable)
				}
			}
			got := run(t, l, [][]int{c.shape}, x)
			checkClose(t, c.name, got.F32, ref(x, c.center, c.scale))
		})
	}
	bad := spec(1, true, true)
	if _, err := layers.BatchNormalization(bad); err == nil {
		t.Errorf("BatchNormalization(rank 1) succeeded; want an error")
	}
}

func TestBatchNormConfig(t *testing.T) {
	// Keras's defaults: axis -1, epsilon 1e-3, momentum 0.99, center and scale.
	def := layers.BatchNormOptions{Axes: []int{-1}, Epsilon: 1e-3, Momentum: 0.99, Center: true, Scale: true}
	cases := []struct {
		name, cfg string
		want      layers.BatchNormOptions
		key, msg  string // "": no error; else the *ConfigError's key and text
	}{
		{"no config", "", def, "", ""},
		{"defaults", `{"name": "lay"}`, def, "", ""},
		{"Keras 3", `{"axis": 3, "epsilon": 0.002, "momentum": 0.9, "center": false, "scale": true}`,
			layers.BatchNormOptions{Axes: []int{3}, Epsilon: 0.002, Momentum: 0.9, Scale: true}, "", ""},
		{"tf.keras 2 list", `{"axis": [1], "momentum": 0.99, "scale": false}`,
			layers.BatchNormOptions{Axes: []int{1}, Epsilon: 1e-3, Momentum: 0.99, Center: true}, "", ""},
		{"two axes", `{"axis": [1, 2]}`, layers.BatchNormOptions{Axes: []int{1, 2}, Epsilon: 1e-3, Momentum: 0.99, Center: true, Scale: true}, "", ""},
		{"axis null", `{"axis": null, "epsilon": null}`, def, "", ""},

		{"bad axis", `{"axis": "last"}`, def, "axis", `not an integer or a list of integers: "last"`},
		{"bad epsilon", `{"epsilon": [0.001]}`, def, "epsilon", "not a number: [0.001]"},
		{"bad momentum", `{"momentum": "0.99"}`, def, "momentum", `not a number: "0.99"`},
		{"bad center", `{"center": 1}`, def, "center", "not a boolean: 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := layers.BatchNormConfig(configLayer("BatchNormalization", c.cfg))
			if c.key != "" {
				checkConfigErr(t, "BatchNormConfig", err, layers.ErrKerasFormat, c.key, c.msg)
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("BatchNormConfig(%s) = %+v, %v; want %+v", c.cfg, got, err, c.want)
			}
		})
	}
	if _, err := layers.BatchNormConfig(configLayer("Dense", `{}`)); err == nil {
		t.Error("BatchNormConfig(Dense) succeeded; want an error")
	}
}

// TestBatchNormConfigRoundTrip: what the builder writes, BatchNormConfig
// reads back; momentum 0.99 as the float32 the spec holds, written as its
// shortest decimal, is the Python float 0.99 again.
func TestBatchNormConfigRoundTrip(t *testing.T) {
	l, err := layers.BatchNormalization(layers.BatchNormSpec{Common: layers.Common{Name: "bn", Inputs: []string{"x"}, Trainable: true},
		Rank: 4, Channels: 3, Epsilon: 1e-3, Momentum: 0.99, Center: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := layers.BatchNormConfig(l)
	want := layers.BatchNormOptions{Axes: []int{3}, Epsilon: 1e-3, Momentum: 0.99, Center: true}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("BatchNormConfig(BatchNormalization(...)) = %+v, %v; want %+v", got, err, want)
	}
}
