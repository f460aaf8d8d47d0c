package surgery

import (
	"encoding/json"
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// foldTolerance is the bar for fold-bn: predictions equal to the
// unfolded model's within 1e-5 (also the shared READMEs' float32 tolerance).
const foldTolerance = 1e-5

func predict(t testing.TB, m *model.Model, x *model.Tensor) *model.Tensor {
	t.Helper()
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New(%s): %v", m.Name, err)
	}
	y, err := s.Predict(x)
	if err != nil {
		t.Fatalf("Predict(%s): %v", m.Name, err)
	}
	return y
}

func maxAbs(t testing.TB, got, want *model.Tensor) float64 {
	t.Helper()
	if len(got.F32) != len(want.F32) {
		t.Fatalf("prediction has %d values (shape %v); want %d (shape %v)", len(got.F32), got.Shape, len(want.F32), want.Shape)
	}
	d := 0.0
	for i := range got.F32 {
		e := math.Abs(float64(got.F32[i]) - float64(want.F32[i]))
		if math.IsNaN(e) {
			return math.Inf(1)
		}
		d = math.Max(d, e)
	}
	return d
}

// TestFoldBNSharedFixtures folds the Keras-written BatchNormalization
// models of ../shared/interop and checks, with the engine, that predictions
// equal the unfolded model's and the fixture's reference predictions.
func TestFoldBNSharedFixtures(t *testing.T) {
	dir := peers.Interop(t, "", "fold-bn checked against real Keras BatchNormalization models")
	k2 := filepath.Join(dir, "keras", "keras_3layer_batch_norm")
	tests := []struct {
		path   string
		input  func(t testing.TB) *model.Tensor
		want   func(t testing.TB) *model.Tensor
		folded []Fold
		layers int // after folding
	}{
		{
			path: filepath.Join(k2, "keras_3layer_batch_norm.h5"),
			input: func(t testing.TB) *model.Tensor {
				return peers.ReadDat(t, filepath.Join(k2, "keras_3layer_batch_norm_input_features.dat"), 16)
			},
			want: func(t testing.TB) *model.Tensor {
				return peers.ReadDat(t, filepath.Join(k2, "keras_3layer_batch_norm_numpy_predictions.dat"))
			},
			// README: input_1, fc1_relu Dense(linear), bn1, relu1, ..., output_softmax Dense(linear), bn4, softmax.
			folded: []Fold{{"bn1", "fc1_relu"}, {"bn2", "fc2_relu"}, {"bn3", "fc3_relu"}, {"bn4", "output_softmax"}},
			layers: 13 - 4,
		},
	}
	for _, ext := range []string{".h5", ".keras"} {
		k3 := filepath.Join(dir, "keras3")
		tests = append(tests, struct {
			path   string
			input  func(t testing.TB) *model.Tensor
			want   func(t testing.TB) *model.Tensor
			folded []Fold
			layers int
		}{
			path: filepath.Join(k3, "bn_dense"+ext),
			input: func(t testing.TB) *model.Tensor {
				x, err := tensorio.ReadFile(filepath.Join(k3, "bn_dense_input.npy"))
				if err != nil {
					t.Fatal(err)
				}
				return x
			},
			want: func(t testing.TB) *model.Tensor {
				y, err := tensorio.ReadFile(filepath.Join(k3, "bn_dense_pred.npy"))
				if err != nil {
					t.Fatal(err)
				}
				return y
			},
			// README: flatten, dense (use_bias=False), batch_normalization, activation, dense_1.
			folded: []Fold{{"batch_normalization", "dense"}},
			layers: 5 - 1,
		})
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			m, err := keras.ReadFile(tt.path, keras.Options{})
			if err != nil {
				t.Fatalf("keras.ReadFile(%s): %v", tt.path, err)
			}
			folded, rep := foldPure(t, m)
			if !slices.Equal(rep.Folded, tt.folded) || len(rep.Skipped) != 0 {
				t.Errorf("FoldBN(%s) report:\n%swant folded %v, nothing kept", m.Name, rep, tt.folded)
			}
			if len(folded.Layers) != tt.layers {
				t.Errorf("FoldBN(%s) has %d layers; want %d", m.Name, len(folded.Layers), tt.layers)
			}
			for _, f := range tt.folded {
				l := folded.Layer(f.Into)
				var cfg struct {
					UseBias bool `json:"use_bias"`
				}
				if err := json.Unmarshal(l.Config, &cfg); err != nil || !cfg.UseBias || l.Param("bias") == nil {
					t.Errorf("layer %q after folding: config %s, bias %v; want use_bias true and a bias", l.Name, l.Config, l.Param("bias"))
				}
			}
			x, want := tt.input(t), tt.want(t)
			before, after := predict(t, m, x), predict(t, folded, x)
			if d := maxAbs(t, after, before); d > foldTolerance {
				t.Errorf("FoldBN(%s): max |folded - unfolded| = %.3g; want <= %g", m.Name, d, foldTolerance)
			}
			if d := maxAbs(t, after, want); d > foldTolerance {
				t.Errorf("FoldBN(%s): max |folded - reference| = %.3g; want <= %g", m.Name, d, foldTolerance)
			}
		})
	}
}

