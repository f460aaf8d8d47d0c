package layers_test

import (
	"testing"

	"github.com/xferml/xfer/layers"
)

func TestDropout(t *testing.T) {
	for kind, op := range map[string]string{"Dropout": "Dropout", "": "Dropout", "AlphaDropout": "Identity", "GaussianDropout": "Identity", "GaussianNoise": "Identity"} {
		l, err := layers.Dropout(layers.DropoutSpec{Common: layers.Common{Name: "d", Inputs: []string{"x"}}, Kind: kind, Rate: 0.5})
		if err != nil {
			t.Fatalf("Dropout(%q) = %v", kind, err)
		}
		want := kind
		if want == "" {
			want = "Dropout"
		}
		if l.Kind != want || !equalOps(ops(l), op) {
			t.Errorf("Dropout(%q) = kind %s ops %v; want %s [%s]", kind, l.Kind, ops(l), want, op)
		}
		got := run(t, l, [][]int{{1, 3}}, []float32{1, -2, 3})
		checkClose(t, kind, got.F32, []float64{1, -2, 3})
	}
	for _, s := range []layers.DropoutSpec{{Kind: "Dropout", Rate: 1}, {Kind: "Dropout", Rate: -0.1}, {Kind: "Dense"}} {
		s.Common = layers.Common{Name: "d", Inputs: []string{"x"}}
		if _, err := layers.Dropout(s); err == nil {
			t.Errorf("Dropout(%+v) succeeded; want an error", s)
		}
	}
}

func TestNoiseRate(t *testing.T) {
	cases := []struct {
		name, kind, cfg string
		want            float64
		is              error  // nil: no error
		key, msg        string // the error's config key and text
	}{
		// As written: float64 0.1, not float32(0.1) as the nodes keep it.
		{"Dropout", "Dropout", `{"rate": 0.1, "noise_shape": null}`, 0.1, nil, "", ""},
		{"AlphaDropout", "AlphaDropout", `{"rate": 0.2}`, 0.2, nil, "", ""},
		{"GaussianDropout", "GaussianDropout", `{"rate": 0}`, 0, nil, "", ""},
		{"GaussianNoise", "GaussianNoise", `{"stddev": 1.5, "rate": 7}`, 1.5, nil, "", ""},

		{"rate missing", "Dropout", `{"noise_shape": null}`, 0, layers.ErrKerasFormat, "rate", "missing (Dropout has no default)"},
		{"no config", "GaussianNoise", "", 0, layers.ErrKerasFormat, "stddev", "missing"},
		{"rate 1", "AlphaDropout", `{"rate": 1}`, 0, layers.ErrKerasFormat, "rate", "must be in [0, 1), got 1"},
		{"rate negative", "GaussianDropout", `{"rate": -0.5}`, 0, layers.ErrKerasFormat, "rate", "must be in [0, 1), got -0.5"},
		{"stddev negative", "GaussianNoise", `{"stddev": -1}`, 0, layers.ErrKerasFormat, "stddev", "must be non-negative, got -1"},
		{"rate not a number", "Dropout", `{"rate": "half"}`, 0, layers.ErrKerasFormat, "rate", `not a number: "half"`},
		{"config not an object", "Dropout", `"rate"`, 0, layers.ErrKerasFormat, "", "not a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := layers.NoiseRate(configLayer(c.kind, c.cfg))
			if c.is != nil {
				checkConfigErr(t, "NoiseRate", err, c.is, c.key, c.msg)
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("NoiseRate(%s %s) = %v, %v; want %v", c.kind, c.cfg, got, err, c.want)
			}
		})
	}
	if _, err := layers.NoiseRate(configLayer("Dense", `{"rate": 0.5}`)); err == nil {
		t.Error("NoiseRate(Dense) succeeded; want an error")
	}
}
