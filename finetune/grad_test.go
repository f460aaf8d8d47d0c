package finetune

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// gradCheck compares the lowered graph's gradients (float64) with central
// finite differences of its loss, for every trainable param element.
func gradCheck(t *testing.T, m *model.Model, loss lossKind, x []float64, y []float64, batch int) {
	t.Helper()
	for _, noFuse := range []bool{false, true} {
		gradCheckOnce(t, m, loss, x, y, batch, noFuse)
	}
}

func gradCheckOnce(t *testing.T, m *model.Model, loss lossKind, x []float64, y []float64, batch int, noFuse bool) {
	t.Helper()
	st := newStore(m, tensor.Float64)
	rng := rand.New(rand.NewSource(1))
	g, err := build(m, st, buildOpts{batch: batch, training: true, loss: &loss, grads: true, rng: rng, noFuse: noFuse})
	if err != nil {
		t.Fatal(err)
	}
	copy(g.xbuf.([]float64), x)
	copy(g.ybuf.([]float64), y)
	run := func() float64 {
		defer g.vm.Reset()
		rng.Seed(1) // the same noise at every evaluation
		if err := g.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return g.loss.loss
	}
	rng.Seed(1)
	if err := g.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	grads := make([][]float64, len(g.wrt))
	for i, n := range g.grads {
		grads[i] = append([]float64(nil), n.Value().Data().([]float64)...)
	}
	g.vm.Reset()
	if len(grads) == 0 {
		t.Fatal("no trainable params")
	}
	const h = 1e-6
	for i, p := range g.wrtParams {
		w := st.vals[p.Name].([]float64)
		for j := range w {
			orig := w[j]
			w[j] = orig + h
			lp := run()
			w[j] = orig - h
			lm := run()
			w[j] = orig
			num := (lp - lm) / (2 * h)
			if d := math.Abs(num - grads[i][j]); d > 1e-5+1e-4*math.Abs(num) {
				t.Errorf("d loss / d %s[%d] = %.8g (fused dense %v); finite differences give %.8g", p.Name, j, grads[i][j], !noFuse, num)
				return
			}
		}
	}
}

func randVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

func TestGradients(t *testing.T) {
	const batch, in = 5, 6
	acts := []string{"relu", "sigmoid", "tanh", "selu", "elu", "softplus", "softsign", "hard_sigmoid", "exponential", "swish", "linear", "log_softmax", "softmax",
		"gelu", "relu6", "leaky_relu", "mish", "log_sigmoid", "hard_swish", "keras3.hard_sigmoid"}
	rng := rand.New(rand.NewSource(3))
	x := randVec(rng, batch*in)
	for _, act := range acts {
		t.Run(act, func(t *testing.T) {
			m := mlp(t, 7, []int{2, 3}, []int{4, 3}, []string{act, "softmax"})
			gradCheck(t, m, lossKind{name: LossSparseCategoricalCrossentropy, logits: true}, x, []float64{0, 2, 1, 1, 0}, batch)
		})
	}
	losses := []struct {
		name string
		k    lossKind
		head string
		y    []float64
	}{
		{"sce probs", lossKind{name: LossSparseCategoricalCrossentropy}, "softmax", []float64{0, 2, 1, 1, 0}},
		{"bce logits", lossKind{name: LossBinaryCrossentropy, logits: true}, "sigmoid", []float64{0, 1, 1, 0, 1}},
		{"bce probs", lossKind{name: LossBinaryCrossentropy}, "sigmoid", []float64{0, 1, 1, 0, 1}},
		{"mse", lossKind{name: LossMSE}, "linear", []float64{0.5, -1, 2, 0, 1}},
		{"mse 3 units", lossKind{name: LossMSE}, "softmax", []float64{0.5, -1, 2, 0, 1}},
		// One-hot and soft label rows, 5 examples x 3 classes.
		{"cce logits", lossKind{name: LossCategoricalCrossentropy, logits: true, width: 3}, "softmax", []float64{1, 0, 0, 0, 0, 1, 0, 1, 0, 0.2, 0.3, 0.5, 0, 0, 1}},
		{"cce probs", lossKind{name: LossCategoricalCrossentropy, width: 3}, "softmax", []float64{1, 0, 0, 0, 0, 1, 0, 1, 0, 0.2, 0.3, 0.5, 0, 0, 1}},
	}
	for _, tt := range losses {
		t.Run(tt.name, func(t *testing.T) {
			units := 3
			if tt.head != "softmax" {
				units = 1
			}
			m := mlp(t, 9, []int{2, 3}, []int{4, units}, []string{"selu", tt.head})
			gradCheck(t, m, tt.k, x, tt.y, batch)
		})
	}
}

