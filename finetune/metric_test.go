package finetune

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"testing"

	"github.com/xferml/xfer/model"
)

// TestMetricsMatchKeras feeds the same probabilities and labels to
// keras.metrics.Precision, Recall, AUC and TopKCategoricalAccuracy (Keras
// 3.16, numpy backend) and to metricAcc.
func TestMetricsMatchKeras(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	const n = 300
	p := make([]float64, n)
	y := make([]float64, n)
	for i := range p {
		y[i] = float64(rng.Intn(2))
		p[i] = math.Min(1, math.Max(0, 0.3*y[i]+0.7*rng.Float64()))
	}
	rows := make([][]float64, n)
	cls := make([]float64, n)
	for i := range rows {
		rows[i] = []float64{rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64()}
		cls[i] = float64(rng.Intn(5))
	}
	bin, err := parseMetrics([]string{"precision", "recall", "auc"}, lossKind{name: LossBinaryCrossentropy}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p {
		bin.add([]float64{p[i]}, []float64{y[i]}, 1)
	}
	multi, err := parseMetrics([]string{"top_2", "top_3"}, lossKind{name: LossSparseCategoricalCrossentropy}, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		multi.add(rows[i], []float64{cls[i]}, 1)
	}
	got := map[string]float64{}
	bin.results("", got)
	multi.results("val_", got)
	// Hand counts for precision and recall at 0.5.
	var tp, fp, fn float64
	for i := range p {
		switch {
		case p[i] > 0.5 && y[i] == 1:
			tp++
		case p[i] > 0.5:
			fp++
		case y[i] == 1:
			fn++
		}
	}
	if got["precision"] != tp/(tp+fp) || got["recall"] != tp/(tp+fn) {
		t.Errorf("precision %v recall %v; want %v %v", got["precision"], got["recall"], tp/(tp+fp), tp/(tp+fn))
	}
	env := "/tmp/keras-runtime/env.sh"
	if _, err := os.Stat(env); err != nil {
		t.Skipf("SKIPPING the Keras comparison: Keras runtime NOT AVAILABLE (%s)", env)
	}
	in, _ := json.Marshal(map[string]any{"p": p, "y": y, "rows": rows, "cls": cls})
	script := `. ` + env + `; PYTHONPATH=$KERAS_PYTHONPATH /usr/bin/python3 -c '
import json, sys, numpy as np, keras
d = json.loads(sys.stdin.read())
p, y = np.array(d["p"], "float32")[:, None], np.array(d["y"], "float32")[:, None]
out = {}
for name, m in (("precision", keras.metrics.Precision()), ("recall", keras.metrics.Recall()), ("auc", keras.metrics.AUC())):
    m.update_state(y, p); out[name] = float(m.result())
rows, cls = np.array(d["rows"], "float32"), np.array(d["cls"], "int32")
for k in (2, 3):
    m = keras.metrics.SparseTopKCategoricalAccuracy(k=k); m.update_state(cls, rows); out["val_top_%d" % k] = float(m.result())
print(json.dumps(out))
'`
	cmd := exec.Command("bash", "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("keras: %v", err)
	}
	var want map[string]float64
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-6 {
			t.Errorf("%s = %.7f; Keras %.7f", k, got[k], w)
		}
	}
}

// TestClassWeights: Keras's class_weight scales each example's loss by its
// class's weight (mean over the batch size); "balanced" is n/(k*count).
func TestClassWeights(t *testing.T) {
	w, err := classWeights("balanced", []float32{0, 0, 0, 1}, 1, 2)
	if err != nil || w[0] != 4.0/6 || w[1] != 2 {
		t.Errorf("balanced = %v, %v; want [0.667 2]", w, err)
	}
	w, err = classWeights("1:5", []float32{0, 1, 2}, 1, 3)
	if err != nil || w[0] != 1 || w[1] != 5 || w[2] != 1 {
		t.Errorf("1:5 = %v, %v", w, err)
	}
	for _, bad := range []string{"3:1", "a:b", "1:-1"} {
		if _, err := classWeights(bad, []float32{0, 1, 2}, 1, 3); err == nil {
			t.Errorf("classWeights(%q): no error", bad)
		}
	}
	// Gradients of the weighted loss by finite differences.
	rng := rand.New(rand.NewSource(3))
	x := randVec(rng, 5*6)
	m := mlp(t, 7, []int{2, 3}, []int{4, 3}, []string{"relu", "softmax"})
	gradCheck(t, m, lossKind{name: LossSparseCategoricalCrossentropy, logits: true, skipHead: true, weights: []float64{0.5, 2, 1}}, x, []float64{0, 2, 1, 1, 0}, 5)
}

