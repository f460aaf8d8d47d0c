package finetune

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"testing"
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
		bin.add([]float64{p[i]}, []float64{y[i]})
	}
	multi, err := parseMetrics([]string{"top_2", "top_3"}, lossKind{name: LossSparseCategoricalCrossentropy}, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		multi.add(rows[i], []float64{cls[i]})
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
