package surgery

import (
	"encoding/json"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/model"
)

type foldCase struct {
	name    string
	build   func(rng *rand.Rand) *model.Model
	input   []int
	forward func(m *model.Model, x tensor64) tensor64 // reads the params of m; works folded or not
	folded  []Fold
	skipped []string // reasons, as substrings, in order
}

func seqModel(name string, in []int, ls ...*model.Layer) *model.Model {
	m := &model.Model{Name: name, Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: in}}, Layers: ls}
	m.Outputs = []string{ls[len(ls)-1].Outputs[0]}
	return m
}

func gemmAttrs(l *model.Layer) (alpha, beta float64) {
	n := l.Nodes[0]
	return float64(n.AttrFloat("alpha", 1)), float64(n.AttrFloat("beta", 1))
}

func bias(l *model.Layer) *model.Param {
	if b := l.Param("bias"); b != nil {
		return b
	}
	return nil
}

func foldCases(t *testing.T) []foldCase {
	kerasDense := func(useBias bool, act string) func(rng *rand.Rand) *model.Model {
		return func(rng *rand.Rand) *model.Model {
			d := denseLayer(t, rng, "d", "x", 6, 5, act, useBias)
			return seqModel("dense_bn", []int{-1, 6}, d, bnLayer(rng, "bn", d.Outputs[0], 5, 2, true, 1e-3, true))
		}
	}
	denseFwd := func(m *model.Model, x tensor64) tensor64 {
		d := m.Layer("d")
		y := refDense(x, d.Param("kernel"), bias(d), false, 1, 1)
		if bn := m.Layer("bn"); bn != nil {
			y = refBN(y, bn, 1, 1e-3)
		}
		return y
	}
	gemm := func(useBias bool) func(rng *rand.Rand) *model.Model {
		return func(rng *rand.Rand) *model.Model {
			g := gemmLayer(rng, "fc", "x", 6, 4, useBias, 0.5, 2)
			return seqModel("gemm_bn", []int{-1, 6}, g, bnLayer(rng, "bn", g.Outputs[0], 4, 2, false, 1e-5, false))
		}
	}
	gemmFwd := func(m *model.Model, x tensor64) tensor64 {
		g := m.Layer("fc")
		alpha, beta := gemmAttrs(g)
		var b *model.Param
		if len(g.Nodes[0].Inputs) > 2 {
			_, b = m.Param(g.Nodes[0].Inputs[2])
		}
		y := refDense(x, g.Param("kernel"), b, true, alpha, beta)
		if bn := m.Layer("bn"); bn != nil {
			y = refBN(y, bn, 1, 1e-5)
		}
		return y
	}
	kerasConv := func(useBias bool, bnChannelsLast bool) func(rng *rand.Rand) *model.Model {
		return func(rng *rand.Rand) *model.Model {
			c := kerasConv2D(rng, "conv", "x", 3, 2, 4, useBias, "linear")
			return seqModel("conv_bn", []int{-1, 6, 6, 2}, c, bnLayer(rng, "bn", c.Outputs[0], 4, 4, bnChannelsLast, 1e-3, true))
		}
	}
	kerasConvFwd := func(m *model.Model, x tensor64) tensor64 {
		c := m.Layer("conv")
		y := refConv(x, c.Param("kernel"), bias(c), true)
		if bn := m.Layer("bn"); bn != nil {
			y = refBN(y, bn, 3, 1e-3)
		}
		return y
	}
	onnxConvModel := func(useBias bool) func(rng *rand.Rand) *model.Model {
		return func(rng *rand.Rand) *model.Model {
			c := onnxConv(rng, "conv", "x", 3, 2, 4, useBias)
			return seqModel("onnx_conv_bn", []int{-1, 2, 6, 6}, c, bnLayer(rng, "bn", c.Outputs[0], 4, 4, false, 1e-5, false))
		}
	}
	onnxConvFwd := func(m *model.Model, x tensor64) tensor64 {
		c := m.Layer("conv")
		var b *model.Param
		if ins := c.Nodes[0].Inputs; len(ins) > 2 {
			_, b = m.Param(ins[2])
		}
		y := refConv(x, c.Param("kernel"), b, false)
		if bn := m.Layer("bn"); bn != nil {
			y = refBN(y, bn, 1, 1e-5)
		}
		return y
	}
	return []foldCase{
		{name: "keras dense", build: kerasDense(true, "linear"), input: []int{7, 6}, forward: denseFwd, folded: []Fold{{"bn", "d"}}},
		{name: "keras dense without bias", build: kerasDense(false, ""), input: []int{7, 6}, forward: denseFwd, folded: []Fold{{"bn", "d"}}},
		{name: "pytorch gemm transB", build: gemm(true), input: []int{3, 6}, forward: gemmFwd, folded: []Fold{{"bn", "fc"}}},
		{name: "pytorch gemm without bias", build: gemm(false), input: []int{3, 6}, forward: gemmFwd, folded: []Fold{{"bn", "fc"}}},
		{name: "keras conv2d", build: kerasConv(true, true), input: []int{2, 6, 6, 2}, forward: kerasConvFwd, folded: []Fold{{"bn", "conv"}}},
		{name: "keras conv2d without bias", build: kerasConv(false, true), input: []int{2, 6, 6, 2}, forward: kerasConvFwd, folded: []Fold{{"bn", "conv"}}},
		{name: "onnx conv OIHW", build: onnxConvModel(true), input: []int{2, 2, 6, 6}, forward: onnxConvFwd, folded: []Fold{{"bn", "conv"}}},
		{name: "onnx conv OIHW without bias", build: onnxConvModel(false), input: []int{2, 2, 6, 6}, forward: onnxConvFwd, folded: []Fold{{"bn", "conv"}}},
		{name: "activation before BN", build: kerasDense(true, "relu"), skipped: []string{`previous layer "d" has activation relu`}},
		{name: "BN on another axis", build: kerasConv(true, false), skipped: []string{`it normalises axis 1`}},
		{name: "output feeds elsewhere", build: func(rng *rand.Rand) *model.Model {
			d := denseLayer(t, rng, "d", "x", 6, 5, "", true)
			other := denseLayer(t, rng, "other", d.Outputs[0], 5, 2, "", true)
			bn := bnLayer(rng, "bn", d.Outputs[0], 5, 2, true, 1e-3, true)
			m := seqModel("branch", []int{-1, 6}, d, other, bn)
			m.Sequential = false
			m.Outputs = []string{other.Outputs[0], bn.Outputs[0]}
			return m
		}, skipped: []string{`output of "d" also feeds "other"`}},
		{name: "BN on the model input", build: func(rng *rand.Rand) *model.Model {
			return seqModel("input_bn", []int{-1, 6}, bnLayer(rng, "bn", "x", 6, 2, true, 1e-3, true))
		}, skipped: []string{"model input"}},
		{name: "BN after flatten", build: func(rng *rand.Rand) *model.Model {
			f := flattenLayer("flatten", "x")
			return seqModel("flat_bn", []int{-1, 2, 3}, f, bnLayer(rng, "bn", f.Outputs[0], 6, 2, true, 1e-3, true))
		}, skipped: []string{`previous layer "flatten" (Flatten) is not a Dense or Conv layer`}},
		{name: "config that cannot take use_bias", build: func(rng *rand.Rand) *model.Model {
			m := kerasDense(false, "")(rng)
			m.Layers[0].Config = json.RawMessage(`["not", "an", "object"]`)
			return m
		}, skipped: []string{"cannot record the new bias"}},
		{name: "two BNs in a row", build: func(rng *rand.Rand) *model.Model {
			d := denseLayer(t, rng, "d", "x", 6, 5, "", true)
			bn := bnLayer(rng, "bn", d.Outputs[0], 5, 2, true, 1e-3, true)
			return seqModel("bn_bn", []int{-1, 6}, d, bn, bnLayer(rng, "bn2", bn.Outputs[0], 5, 2, true, 1e-3, true))
		}, input: []int{4, 6}, forward: func(m *model.Model, x tensor64) tensor64 {
			y := denseFwd(m, x)
			if bn := m.Layer("bn2"); bn != nil {
				y = refBN(y, bn, 1, 1e-3)
			}
			return y
		}, folded: []Fold{{"bn", "d"}, {"bn2", "d"}}},
	}
}