// TestFoldBNNoBatchNorm: a model without BatchNormalization comes back equal.
func TestFoldBNNoBatchNorm(t *testing.T) {
	dir := peers.Interop(t, "", "fold-bn on a real Keras model without BatchNormalization")
	m, err := keras.ReadFile(filepath.Join(dir, "keras3", "mlp_small.h5"), keras.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, rep, err := FoldBN(m)
	if err != nil || len(rep.Folded)+len(rep.Skipped) != 0 || !equalModels(got, m) {
		t.Errorf("FoldBN(mlp_small) = %v, %+v; want the same model, empty report", err, rep)
	}
}

// convBNModel builds a Keras-style CNN with layers' builders: Conv2D (same,
// linear, with or without bias) -> BatchNormalization -> Activation relu ->
// Conv2D (valid) -> BatchNormalization -> Activation relu -> Flatten ->
// Dense softmax, on [h, w, c] inputs. BN statistics are random, not Keras's
// initial ones, so that the fold has something to do.
func convBNModel(t testing.TB, rng *rand.Rand, h, w, c, f1, f2 int) *model.Model {
	t.Helper()
	m := &model.Model{Name: "conv_bn", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "image", DType: model.Float32, Shape: []int{-1, h, w, c}}}}
	must := func(l *model.Layer, err error) *model.Layer {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, l)
		return l
	}
	bn := func(name, in string, ch, rank int) *model.Layer {
		return must(layers.BatchNormalization(layers.BatchNormSpec{
			Common: layers.Common{Name: name, Inputs: []string{in}, Trainable: true,
				Config: json.RawMessage(`{"name":"` + name + `","axis":-1,"epsilon":0.001,"center":true,"scale":true}`)},
			Rank: rank, Channels: ch, Epsilon: 1e-3, Momentum: 0.99, Center: true, Scale: true,
			Gamma: randVec(rng, ch, 0.5, 1.5), Beta: randVec(rng, ch, -0.5, 0.5),
			MovingMean: randVec(rng, ch, -0.5, 0.5), MovingVariance: randVec(rng, ch, 0.3, 2),
		}))
	}
	conv := func(name, in string, spatial []int, cin, cout int, padding string, useBias bool) *model.Layer {
		var b []float32
		if useBias {
			b = randVec(rng, cout, -0.2, 0.2)
		}
		return must(layers.Conv(layers.ConvSpec{
			Common:       layers.Common{Name: name, Inputs: []string{in}, Trainable: true, Config: json.RawMessage(`{"name":"` + name + `","activation":"linear","use_bias":` + strconv.FormatBool(useBias) + `}`)},
			InputSpatial: spatial, InChannels: cin, Filters: cout, KernelSize: []int{3, 3}, Padding: padding,
			UseBias: useBias, Kernel: randVec(rng, 9*cin*cout, -0.3, 0.3), Bias: b,
		}))
	}
	act := func(name, in string) *model.Layer {
		return must(layers.Activation(layers.ActivationSpec{Common: layers.Common{Name: name, Inputs: []string{in}, Trainable: true}, Activation: "relu"}))
	}
	c1 := conv("conv2d", "image", []int{h, w}, c, f1, "same", false)
	b1 := bn("batch_normalization", c1.Outputs[0], f1, 4)
	a1 := act("activation", b1.Outputs[0])
	c2 := conv("conv2d_1", a1.Outputs[0], []int{h, w}, f1, f2, "valid", true)
	b2 := bn("batch_normalization_1", c2.Outputs[0], f2, 4)
	a2 := act("activation_1", b2.Outputs[0])
	fl := must(layers.Flatten(layers.Common{Name: "flatten", Inputs: []string{a2.Outputs[0]}, Trainable: true}))
	feat := (h - 2) * (w - 2) * f2
	d, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: fl.Outputs[0], InFeatures: feat, Units: 10, Activation: "softmax",
		UseBias: true, Trainable: true, Kernel: randVec(rng, feat*10, -0.1, 0.1), Bias: randVec(rng, 10, -0.1, 0.1)})
	must(d, err)
	m.Outputs = []string{d.Outputs[0]}
	if err := m.Validate(); err != nil {
		t.Fatalf("convBNModel: %v", err)
	}
	return m
}

