package finetune

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// TestOptimizerUpdates checks updates against values computed by hand from
// Keras's formulas, with w0 = [1 1] and g = [3 -4] (norm 5) at lr 0.1.
func TestOptimizerUpdates(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps int
		g2    []float32 // a second tensor's gradient (for global norm); w0 = [1 1]
		want  []float32
		want2 []float32
	}{
		{"sgd", Config{}, 1, nil, []float32{0.7, 1.4}, nil},
		{"sgd clip value 2", Config{ClipValue: 2}, 1, nil, []float32{0.8, 1.2}, nil},
		// clip norm 1: g -> [0.6 -0.8]; g2 = [1 0] has norm 1, unchanged.
		{"sgd clip norm 1", Config{ClipNorm: 1}, 1, []float32{1, 0}, []float32{0.94, 1.08}, []float32{0.9, 1}},
		// global norm sqrt(26): g -> [0.58834841 -0.78446454], g2 -> [0.19611614 0].
		{"sgd global clip norm 1", Config{GlobalClipNorm: 1}, 1, []float32{1, 0}, []float32{0.94116516, 1.07844645}, []float32{0.98038839, 1}},
		// v1 = -lr g = [-0.06 0.08]; v2 = 0.9 v1 - lr g = [-0.114 0.152].
		{"momentum 2 steps", Config{ClipNorm: 1, Momentum: 0.9}, 2, nil, []float32{0.826, 1.232}, nil},
		// w1 = w0 + 0.9 v1 - lr g = [0.886 1.152]; w2 = w1 + 0.9 v2 - lr g.
		{"nesterov 1 step", Config{ClipNorm: 1, Momentum: 0.9, Nesterov: true}, 1, nil, []float32{0.886, 1.152}, nil},
		{"nesterov 2 steps", Config{ClipNorm: 1, Momentum: 0.9, Nesterov: true}, 2, nil, []float32{0.7234, 1.3688}, nil},
		// Adam step 1: m = 0.1 g, v = 0.001 g², lr_t = lr sqrt(0.001)/0.1, so
		// w -= lr * g/|g| (up to eps): [0.9 1.1].
		{"adam", Config{Optimizer: "adam", LearningRate: 0.1}, 1, nil, []float32{0.9, 1.1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.LearningRate == 0 {
				cfg.LearningRate = 0.1
			}
			cfg.defaults()
			if err := cfg.check(); err != nil {
				t.Fatal(err)
			}
			o := newOptimizer(&cfg, cfg.LearningRate)
			w, w2 := []float32{1, 1}, []float32{1, 1}
			for s := 0; s < tt.steps; s++ {
				grads := [][]float32{{3, -4}}
				params := [][]float32{w}
				names := []string{"w"}
				if tt.g2 != nil {
					grads = append(grads, append([]float32(nil), tt.g2...))
					params = append(params, w2)
					names = append(names, "w2")
				}
				clipGrads(&cfg, grads)
				o.step(names, params, grads)
			}
			if !close32(w, tt.want, 1e-6) {
				t.Errorf("after %d steps w = %v; want %v", tt.steps, w, tt.want)
			}
			if tt.want2 != nil && !close32(w2, tt.want2, 1e-6) {
				t.Errorf("after %d steps w2 = %v; want %v", tt.steps, w2, tt.want2)
			}
		})
	}
}