func TestFoldBN(t *testing.T) {
	for _, tt := range foldCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			m := tt.build(rng)
			got, rep := foldPure(t, m)
			if len(rep.Folded) != len(tt.folded) || len(rep.Skipped) != len(tt.skipped) {
				t.Fatalf("FoldBN(%s) report:\n%s want %d folded %v, %d skipped", m.Name, rep, len(tt.folded), tt.folded, len(tt.skipped))
			}
			for i, f := range tt.folded {
				if rep.Folded[i] != f {
					t.Errorf("FoldBN(%s) folded[%d] = %+v; want %+v", m.Name, i, rep.Folded[i], f)
				}
			}
			for i, s := range tt.skipped {
				if !strings.Contains(rep.Skipped[i].Reason, s) {
					t.Errorf("FoldBN(%s) skipped[%d] = %+v; want reason containing %q", m.Name, i, rep.Skipped[i], s)
				}
			}
			if len(tt.folded) == 0 {
				if !equalModels(got, m) {
					t.Errorf("FoldBN(%s) changed a model it could not fold", m.Name)
				}
				return
			}
			if want := len(m.Layers) - len(tt.folded); len(got.Layers) != want {
				t.Errorf("FoldBN(%s) has %d layers; want %d", m.Name, len(got.Layers), want)
			}
			checkBiasAndConfig(t, m, got, rep)
			if err := got.Validate(); err != nil && !strings.Contains(err.Error(), "has no shape rule") {
				t.Errorf("FoldBN(%s) result does not validate: %v", m.Name, err)
			}
			x := randTensor(rand.New(rand.NewSource(12)), tt.input...)
			want, have := tt.forward(m, x), tt.forward(got, x)
			// Both passes run in float64 on float32 weights; the fold rounds
			// the new weights to float32 once, so they agree to ~1e-6.
			if d := maxDiff(want, have); d > 1e-5 {
				t.Errorf("FoldBN(%s): max |folded - unfolded| = %g; want <= 1e-5", m.Name, d)
			}
		})
	}
}

