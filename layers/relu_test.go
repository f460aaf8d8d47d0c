package layers_test

import (
	"math"
	"testing"

	"github.com/xferml/xfer/layers"
)

// kerasReLU is Keras's relu(x, negative_slope, max_value, threshold)
// (keras/src/activations/activations.py; tf-keras backend.relu).
func kerasReLU(x, slope float64, maxValue *float64, th float64) float64 {
	neg := math.Max(th-x, 0)
	y := math.Max(x, 0)
	if th != 0 {
		y = 0
		if x > th {
			y = x
		}
	}
	if maxValue != nil {
		y = math.Min(math.Max(y, 0), *maxValue)
	}
	return y - slope*neg
}

func TestReLU(t *testing.T) {
	six, half := float32(6), float32(0.5)
	cases := []struct {
		name      string
		max       *float32
		slope, th float32
		ops       []string
	}{
		{"plain", nil, 0, 0, []string{"Relu"}},
		{"leaky", nil, 0.1, 0, []string{"LeakyRelu"}},
		{"relu6", &six, 0, 0, []string{"Relu", "Clip"}},
		{"threshold", nil, 0, 1, []string{"ThresholdedRelu"}},
		{"all", &half, 0.2, -0.5, []string{"ThresholdedRelu", "Clip", "Sub", "Relu", "Mul", "Sub"}},
		{"max and slope", &six, 0.3, 0, []string{"Relu", "Clip", "Sub", "Relu", "Mul", "Sub"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := layers.ReLU(layers.ReLUSpec{Common: layers.Common{Name: "r", Inputs: []string{"x"}}, MaxValue: c.max, NegativeSlope: c.slope, Threshold: c.th})
			if err != nil {
				t.Fatal(err)
			}
			if !equalOps(ops(l), c.ops...) {
				t.Errorf("ReLU ops = %v; want %v", ops(l), c.ops)
			}
			got := run(t, l, [][]int{{1, len(probe)}}, probe)
			want := make([]float64, len(probe))
			var mv *float64
			if c.max != nil {
				v := float64(*c.max)
				mv = &v
			}
			for i, x := range probe {
				want[i] = kerasReLU(float64(x), float64(c.slope), mv, float64(c.th))
			}
			checkClose(t, c.name, got.F32, want)
		})
	}
	neg := float32(-1)
	if _, err := layers.ReLU(layers.ReLUSpec{Common: layers.Common{Name: "r", Inputs: []string{"x"}}, MaxValue: &neg}); err == nil {
		t.Errorf("ReLU(max_value -1) succeeded; want an error")
	}
}

func TestLeakyELUSoftmax(t *testing.T) {
	c := layers.Common{Name: "l", Inputs: []string{"x"}}
	l, err := layers.LeakyReLU(layers.LeakyReLUSpec{Common: c, NegativeSlope: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, l, [][]int{{1, 2}}, []float32{-2, 3})
	checkClose(t, "LeakyReLU", got.F32, []float64{-0.6, 3})

	l, err = layers.ELU(layers.ELUSpec{Common: c, Alpha: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	got = run(t, l, [][]int{{1, 2}}, []float32{-2, 3})
	checkClose(t, "ELU", got.F32, []float64{0.5 * (math.Exp(-2) - 1), 3})

	// Softmax over axis 1 of a [1, 2, 2] input: columns sum to one.
	l, err = layers.Softmax(layers.SoftmaxSpec{Common: c, Axis: 1})
	if err != nil {
		t.Fatal(err)
	}
	got = run(t, l, [][]int{{1, 2, 2}}, []float32{0, 1, 0, 3})
	e1, e3 := math.Exp(1), math.Exp(3)
	checkClose(t, "Softmax", got.F32, []float64{0.5, e1 / (e1 + e3), 0.5, e3 / (e1 + e3)})
}

func TestPReLU(t *testing.T) {
	l, err := layers.PReLU(layers.PReLUSpec{Common: layers.Common{Name: "p", Inputs: []string{"x"}, Trainable: true}, AlphaShape: []int{1, 2}, Alpha: []float32{0.1, 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if p := l.Param("alpha"); p == nil || !p.Trainable || p.Init.Name != "zeros" {
		t.Fatalf("PReLU alpha = %+v; want trainable, zeros initializer", p)
	}
	// x [1, 2 steps, 2 channels], alpha shared over steps.
	got := run(t, l, [][]int{{1, 2, 2}}, []float32{-1, -1, 2, -4})
	checkClose(t, "PReLU", got.F32, []float64{-0.1, -0.5, 2, -2})
	if _, err := layers.PReLU(layers.PReLUSpec{Common: layers.Common{Name: "p", Inputs: []string{"x"}}}); err == nil {
		t.Errorf("PReLU without alpha shape succeeded")
	}
}