// TestGradientsLayers checks the gradients through the other layer kinds,
// in training mode (batch statistics, noise drawn from a reseeded rng).
func TestGradientsLayers(t *testing.T) {
	const batch = 6
	sce := lossKind{name: LossSparseCategoricalCrossentropy, logits: true}
	rng := rand.New(rand.NewSource(4))
	x := randVec(rng, batch*6)
	y := []float64{0, 1, 2, 2, 1, 0}
	tests := []struct {
		name   string
		stages []stage
	}{
		{"batchnorm", []stage{denseStage("d0", 5, "linear"), bnStage("bn"), denseStage("d1", 3, "softmax")}},
		{"prelu", []stage{denseStage("d0", 5, "linear"), preluStage("p"), denseStage("d1", 3, "softmax")}},
		{"gemm transB", []stage{gemmStage("g0", 5), gemmStage("g1", 3)}},
		{"dropout", []stage{denseStage("d0", 5, "tanh"), dropoutStage("drop", "Dropout", 0.4), denseStage("d1", 3, "softmax")}},
		{"alpha dropout", []stage{denseStage("d0", 5, "selu"), dropoutStage("drop", "AlphaDropout", 0.3), denseStage("d1", 3, "softmax")}},
		{"gaussian noise", []stage{denseStage("d0", 5, "elu"), dropoutStage("noise", "GaussianNoise", 0.5), denseStage("d1", 3, "softmax")}},
		{"gaussian dropout", []stage{denseStage("d0", 5, "elu"), dropoutStage("noise", "GaussianDropout", 0.3), denseStage("d1", 3, "softmax")}},
		{"identity after head", []stage{denseStage("d0", 5, "tanh"), denseStage("d1", 3, "softmax"), linearStage("lin")}},
		{"keras relu", []stage{denseStage("d0", 5, "linear"), reluStage("r"), denseStage("d1", 3, "softmax")}},
		{"rrelu", []stage{denseStage("d0", 5, "linear"), rreluStage("rr"), denseStage("d1", 3, "softmax")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := seqModel(t, 11, []int{6}, tt.stages...)
			gradCheck(t, m, sce, x, y, batch)
		})
	}
}

// TestGradientsConv checks Conv (padding, strides, groups, dilations,
// SAME_UPPER), MaxPool, AveragePool, GlobalAveragePool and ReduceMean.
func TestGradientsConv(t *testing.T) {
	const batch = 3
	rng := rand.New(rand.NewSource(8))
	m := convModel(t, 12)
	gradCheck(t, m, lossKind{name: LossSparseCategoricalCrossentropy, logits: true}, randVec(rng, batch*2*7*7), []float64{0, 2, 1}, batch)
	t.Run("transpose reshape", func(t *testing.T) {
		gradCheck(t, reshapeModel(t, 18), lossKind{name: LossSparseCategoricalCrossentropy, logits: true}, randVec(rng, batch*6), []float64{2, 0, 1}, batch)
	})
	t.Run("keras conv layers", func(t *testing.T) {
		// Transposes of the input and of the kernel params, grouped Conv.
		gradCheck(t, kerasConvModel(t, 16), lossKind{name: LossSparseCategoricalCrossentropy, logits: true}, randVec(rng, batch*6*6*2), []float64{2, 0, 1}, batch)
	})
}

// TestGradientsBroadcast checks Add, Sub, Mul and Div with broadcasting.
func TestGradientsBroadcast(t *testing.T) {
	const batch = 3
	rng := rand.New(rand.NewSource(10))
	gradCheck(t, broadcastModel(t, 15), lossKind{name: LossSparseCategoricalCrossentropy, logits: true}, randVec(rng, batch*18), []float64{1, 0, 2}, batch)
}

// TestGradientsMergePad checks Sum, Mean, Max, Min and Pad.
func TestGradientsMergePad(t *testing.T) {
	const batch = 3
	rng := rand.New(rand.NewSource(9))
	m := mergeModel(t, 14)
	gradCheck(t, m, lossKind{name: LossSparseCategoricalCrossentropy, logits: true}, randVec(rng, batch*4), []float64{0, 2, 1}, batch)
}

func TestChooseLossThroughIdentity(t *testing.T) {
	m := seqModel(t, 1, []int{4}, denseStage("d0", 3, "softmax"), linearStage("lin"))
	k, err := chooseLoss(m, "", 3)
	if err != nil || k.name != LossSparseCategoricalCrossentropy || !k.logits {
		t.Errorf("chooseLoss(softmax then identity) = %+v, %v; want sparse categorical cross-entropy from logits", k, err)
	}
}