// checkBiasAndConfig checks the producer layers of a fold: a bias param of
// the channel count, use_bias true in a Keras config, param counts.
func checkBiasAndConfig(t *testing.T, before, after *model.Model, rep FoldReport) {
	t.Helper()
	wantTotal, _, _ := before.ParamCounts()
	gotBias := map[string]bool{}
	for _, f := range rep.Folded {
		c := len(before.Layer(f.BatchNorm).Param("moving_mean").Data)
		wantTotal -= 4 * c // gamma, beta, moving_mean, moving_variance
		prevBefore, prevAfter := before.Layer(f.Into), after.Layer(f.Into)
		if len(prevBefore.Params) == 1 && !gotBias[f.Into] {
			wantTotal += c // the new bias
			gotBias[f.Into] = true
		}
		if len(prevAfter.Params) != 2 || prevAfter.Params[1].Role != "bias" || len(prevAfter.Params[1].Data) != c {
			t.Errorf("after folding %s, layer %q params = %v; want kernel and bias[%d]", f.BatchNorm, f.Into, prevAfter.Params, c)
		}
		if prevAfter.Config != nil {
			var cfg struct {
				UseBias bool `json:"use_bias"`
			}
			if err := json.Unmarshal(prevAfter.Config, &cfg); err != nil || !cfg.UseBias {
				t.Errorf("after folding %s, layer %q config %s; want use_bias true", f.BatchNorm, f.Into, prevAfter.Config)
			}
		}
	}
	if total, _, _ := after.ParamCounts(); total != wantTotal {
		t.Errorf("FoldBN(%s) params = %d; want %d", before.Name, total, wantTotal)
	}
}

func TestReshapeDims(t *testing.T) {
	tests := []struct {
		shape     []int
		target    []int64
		allowZero bool
		want      []int
		ok        bool
	}{
		{[]int{3, 2, 4, 5}, []int64{6, 1, 4, 5}, false, []int{6, 1, 4, 5}, true},
		{[]int{3, 2, 4, 5}, []int64{-1, 1, 0, 5}, false, []int{6, 1, 4, 5}, true},
		{[]int{3, 4}, []int64{-1}, false, []int{12}, true},
		{[]int{3, 4}, []int64{5, -1}, false, nil, false},
		{[]int{3, 4}, []int64{-1, -1}, false, nil, false},
		{[]int{3, 4}, []int64{0, 0, 0}, false, nil, false},
	}
	for _, tt := range tests {
		got, err := reshapeDims(tt.shape, tt.target, tt.allowZero)
		if (err == nil) != tt.ok || (tt.ok && !slices.Equal(got, tt.want)) {
			t.Errorf("reshapeDims(%v, %v) = %v, %v; want %v (ok %v)", tt.shape, tt.target, got, err, tt.want, tt.ok)
		}
	}
}

func TestTransposeInts(t *testing.T) {
	// [2 3] -> perm [1 0] -> [3 2]: element (i, j) moves to (j, i).
	shape, got := transposeInts([]int{0, 1, 2, 3, 4, 5}, []int{2, 3}, []int64{1, 0})
	if !slices.Equal(shape, []int{3, 2}) || !slices.Equal(got, []int{0, 3, 1, 4, 2, 5}) {
		t.Errorf("transposeInts(2x3, [1 0]) = %v %v; want [3 2] [0 3 1 4 2 5]", shape, got)
	}
	if shape, _ := transposeInts([]int{0, 1}, []int{1, 2}, []int64{0, 0}); shape != nil {
		t.Errorf("transposeInts with a repeated axis = %v; want nil", shape)
	}
}
