package layers_test

import (
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// TestRReLU: the inference form is LeakyRelu at the mean slope; the config
// written keeps lower and upper as float64 (PyTorch's defaults 1/8 and
// 1/3) and RReLUConfig reads them back exactly.
func TestRReLU(t *testing.T) {
	common := layers.Common{Name: "rr", Inputs: []string{"x"}, Trainable: true}
	l, err := layers.RReLU(layers.RReLUSpec{Common: common, Lower: 1.0 / 8, Upper: 1.0 / 3})
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != "RReLU" || !equalOps(ops(l), "LeakyRelu") {
		t.Fatalf("RReLU = kind %s ops %v; want RReLU [LeakyRelu]", l.Kind, ops(l))
	}
	const mean = (1.0/8 + 1.0/3) / 2
	got := run(t, l, [][]int{{1, 3}}, []float32{-2, 0, 3})
	checkClose(t, "RReLU", got.F32, []float64{-2 * mean, 0, 3})
	const wantCfg = `{"name": "rr", "trainable": true, "dtype": "float32", "lower": 0.125, "upper": 0.3333333333333333}`
	if string(l.Config) != wantCfg {
		t.Errorf("RReLU config = %s; want %s", l.Config, wantCfg)
	}
	s, err := layers.RReLUConfig(l)
	if err != nil || s.Lower != 1.0/8 || s.Upper != 1.0/3 || s.Name != "rr" || !s.Trainable {
		t.Errorf("RReLUConfig(RReLU(...)) = %+v, %v; want lower 1/8, upper 1/3", s, err)
	}
	for _, s := range []layers.RReLUSpec{{Common: common, Lower: 0.5, Upper: 0.25}, {Common: common, Lower: -0.1, Upper: 0.2}, {Lower: 0.1, Upper: 0.2}} {
		if _, err := layers.RReLU(s); err == nil {
			t.Errorf("RReLU(%+v) succeeded; want an error", s)
		}
	}
}

func TestRReLUConfig(t *testing.T) {
	cases := []struct {
		name, cfg    string
		lower, upper float64
		key, msg     string // "": no error; else the *ConfigError's key and text
	}{
		{"PyTorch defaults", `{"name": "lay"}`, 1.0 / 8, 1.0 / 3, "", ""},
		{"no config", "", 1.0 / 8, 1.0 / 3, "", ""},
		{"set", `{"lower": 0.1, "upper": 0.2}`, 0.1, 0.2, "", ""},
		{"equal", `{"lower": 0.2, "upper": 0.2}`, 0.2, 0.2, "", ""},

		{"lower above upper", `{"lower": 0.5, "upper": 0.25}`, 0, 0, "lower", "want 0 <= lower <= upper, got lower 0.5, upper 0.25"},
		{"lower negative", `{"lower": -0.5}`, 0, 0, "lower", "got lower -0.5"},
		{"upper not a number", `{"upper": "third"}`, 0, 0, "upper", `not a number: "third"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := configLayer("RReLU", c.cfg)
			s, err := layers.RReLUConfig(l)
			if c.key != "" {
				checkConfigErr(t, "RReLUConfig", err, layers.ErrKerasFormat, c.key, c.msg)
				return
			}
			if err != nil || s.Lower != c.lower || s.Upper != c.upper {
				t.Fatalf("RReLUConfig(%s) = [%v, %v], %v; want [%v, %v]", c.cfg, s.Lower, s.Upper, err, c.lower, c.upper)
			}
		})
	}
	if _, err := layers.RReLUConfig(&model.Layer{Name: "lay", Kind: "LeakyReLU"}); err == nil {
		t.Error("RReLUConfig(LeakyReLU) succeeded; want an error")
	}
}
