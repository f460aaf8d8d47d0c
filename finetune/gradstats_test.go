package finetune

import (
	"context"
	"math/rand"
	"strings"
	"testing"

	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// heDenseStage is a Dense layer with a he_normal kernel and zero biases.
func heDenseStage(name string, units int, act string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		k, err := initializers.Draw(&model.Initializer{Name: "he_normal"}, []int{inF, units}, rng)
		if err != nil {
			t.Fatal(err)
		}
		l, err := layers.Dense(layers.DenseSpec{Name: name, Input: prev, InFeatures: inF, Units: units,
			Activation: act, UseBias: true, Trainable: true, Kernel: k, Bias: make([]float32, units)})
		if err != nil {
			t.Fatal(err)
		}
		return l, units
	}
}

// TestGradStatsVanishing is Géron's section 11.1 made a test: a deep
// sigmoid MLP with Keras's default (Glorot) initialization is flagged for
// vanishing gradients; the same depth with He initialization, ELU and
// BatchNormalization is not.
func TestGradStatsVanishing(t *testing.T) {
	const depth, width = 12, 64
	var sig, he []stage
	for i := 0; i < depth; i++ {
		name := "h" + string(rune('a'+i))
		sig = append(sig, kerasDenseStage(name, width, "sigmoid"))
		he = append(he, heDenseStage(name, width, "elu"), bnStage(name+"_bn"))
	}
	sig = append(sig, kerasDenseStage("out", 3, "softmax"))
	he = append(he, kerasDenseStage("out", 3, "softmax"))
	set := randomSet(t, 256, 3, []int{20})
	cfg := Config{Epochs: 2, GradStats: true, Seed: 1}
	for _, tt := range []struct {
		name      string
		m         *model.Model
		vanishing bool
	}{
		{"sigmoid, Glorot", seqModel(t, 3, []int{20}, sig...), true},
		{"ELU, He, BatchNormalization", seqModel(t, 3, []int{20}, he...), false},
	} {
		_, h, err := Train(context.Background(), tt.m, set, nil, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.GradStats) != 2 {
			t.Fatalf("%s: %d grad-stats records; want 2", tt.name, len(h.GradStats))
		}
		gs := h.GradStats[0]
		flagged := false
		for _, w := range gs.Warnings {
			flagged = flagged || strings.HasPrefix(w, "vanishing gradients")
		}
		lo, hi := gs.Params[0], gs.Params[len(gs.Params)-1]
		t.Logf("%s: lowest %s grad norm %.3g, top %s %.3g; warnings %q", tt.name, lo.Layer, lo.GradNorm, hi.Layer, hi.GradNorm, gs.Warnings)
		if flagged != tt.vanishing {
			t.Errorf("%s: vanishing flagged %v; want %v", tt.name, flagged, tt.vanishing)
		}
		acts := 0
		for _, a := range gs.Activations {
			if a.Op == "Sigmoid" && a.Saturated >= 0 {
				acts++
			}
		}
		if tt.vanishing && acts != depth {
			t.Errorf("%s: %d sigmoid activation records; want %d", tt.name, acts, depth)
		}
		if lo.UpdateRatio <= 0 || hi.UpdateRatio <= 0 {
			t.Errorf("%s: update/weight ratios %v, %v; want positive", tt.name, lo.UpdateRatio, hi.UpdateRatio)
		}
	}
}
