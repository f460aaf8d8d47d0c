package finetune

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/xferml/xfer/internal/kernels"
)

// Metric names Config.Metrics takes, as Keras spells them: "precision",
// "recall" and "auc" for binary heads (one sigmoid unit, or logits with
// --from-logits), "top_k" (top_5 ...) for multi-class heads.
const (
	MetricPrecision = "precision"
	MetricRecall    = "recall"
	MetricAUC       = "auc"
)

// aucThresholds is keras.metrics.AUC's default num_thresholds.
const aucThresholds = 200

// metricAcc accumulates Keras's metrics over the examples of an epoch.
type metricAcc struct {
	names []string
	k     lossKind
	topK  []int // k of each top_k metric
	// binary confusion counts at threshold 0.5 (precision, recall)
	tp, fp, fn float64
	// AUC's confusion counts at its thresholds, as keras.metrics.AUC
	aucTP, aucFP, aucTN, aucFN [aucThresholds]float64
	hits                       []float64 // top-k hits, per metric
	n                          float64
}

// metricTopK reads one metric name: 0 for precision, recall and auc, K
// for top_K (or top_K_accuracy).
func metricTopK(n string) (int, error) {
	switch {
	case n == MetricPrecision || n == MetricRecall || n == MetricAUC:
		return 0, nil
	case strings.HasPrefix(n, "top_"):
		k, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(n, "top_"), "_accuracy"))
		if err != nil || k < 1 {
			return 0, fmt.Errorf("finetune: metric %q: want top_K with K >= 1 (top_5)", n)
		}
		return k, nil
	}
	return 0, fmt.Errorf("finetune: metric %q (want precision, recall, auc or top_K)", n)
}

// CheckMetrics refuses a metric name Config.Metrics (or EvalOptions.Metrics)
// does not know, before any model or data is read (the head is checked
// against them when training or evaluation starts).
func CheckMetrics(names []string) error {
	for _, n := range names {
		if _, err := metricTopK(n); err != nil {
			return err
		}
	}
	return nil
}

// parseMetrics checks names against the head: binary metrics need one
// unit, top_k more than k units.
func parseMetrics(names []string, k lossKind, units int) (*metricAcc, error) {
	if len(names) == 0 {
		return nil, nil
	}
	m := &metricAcc{names: names, k: k}
	for _, n := range names {
		kk, err := metricTopK(n)
		switch {
		case err != nil:
			return nil, err
		case kk == 0 && units != 1:
			return nil, mismatchf("metric %s is for binary heads (one sigmoid unit); the head has %d units: use top_k or accuracy", n, units)
		case kk > 0 && (units < 2 || kk >= units):
			return nil, mismatchf("metric %s needs a head of more than %d classes; it has %d units", n, kk, units)
		case kk > 0:
			m.topK = append(m.topK, kk)
		}
	}
	m.hits = make([]float64, len(m.topK))
	return m, nil
}

// add records one example of weight w (its class weight, else 1: Keras
// weighs metrics by the sample weights its class_weight becomes): row is
// the head's output (probabilities, or logits when k.logits), lab its
// label row.
func (m *metricAcc) add(row, lab []float64, w float64) {
	if m == nil {
		return
	}
	m.n += w
	if len(row) == 1 {
		p := row[0]
		if m.k.logits {
			p = kernels.SigmoidF64(p)
		}
		pos := lab[0] >= 0.5
		if p > 0.5 {
			if pos {
				m.tp += w
			} else {
				m.fp += w
			}
		} else if pos {
			m.fn += w
		}
		for i := 0; i < aucThresholds; i++ {
			if p > aucThreshold(i) {
				if pos {
					m.aucTP[i] += w
				} else {
					m.aucFP[i] += w
				}
			} else if pos {
				m.aucFN[i] += w
			} else {
				m.aucTN[i] += w
			}
		}
		return
	}
	y := int(lab[0])
	if len(lab) > 1 {
		y = argmax(lab)
	}
	// Keras's top_k_categorical_accuracy: the label's score is among the
	// k largest (ties counted for the label, as in_top_k).
	above := 0
	for i, v := range row {
		if i != y && v > row[y] {
			above++
		}
	}
	for j, kk := range m.topK {
		if above < kk {
			m.hits[j] += w
		}
	}
}

