package layers_test

import (
	"math"
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