// TestClassWeightedTrainingMetrics: with class weights, the training
// accuracy and metrics are weighed by each example's class weight, as
// Keras's fit turns class_weight into sample weights for its metrics too;
// the loss is the weighted sum over the batch size. One step on the whole
// set measures the initial model, computed here from its predictions.
func TestClassWeightedTrainingMetrics(t *testing.T) {
	m := seqModel(t, 4, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 1, "sigmoid"))
	set := randomSet(t, 200, 2, []int{4})
	_, hist, err := Train(context.Background(), m, set, nil, Config{Epochs: 1, BatchSize: set.Len(), NoShuffle: true,
		ClassWeight: "0:1,1:3", Metrics: []string{"precision", "recall"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Predict(m, set.X)
	if err != nil {
		t.Fatal(err)
	}
	var loss, correct, weight, tp, fp, fn, plain float64
	for i, y := range set.Y {
		w := []float64{1, 3}[int(y)]
		q := float64(p.F32[i])
		pos := y == 1
		if pos {
			loss -= w * math.Log(q)
		} else {
			loss -= w * math.Log(1-q)
		}
		weight += w
		if (q > 0.5) == pos {
			correct += w
			plain++
		}
		switch {
		case q > 0.5 && pos:
			tp += w
		case q > 0.5:
			fp += w
		case pos:
			fn += w
		}
	}
	e := hist.Epochs[0]
	want := map[string]float64{"loss": loss / float64(set.Len()), "accuracy": correct / weight,
		"precision": tp / (tp + fp), "recall": tp / (tp + fn)}
	got := map[string]float64{"loss": e.Loss, "accuracy": e.Accuracy, "precision": e.Metrics["precision"], "recall": e.Metrics["recall"]}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-5 {
			t.Errorf("training %s = %.7f; want %.7f (class-weighted)", k, got[k], w)
		}
	}
	if want["accuracy"] == float64(set.Len()-int(fn+fp))/float64(set.Len()) {
		t.Fatalf("the weighted accuracy equals the unweighted one: the test would not see the weights")
	}
}

// TestEvaluateMetricsMatchTrain: EvaluateWith reports on a set what Train
// reports as that set's validation figures (no class weights there, as
// Keras).
func TestEvaluateMetricsMatchTrain(t *testing.T) {
	for _, tt := range []struct {
		name    string
		m       *model.Model
		classes int
		metrics []string
	}{
		{"binary", seqModel(t, 5, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 1, "sigmoid")), 2, []string{"precision", "recall", "auc"}},
		{"multi", seqModel(t, 6, []int{4}, denseStage("d0", 8, "relu"), denseStage("d1", 5, "softmax")), 5, []string{"top_2", "top_3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			train, valid := randomSet(t, 300, tt.classes, []int{4}), randomSet(t, 120, tt.classes, []int{4})
			out, hist, err := Train(context.Background(), tt.m, train, valid, Config{Epochs: 2, BatchSize: 32,
				ClassWeight: "0:2", Metrics: tt.metrics}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := EvaluateWith(out, valid, EvalOptions{Metrics: tt.metrics})
			if err != nil {
				t.Fatal(err)
			}
			e := hist.Epochs[len(hist.Epochs)-1]
			if math.Abs(got.Loss-*e.ValLoss) > 1e-5 || math.Abs(got.Accuracy-*e.ValAccuracy) > 1e-6 {
				t.Errorf("EvaluateWith = loss %.7f accuracy %.7f; Train's val_loss %.7f val_accuracy %.7f", got.Loss, got.Accuracy, *e.ValLoss, *e.ValAccuracy)
			}
			if len(got.Metrics) != len(tt.metrics) {
				t.Errorf("EvaluateWith metrics %v; want %v", got.Metrics, tt.metrics)
			}
			for _, k := range tt.metrics {
				if v, ok := got.Metrics[k]; !ok || math.Abs(v-e.Metrics["val_"+k]) > 1e-6 {
					t.Errorf("EvaluateWith %s = %.7f; Train's val_%s %.7f", k, v, k, e.Metrics["val_"+k])
				}
			}
		})
	}
}