// aucThreshold is keras.metrics.AUC's i-th threshold: -eps, (i)/(n-1) for
// i in 1..n-2, 1+eps.
func aucThreshold(i int) float64 {
	switch i {
	case 0:
		return -kerasEpsilon
	case aucThresholds - 1:
		return 1 + kerasEpsilon
	}
	return float64(i) / float64(aucThresholds-1)
}

// results returns the metrics, named with prefix ("" or "val_").
func (m *metricAcc) results(prefix string, out map[string]float64) {
	if m == nil || m.n == 0 {
		return
	}
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0 // Keras's divide_no_nan
		}
		return a / b
	}
	t := 0
	for _, n := range m.names {
		switch {
		case n == MetricPrecision:
			out[prefix+n] = div(m.tp, m.tp+m.fp)
		case n == MetricRecall:
			out[prefix+n] = div(m.tp, m.tp+m.fn)
		case n == MetricAUC:
			// ROC curve, summation_method "interpolation":
			// sum (fpr[i] - fpr[i+1]) * (tpr[i] + tpr[i+1]) / 2.
			var auc float64
			for i := 0; i < aucThresholds-1; i++ {
				tpr0, tpr1 := div(m.aucTP[i], m.aucTP[i]+m.aucFN[i]), div(m.aucTP[i+1], m.aucTP[i+1]+m.aucFN[i+1])
				fpr0, fpr1 := div(m.aucFP[i], m.aucFP[i]+m.aucTN[i]), div(m.aucFP[i+1], m.aucFP[i+1]+m.aucTN[i+1])
				auc += (fpr0 - fpr1) * (tpr0 + tpr1) / 2
			}
			out[prefix+n] = auc
		default:
			out[prefix+n] = m.hits[t] / m.n
			t++
		}
	}
}

// reset clears the counts for the next epoch.
func (m *metricAcc) reset() {
	if m == nil {
		return
	}
	*m = metricAcc{names: m.names, k: m.k, topK: m.topK, hits: make([]float64, len(m.topK))}
}

// metricNames returns the keys of out in order.
func metricNames(out map[string]float64) []string {
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseClassWeight reads a class weight spec "0:1,1:5" (nil for
// "balanced" or "").
func parseClassWeight(spec string) (map[int]float64, error) {
	if spec == "" || spec == "balanced" {
		return nil, nil
	}
	w := map[int]float64{}
	for _, item := range strings.Split(spec, ",") {
		a, b, ok := strings.Cut(item, ":")
		c, err1 := strconv.Atoi(strings.TrimSpace(a))
		v, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if !ok || err1 != nil || err2 != nil || c < 0 || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("finetune: class weights %q: want CLASS:WEIGHT,... (e.g. 0:1,1:5; classes from 0, weights not negative) or balanced", spec)
		}
		w[c] = v
	}
	return w, nil
}

// classWeights returns Keras's class_weight as a slice by class index from
// a spec "0:1,1:5" or "balanced" (n / (classes * count), as scikit-learn's
// compute_class_weight) for labels y of classes classes.
func classWeights(spec string, y []float32, width, classes int) ([]float64, error) {
	if spec == "" {
		return nil, nil
	}
	named, err := parseClassWeight(spec)
	if err != nil {
		return nil, err
	}
	if classes < 2 {
		return nil, mismatchf("class weights need class labels; the labels are not class indices")
	}
	w := make([]float64, classes)
	if spec == "balanced" {
		count := make([]float64, classes)
		n := 0.0
		for i := 0; i < len(y); i += width {
			c := int(y[i])
			if width > 1 {
				c = argmax(y[i : i+width])
			}
			if c >= 0 && c < classes {
				count[c]++
				n++
			}
		}
		for c := range w {
			if count[c] > 0 {
				w[c] = n / (float64(classes) * count[c])
			}
		}
		return w, nil
	}
	for i := range w {
		w[i] = 1 // classes not named weigh 1, as Keras
	}
	for _, c := range slices.Sorted(maps.Keys(named)) {
		v := named[c]
		if c >= classes {
			return nil, mismatchf("class weights %q: class %d, but the labels have classes 0..%d", spec, c, classes-1)
		}
		w[c] = v
	}
	return w, nil
}