func close32(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

func TestConfigCheck(t *testing.T) {
	bad := []Config{
		{ClipValue: 1, ClipNorm: 1},
		{ClipNorm: 1, GlobalClipNorm: 1},
		{ClipValue: -1},
		{Momentum: 1},
		{Optimizer: "lamb"},
		{Optimizer: "adam", Momentum: 0.9},
		{Optimizer: "rmsprop", Rho: 1},
		{Loss: "hinge"},
		{BatchSize: -1},
	}
	for _, c := range bad {
		c.defaults()
		if err := c.check(); err == nil {
			t.Errorf("check(%+v) = nil; want an error", c)
		}
	}
}

// TestFrozenStayBitIdentical trains model A with its first three Dense
// layers frozen: their params must not change by a single bit, the others
// must change, and the input model must be left as it was.
func TestFrozenStayBitIdentical(t *testing.T) {
	m := modelA(t)
	for _, l := range m.Layers[:4] {
		l.SetTrainable(false)
	}
	before := m.Clone()
	set := randomSet(t, 100, 8, []int{28, 28})
	out, _, err := Train(context.Background(), m, set, nil, Config{Epochs: 1, LearningRate: 0.05}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, before) {
		t.Fatalf("Train modified its input model")
	}
	for i, l := range out.Layers {
		for j, p := range l.Params {
			orig := before.Layers[i].Params[j].Data
			same := true
			for k := range p.Data {
				same = same && math.Float32bits(p.Data[k]) == math.Float32bits(orig[k])
			}
			if p.Trainable == same {
				t.Errorf("param %s (trainable %v): unchanged = %v", p.Name, p.Trainable, same)
			}
		}
	}
}

// TestUnfreezeAfter: layers frozen at the start train after K epochs.
func TestUnfreezeAfter(t *testing.T) {
	m := modelA(t)
	for _, l := range m.Layers[:6] {
		l.SetTrainable(false)
	}
	set := randomSet(t, 64, 8, []int{28, 28})
	for _, tt := range []struct {
		epochs, after, from int
		changed             []bool // per layer 1..6 (Dense)
	}{
		{1, 1, 0, []bool{false, false, false, false, false, true}},
		{2, 1, 0, []bool{true, true, true, true, true, true}},
		{2, 1, 4, []bool{false, false, false, true, true, true}},
	} {
		out, _, err := Train(context.Background(), m, set, nil, Config{Epochs: tt.epochs, UnfreezeAfter: tt.after, UnfreezeFrom: tt.from, LearningRateAfter: 0.05}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range tt.changed {
			got := !reflect.DeepEqual(out.Layers[i+1].Params[0].Data, m.Layers[i+1].Params[0].Data)
			if got != want {
				t.Errorf("epochs %d, unfreeze after %d from %d: layer %d changed = %v; want %v", tt.epochs, tt.after, tt.from, i+1, got, want)
			}
		}
	}
}

// cancelAfter cancels a context at the end of an epoch.
type cancelAfter struct {
	nopReporter
	epoch  int
	cancel func()
}

func (c *cancelAfter) EpochEnd(e Epoch, _ int) {
	if e.Epoch == c.epoch {
		c.cancel()
	}
}

func TestTrainInterrupted(t *testing.T) {
	m := modelA(t)
	set := randomSet(t, 64, 8, []int{28, 28})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, h, err := Train(ctx, m, set, nil, Config{Epochs: 5, Seed: 3}, &cancelAfter{epoch: 2, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Train(cancelled) error = %v; want context.Canceled", err)
	}
	if len(h.Epochs) != 2 {
		t.Fatalf("history has %d epochs; want 2", len(h.Epochs))
	}
	want, _, err := Train(context.Background(), m, set, nil, Config{Epochs: 2, Seed: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Layers, want.Layers) {
		t.Errorf("the interrupted run's model differs from a 2-epoch run's")
	}
}

func TestTrainExploding(t *testing.T) {
	m := seqModel(t, 1, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 1, "linear"))
	set := randomSet(t, 64, 2, []int{4})
	for i := range set.Y {
		set.Y[i] = 1e6
	}
	out, h, err := Train(context.Background(), m, set, nil, Config{Epochs: 20, LearningRate: 10}, nil)
	if !errors.Is(err, ErrExploding) || !strings.Contains(err.Error(), "--clip-value") || !strings.Contains(err.Error(), " is ") {
		t.Fatalf("Train(lr 10, targets 1e6) error = %v; want ErrExploding naming the value and suggesting --clip-value", err)
	}
	// The model returned is the one of the last finished epoch, bit for bit.
	want := m
	if n := len(h.Epochs); n > 0 {
		if want, _, err = Train(context.Background(), m, set, nil, Config{Epochs: n, LearningRate: 10}, nil); err != nil {
			t.Fatalf("Train(%d epochs) = %v", n, err)
		}
	}
	if !reflect.DeepEqual(out.Layers, want.Layers) {
		t.Errorf("after exploding in epoch %d the model differs from a %d-epoch run's", len(h.Epochs)+1, len(h.Epochs))
	}
	for _, l := range out.Layers {
		for _, p := range l.Params {
			for _, v := range p.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("returned model has %v in %s", v, p.Name)
				}
			}
		}
	}
	// Clipping keeps the same run finite.
	if _, _, err := Train(context.Background(), m, set, nil, Config{Epochs: 3, LearningRate: 1e-3, ClipValue: 1}, nil); err != nil {
		t.Errorf("Train(clip value 1) error = %v", err)
	}
}

// TestBatchNormTraining: a trainable BN updates its moving statistics, a
// frozen one keeps them bit for bit.
func TestBatchNormTraining(t *testing.T) {
	m := seqModel(t, 2, []int{6}, denseStage("d0", 5, "linear"), bnStage("bn"), denseStage("d1", 3, "softmax"))
	set := randomSet(t, 40, 3, []int{6})
	out, _, err := Train(context.Background(), m, set, nil, Config{Epochs: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bn := m.Layer("bn")
	if reflect.DeepEqual(out.Layer("bn").Param("moving_mean").Data, bn.Param("moving_mean").Data) {
		t.Errorf("trainable BN: moving_mean unchanged")
	}
	bn.SetTrainable(false)
	out, _, err = Train(context.Background(), m, set, nil, Config{Epochs: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Layer("bn").Params {
		if !reflect.DeepEqual(p.Data, bn.Param(p.Role).Data) {
			t.Errorf("frozen BN: %s changed", p.Name)
		}
	}
}

// TestAgreesWithEngine runs the lowered graph in inference mode and the
// engine on the same models and inputs.
func TestAgreesWithEngine(t *testing.T) {
	tests := []struct {
		name string
		m    *model.Model
	}{
		{"model A", modelA(t)},
		{"activations", seqModel(t, 3, []int{2, 5}, denseStage("d0", 7, "tanh"), denseStage("d1", 6, "sigmoid"), denseStage("d2", 6, "elu"),
			denseStage("d3", 5, "softplus"), denseStage("d4", 5, "softsign"), denseStage("d5", 5, "hard_sigmoid"), denseStage("d6", 5, "swish"), denseStage("d7", 4, "relu"), denseStage("d8", 3, "log_softmax"))},
		{"bn prelu dropout", seqModel(t, 4, []int{9}, denseStage("d0", 6, "linear"), bnStage("bn"), preluStage("p"), dropoutStage("drop", "Dropout", 0.5),
			dropoutStage("ad", "AlphaDropout", 0.1), rreluStage("rr"), denseStage("d1", 2, "sigmoid"))},
		{"gemm", seqModel(t, 5, []int{9}, gemmStage("g0", 6), gemmStage("g1", 4))},
		{"conv pool", convModel(t, 13)},
		{"keras conv layers", kerasConvModel(t, 17)},
		{"transpose reshape", reshapeModel(t, 19)},
		{"merge pad", mergeModel(t, 15)},
		{"broadcast", broadcastModel(t, 16)},
		{"keras 3 activations", seqModel(t, 6, []int{9}, denseStage("d0", 7, "gelu"), denseStage("d1", 6, "relu6"), denseStage("d2", 6, "mish"),
			denseStage("d3", 5, "log_sigmoid"), denseStage("d4", 5, "hard_swish"), denseStage("d5", 5, "leaky_relu"), reluStage("r"), denseStage("d6", 3, "softmax"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := engine.New(tt.m)
			if err != nil {
				t.Fatalf("engine.New(%s) = %v", tt.name, err)
			}
			in := tt.m.Inputs[0].Shape[1:]
			set := randomSet(t, 17, 2, in)
			want, err := s.Predict(set.X)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Predict(tt.m, set.X)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Shape, want.Shape) {
				t.Fatalf("Predict shape %v; engine %v", got.Shape, want.Shape)
			}
			for i := range got.F32 {
				if d := math.Abs(float64(got.F32[i] - want.F32[i])); d > 1e-5 {
					t.Fatalf("Predict[%d] = %v; engine %v (diff %g)", i, got.F32[i], want.F32[i], d)
				}
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	m := seqModel(t, 6, []int{4}, denseStage("d0", 5, "relu"), dropoutStage("drop", "Dropout", 0.5), denseStage("d1", 3, "softmax"))
	set := randomSet(t, 1234, 3, []int{4})
	a, err := Evaluate(m, set, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Evaluate(m, set, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || a.Samples != 1234 {
		t.Errorf("Evaluate twice = %+v, %+v; want equal (dropout off), 1234 samples", a, b)
	}
	// Loss and accuracy from the predictions, computed here directly.
	p, err := Predict(m, set.X)
	if err != nil {
		t.Fatal(err)
	}
	var loss float64
	correct := 0
	for i, y := range set.Y {
		row := p.F32[i*3 : i*3+3]
		loss -= math.Log(float64(row[int(y)]))
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if best == int(y) {
			correct++
		}
	}
	if math.Abs(loss/1234-a.Loss) > 1e-5 || float64(correct)/1234 != a.Accuracy {
		t.Errorf("Evaluate = %+v; want loss %v accuracy %v", a, loss/1234, float64(correct)/1234)
	}
	if _, err := Evaluate(m, randomSet(t, 5, 3, []int{5}), ""); err == nil {
		t.Errorf("Evaluate(wrong input size) error = nil")
	}
}

// TestThreadsSameResult: the same seed and thread count give the same model
// bit for bit; another thread count agrees to rounding (OpenBLAS's kernels
// round blocks of columns differently).
func TestThreadsSameResult(t *testing.T) {
	m := modelA(t)
	set := randomSet(t, 96, 8, []int{28, 28})
	var runs [][]float32
	for _, th := range []int{1, 2, 2} {
		engine.SetThreads(th)
		out, _, err := Train(context.Background(), m, set, nil, Config{Epochs: 1, Seed: 5}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var all []float32
		for _, l := range out.Layers {
			for _, p := range l.Params {
				all = append(all, p.Data...)
			}
		}
		runs = append(runs, all)
	}
	engine.SetThreads(0)
	for j := range runs[0] {
		if math.Float32bits(runs[1][j]) != math.Float32bits(runs[2][j]) {
			t.Fatalf("two runs with 2 threads differ at value %d: %v vs %v", j, runs[1][j], runs[2][j])
		}
		if d := math.Abs(float64(runs[1][j] - runs[0][j])); d > 1e-5 {
			t.Fatalf("1 and 2 threads differ at value %d: %v vs %v", j, runs[0][j], runs[1][j])
		}
	}
}

// TestEvaluateEngineMatchesGraph: Evaluate through the engine (logits of the
// headless model) equals the training graph's evaluation.
func TestEvaluateEngineMatchesGraph(t *testing.T) {
	for _, tt := range []struct {
		name  string
		m     *model.Model
		units int
	}{
		{"softmax", modelA(t), 8},
		{"sigmoid", seqModel(t, 3, []int{28, 28}, denseStage("d0", 20, "selu"), denseStage("d1", 1, "sigmoid")), 1},
		{"softmax then identity", seqModel(t, 4, []int{28, 28}, denseStage("d0", 20, "selu"), denseStage("d1", 3, "softmax"), linearStage("lin")), 3},
		{"activation layer head", seqModel(t, 5, []int{28, 28}, denseStage("d0", 3, "linear"), actStage("act", "softmax")), 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := randomSet(t, 1234, max(tt.units, 2), []int{28, 28})
			if tt.units == 1 {
				for i := range set.Y {
					set.Y[i] = float32(i % 2)
				}
			}
			k, _ := chooseLoss(tt.m, "", set.Classes)
			got, err := evaluateEngine(tt.m, set, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := withoutHead(tt.m); err != nil || !k.logits {
				t.Fatalf("withoutHead: %v, logits %v", err, k.logits)
			}
			tr := &trainer{m: tt.m, loss: k, st: newStore(tt.m, tensor.Float32), eval: map[int]*graph{}, rowSize: 784}
			want, err := tr.evaluate(set)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.Loss-want.Loss) > 1e-5 || got.Accuracy != want.Accuracy || got.Samples != want.Samples {
				t.Errorf("Evaluate (engine) = %+v; training graph %+v", got, want)
			}
		})
	}
}

// TestTrainMemoryCeiling: a model whose training graph cannot fit the
// memory ceiling is refused before gorgonia allocates, naming the model,
// the training batch size and XFER_MAX_MEMORY; without validation data the
// evaluation batch is not counted, and with it the evaluation batch shrinks
// to fit instead of refusing; model-A-sized training fits a 64 MiB ceiling.
func TestTrainMemoryCeiling(t *testing.T) {
	m := seqModel(t, 1, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 1, "sigmoid"))
	set := randomSet(t, 64, 2, []int{4})
	restore := limits.Set(1 << 10)
	_, _, err := Train(context.Background(), m, set, nil, Config{Epochs: 1}, nil)
	restore()
	if !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), "training at batch 32") || !strings.Contains(err.Error(), limits.EnvVar) {
		t.Errorf("Train under a 1 KiB ceiling: error %v; want ErrTooLarge naming the batch and %s", err, limits.EnvVar)
	}
	defer limits.Set(64 << 20)()
	a := seqModel(t, 1, []int{784}, denseStage("d0", 300, "selu"), denseStage("d1", 100, "selu"), denseStage("d2", 8, "softmax"))
	big := randomSet(t, 600, 8, []int{784})
	if _, _, err := Train(context.Background(), a, big, big, Config{Epochs: 1}, nil); err != nil {
		t.Errorf("Train(model-A-sized MLP, validation at batch 500) under 64 MiB: %v", err)
	}
	// 1.5 MiB hold training a narrow model at batch 32, not its
	// evaluation at batch 500 (784 inputs twice, 500 times, are 3 MiB):
	// the evaluation batch shrinks.
	restore = limits.Set(3 << 19)
	narrow := seqModel(t, 1, []int{784}, denseStage("d0", 8, "selu"), denseStage("d1", 8, "softmax"))
	_, h, err := Train(context.Background(), narrow, big, big, Config{Epochs: 1}, nil)
	restore()
	if err != nil || len(h.Epochs) != 1 || h.Epochs[0].ValLoss == nil {
		t.Errorf("Train under 4 MiB with validation: history %+v, error %v; want one epoch with validation figures", h, err)
	}
}
