package layers_test

import (
	"math"
	"slices"
	"testing"

	"github.com/xferml/xfer/layers"
)

// Reference definitions of the Keras activations, written from
// keras-team/keras:keras/src/activations/activations.py (Keras 3) and
// tf-keras's activations.py (Keras 2), in float64.
func sigmoid(x float64) float64  { return 1 / (1 + math.Exp(-x)) }
func softplus(x float64) float64 { return math.Log1p(math.Exp(x)) }
func relu6(x float64) float64    { return math.Min(math.Max(x, 0), 6) }

var reference = map[string]func(x float64) float64{
	"linear":      func(x float64) float64 { return x },
	"relu":        func(x float64) float64 { return math.Max(x, 0) },
	"sigmoid":     sigmoid,
	"tanh":        math.Tanh,
	"selu":        func(x float64) float64 { return 1.0507009873554805 * elu1(x, 1.6732632423543772) },
	"elu":         func(x float64) float64 { return elu1(x, 1) },
	"softplus":    softplus,
	"softsign":    func(x float64) float64 { return x / (1 + math.Abs(x)) },
	"exponential": math.Exp,
	// Keras 2: clip(0.2x + 0.5, 0, 1).
	"hard_sigmoid":        func(x float64) float64 { return math.Min(math.Max(0.2*x+0.5, 0), 1) },
	"keras3.hard_sigmoid": func(x float64) float64 { return relu6(x+3) / 6 },
	"keras3.hard_silu":    func(x float64) float64 { return x * relu6(x+3) / 6 },
	"keras3.hard_swish":   func(x float64) float64 { return x * relu6(x+3) / 6 },
	"hard_silu":           func(x float64) float64 { return x * relu6(x+3) / 6 },
	"hard_swish":          func(x float64) float64 { return x * relu6(x+3) / 6 },
	"swish":               func(x float64) float64 { return x * sigmoid(x) },
	"silu":                func(x float64) float64 { return x * sigmoid(x) },
	"gelu":                func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
	"relu6":               relu6,
	"leaky_relu":          func(x float64) float64 { return math.Max(x, 0.2*x) },
	"mish":                func(x float64) float64 { return x * math.Tanh(softplus(x)) },
	"log_sigmoid":         func(x float64) float64 { return -softplus(-x) },
	"hard_tanh":           func(x float64) float64 { return math.Min(math.Max(x, -1), 1) },
	"celu":                func(x float64) float64 { return math.Max(x, 0) + math.Min(0, math.Exp(x)-1) },
	"tanh_shrink":         func(x float64) float64 { return x - math.Tanh(x) },
	"squareplus":          func(x float64) float64 { return (x + math.Sqrt(x*x+4)) / 2 },
	"soft_shrink": func(x float64) float64 {
		switch {
		case x > 0.5:
			return x - 0.5
		case x < -0.5:
			return x + 0.5
		}
		return 0
	},
	"hard_shrink": func(x float64) float64 {
		if math.Abs(x) > 0.5 {
			return x
		}
		return 0
	},
	"sparse_plus": func(x float64) float64 {
		switch {
		case x <= -1:
			return 0
		case x >= 1:
			return x
		}
		return (x + 1) * (x + 1) / 4
	},
}

func elu1(x, a float64) float64 {
	if x > 0 {
		return x
	}
	return a * (math.Exp(x) - 1)
}

var probe = []float32{-7, -3, -2.5, -1, -0.7, -0.3, 0, 0.2, 0.6, 1, 2.5, 3, 4, 7}

func TestActivations(t *testing.T) {
	for _, name := range layers.Activations() {
		t.Run(name, func(t *testing.T) {
			l, err := layers.Activation(layers.ActivationSpec{Common: layers.Common{Name: "a", Inputs: []string{"x"}}, Activation: name})
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, l, [][]int{{1, len(probe)}}, probe)
			want := make([]float64, len(probe))
			switch name {
			case "softmax", "log_softmax":
				sum := 0.0
				for _, v := range probe {
					sum += math.Exp(float64(v))
				}
				for i, v := range probe {
					want[i] = math.Exp(float64(v)) / sum
					if name == "log_softmax" {
						want[i] = float64(v) - math.Log(sum)
					}
				}
			default:
				f, ok := reference[name]
				if !ok {
					t.Fatalf("no reference for activation %q: add one", name)
				}
				for i, v := range probe {
					want[i] = f(float64(v))
				}
			}
			checkClose(t, name, got.F32, want)
		})
	}
}

func TestKerasActivation(t *testing.T) {
	cases := []struct {
		name  string
		major int
		want  string
	}{
		{"hard_sigmoid", 2, "hard_sigmoid"},
		{"hard_sigmoid", 3, "keras3.hard_sigmoid"},
		{"hard_silu", 3, "keras3.hard_silu"},
		{"ReLU", 3, "relu"},
		{"gelu", 3, "gelu"},
	}
	for _, c := range cases {
		if got := layers.KerasActivation(c.name, c.major); got != c.want {
			t.Errorf("KerasActivation(%q, %d) = %q; want %q", c.name, c.major, got, c.want)
		}
	}
	if !slices.IsSorted(layers.Activations()) {
		t.Errorf("Activations() is not sorted")
	}
	if _, err := layers.Activation(layers.ActivationSpec{Common: layers.Common{Name: "a", Inputs: []string{"x"}}, Activation: "my_fn"}); err == nil {
		t.Errorf("Activation(my_fn) succeeded; want an error")
	}
}

func TestConfigActivation(t *testing.T) {
	cases := []struct {
		name, kind, cfg string
		want            string
		msg             string // "": no error; else the *ConfigError's text
	}{
		{"no config", "Dense", "", "", ""},
		{"no key", "Flatten", `{"name": "lay"}`, "", ""},
		{"null", "Dense", `{"activation": null}`, "", ""},
		// As written: not mapped for the Keras version ("swish" stays).
		{"name", "Dense", `{"activation": "swish"}`, "swish", ""},
		{"Activation layer", "Activation", `{"activation": "relu"}`, "relu", ""},
		{"object with a name", "Conv2D", `{"activation": {"class_name": "function", "config": {"name": "gelu"}}}`, "gelu", ""},
		{"object", "Dense", `{"activation": {"class_name": "Mish", "config": {}}}`, "Mish", ""},

		{"number", "Dense", `{"activation": 3}`, "", "not an activation name or object: 3"},
		{"object without class", "Dense", `{"activation": {"config": {"name": "relu"}}}`, "", "not an activation name or object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := layers.ConfigActivation(configLayer(c.kind, c.cfg))
			if c.msg != "" {
				checkConfigErr(t, "ConfigActivation", err, layers.ErrKerasFormat, "activation", c.msg)
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ConfigActivation(%s) = %q, %v; want %q", c.cfg, got, err, c.want)
			}
		})
	}
	_, err := layers.ConfigActivation(configLayer("Dense", `["relu"]`))
	checkConfigErr(t, "ConfigActivation", err, layers.ErrKerasFormat, "", "not a JSON object")
}
