package finetune

import (
	"math/rand"
	"testing"

	"github.com/xferml/xfer/model"
)

// sharedStage calls the Dense layer owner again on the previous value: a
// Keras shared layer's second call site, which reads the owner's params.
func sharedStage(owner string, units int, act string) stage {
	return func(t testing.TB, rng *rand.Rand, prev string, inF int) (*model.Layer, int) {
		l, n := denseStage(owner+"@1", units, act)(t, rng, prev, inF)
		for _, nd := range l.Nodes {
			for i, in := range nd.Inputs {
				for _, p := range l.Params {
					if in == p.Name {
						nd.Inputs[i] = owner + "/" + p.Role
					}
				}
			}
		}
		l.Params, l.Config, l.Shares = nil, nil, owner
		return l, n
	}
}

// TestGradientsSharedLayer: a layer called twice trains one set of weights
// whose gradient is the sum of both calls' (checked by finite differences
// on the loss: a gradient from one call only would disagree with them).
func TestGradientsSharedLayer(t *testing.T) {
	const batch = 5
	sce := lossKind{name: LossSparseCategoricalCrossentropy, logits: true}
	rng := rand.New(rand.NewSource(9))
	x := randVec(rng, batch*6)
	y := []float64{0, 1, 2, 2, 1}
	m := seqModel(t, 12, []int{6}, denseStage("d0", 6, "tanh"), sharedStage("d0", 6, "tanh"), denseStage("d1", 3, "softmax"))
	m.Sequential = false
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	gradCheck(t, m, sce, x, y, batch)
}