func randInput(rng *rand.Rand, shape ...int) *model.Tensor {
	x := &model.Tensor{DType: model.Float32, Shape: shape, F32: make([]float32, model.NumElements(shape))}
	for i := range x.F32 {
		x.F32[i] = float32(rng.Float64())
	}
	return x
}

// TestFoldBNConvModel folds both BNs of a Keras-style CNN (one conv without
// bias, one with) and compares engine predictions.
func TestFoldBNConvModel(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	m := convBNModel(t, rng, 8, 8, 3, 4, 6)
	var rep FoldReport
	folded := checkPure(t, m, func(m *model.Model) (*model.Model, error) {
		f, r, err := FoldBN(m)
		rep = r
		return f, err
	})
	if folded == nil {
		t.Fatal("FoldBN failed")
	}
	want := []Fold{{"batch_normalization", "conv2d"}, {"batch_normalization_1", "conv2d_1"}}
	if !slices.Equal(rep.Folded, want) || len(rep.Skipped) != 0 || len(folded.Layers) != len(m.Layers)-2 {
		t.Fatalf("FoldBN(conv_bn) report:\n%s%d layers; want %v folded, %d layers", rep, len(folded.Layers), want, len(m.Layers)-2)
	}
	x := randInput(rng, 5, 8, 8, 3)
	if d := maxAbs(t, predict(t, folded, x), predict(t, m, x)); d > foldTolerance {
		t.Errorf("FoldBN(conv_bn): max |folded - unfolded| = %.3g; want <= %g", d, foldTolerance)
	}
}

// TestFoldBNEngineLayouts runs the hand-built layouts of foldCases through
// the engine, which checks the rewired nodes (a new bias as Gemm's C or
// Conv's B, a new Add after MatMul) and not only the weights.
func TestFoldBNEngineLayouts(t *testing.T) {
	for _, tt := range foldCases(t) {
		if len(tt.folded) == 0 {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			m := tt.build(rand.New(rand.NewSource(11)))
			folded, _, err := FoldBN(m)
			if err != nil {
				t.Fatal(err)
			}
			x := randInput(rand.New(rand.NewSource(13)), tt.input...)
			if d := maxAbs(t, predict(t, folded, x), predict(t, m, x)); d > foldTolerance {
				t.Errorf("FoldBN(%s): max |folded - unfolded| = %.3g; want <= %g", m.Name, d, foldTolerance)
			}
		})
	}
}

