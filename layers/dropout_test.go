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