// benchPredict times the engine on a 28x28x1 CNN with two Conv2D ->
// BatchNormalization blocks, batch 32, folded or not. The fold removes one
// BatchNormalization op and its two Transposes per block. Compare with
//
//	go test ./surgery -run XXX -bench PredictFolded -count 10 | benchstat -
func benchPredict(b *testing.B, fold bool) {
	m := convBNModel(b, rand.New(rand.NewSource(1)), 28, 28, 1, 16, 32)
	if fold {
		folded, rep, err := FoldBN(m)
		if err != nil || len(rep.Folded) != 2 {
			b.Fatalf("FoldBN: %v\n%s", err, rep)
		}
		m = folded
	}
	x := randInput(rand.New(rand.NewSource(2)), 32, 28, 28, 1)
	s, err := engine.New(m)
	if err != nil {
		b.Fatal(err)
	}
	// CPU time as well as wall time: on a shared machine the wall time
	// swings with other load, the process's CPU time much less.
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := s.Predict(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkPredictUnfolded(b *testing.B) { benchPredict(b, false) }
func BenchmarkPredictFolded(b *testing.B)   { benchPredict(b, true) }

// TestFoldBNDepthwise folds a BatchNormalization into a Keras
// DepthwiseConv2D with depth multiplier 2 and 3: its kernel [kh, kw, in,
// mult] reaches the Conv through a Transpose and a Reshape to [in*mult, 1,
// kh, kw], so output channel c*mult+m comes from kernel[..., c, m].
func TestFoldBNDepthwise(t *testing.T) {
	for _, mult := range []int{1, 2, 3} {
		rng := rand.New(rand.NewSource(int64(30 + mult)))
		in, out := 3, 3*mult
		dw, err := layers.DepthwiseConv2D(layers.DepthwiseConvSpec{
			Common:       layers.Common{Name: "depthwise", Inputs: []string{"image"}, Trainable: true},
			InputSpatial: []int{6, 6}, InChannels: in, DepthMultiplier: mult, KernelSize: []int{3, 3}, Padding: "same",
			UseBias: mult == 2, Kernel: randVec(rng, 9*in*mult, -0.5, 0.5), Bias: randVec(rng, out, -0.3, 0.3),
		})
		if err != nil {
			t.Fatal(err)
		}
		bn, err := layers.BatchNormalization(layers.BatchNormSpec{
			Common: layers.Common{Name: "bn", Inputs: dw.Outputs, Trainable: true},
			Rank:   4, Channels: out, Epsilon: 1e-3, Center: true, Scale: true,
			Gamma: randVec(rng, out, 0.5, 1.5), Beta: randVec(rng, out, -0.5, 0.5),
			MovingMean: randVec(rng, out, -0.5, 0.5), MovingVariance: randVec(rng, out, 0.3, 2),
		})
		if err != nil {
			t.Fatal(err)
		}
		m := &model.Model{Name: "depthwise_bn", Opset: model.DefaultOpset, Sequential: true,
			Inputs: []*model.Value{{Name: "image", DType: model.Float32, Shape: []int{-1, 6, 6, in}}},
			Layers: []*model.Layer{dw, bn}, Outputs: bn.Outputs}
		folded, rep, err := FoldBN(m)
		if err != nil || len(rep.Folded) != 1 {
			t.Fatalf("FoldBN(depthwise, mult %d) = %v\n%s", mult, err, rep)
		}
		x := randInput(rng, 2, 6, 6, in)
		if d := maxAbs(t, predict(t, folded, x), predict(t, m, x)); d > foldTolerance {
			t.Errorf("FoldBN(depthwise, mult %d): max |folded - unfolded| = %.3g; want <= %g", mult, d, foldTolerance)
		}
	}
}

// TestFoldBNConv1D folds a BatchNormalization into a Keras Conv1D (kernel
// [k, in, out], causal padding) on [steps, channels] data.
func TestFoldBNConv1D(t *testing.T) {
	rng := rand.New(rand.NewSource(41))
	conv, err := layers.Conv(layers.ConvSpec{
		Common:       layers.Common{Name: "conv1d", Inputs: []string{"seq"}, Trainable: true},
		InputSpatial: []int{9}, InChannels: 4, Filters: 5, KernelSize: []int{3}, Padding: "causal",
		UseBias: true, Kernel: randVec(rng, 3*4*5, -0.5, 0.5), Bias: randVec(rng, 5, -0.3, 0.3),
	})
	if err != nil {
		t.Fatal(err)
	}
	bn, err := layers.BatchNormalization(layers.BatchNormSpec{
		Common: layers.Common{Name: "bn", Inputs: conv.Outputs, Trainable: true},
		Rank:   3, Channels: 5, Epsilon: 1e-3, Center: true, Scale: false,
		Beta: randVec(rng, 5, -0.5, 0.5), MovingMean: randVec(rng, 5, -0.5, 0.5), MovingVariance: randVec(rng, 5, 0.3, 2),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := &model.Model{Name: "conv1d_bn", Opset: model.DefaultOpset, Sequential: true,
		Inputs: []*model.Value{{Name: "seq", DType: model.Float32, Shape: []int{-1, 9, 4}}},
		Layers: []*model.Layer{conv, bn}, Outputs: bn.Outputs}
	folded, rep, err := FoldBN(m)
	if err != nil || len(rep.Folded) != 1 || len(folded.Layers) != 1 {
		t.Fatalf("FoldBN(conv1d_bn) = %v\n%s", err, rep)
	}
	x := randInput(rng, 3, 9, 4)
	if d := maxAbs(t, predict(t, folded, x), predict(t, m, x)); d > foldTolerance {
		t.Errorf("FoldBN(conv1d_bn): max |folded - unfolded| = %.3g; want <= %g", d, foldTolerance)
	}
}
