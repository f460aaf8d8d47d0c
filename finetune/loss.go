package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
)

// Loss names, as Keras spells them.
const (
	LossSparseCategoricalCrossentropy = "sparse_categorical_crossentropy"
	LossCategoricalCrossentropy       = "categorical_crossentropy"
	LossBinaryCrossentropy            = "binary_crossentropy"
	LossMSE                           = "mse"
)

// Losses lists the loss names Config.Loss accepts.
var Losses = []string{LossSparseCategoricalCrossentropy, LossCategoricalCrossentropy, LossBinaryCrossentropy, LossMSE}

// kerasEpsilon is Keras's backend.epsilon(), the clip applied to
// probabilities by its cross-entropy losses.
const kerasEpsilon = 1e-7

// lossKind is a loss applied to the model's head.
type lossKind struct {
	name string
	// logits is true when the loss reads the input of the head's Softmax or
	// Sigmoid: what Keras's TensorFlow backend does in graph mode
	// (backend.sparse_categorical_crossentropy and binary_crossentropy look
	// through the head op to its logits), exact and numerically stable.
	logits bool
	// skipHead is true when the head's Softmax or Sigmoid is passed
	// through so that the loss reads its input (logits is then true); with
	// Keras's from_logits the model's output already is the logits.
	skipHead bool
	// weights are Keras's class_weight by class index (nil: 1): each
	// example's loss and gradient are scaled by its class's weight, the
	// mean still over the batch size (sum_over_batch_size).
	weights []float64
	// width is the number of label values per example: the classes for
	// categorical_crossentropy's one-hot rows, else 1.
	width int
}

// labelWidth returns k.width, at least 1.
func (k lossKind) labelWidth() int { return max(k.width, 1) }

// lossState holds what a loss op measured on its last batch.
type lossState struct {
	loss float64
	// correct counts the examples right (fractions for multi-unit binary
	// heads), each by its class weight; weight sums the class weights
	// (the examples when there are none): accuracy is correct/weight, as
	// Keras weighs its metrics by the sample weights class_weight becomes.
	correct, weight float64
	// rec, when set, receives every example's output and label (metrics).
	rec *metricAcc
}

// classWeight returns the class weight of label row lab.
func (k lossKind) classWeight(lab []float64) float64 {
	if k.weights == nil {
		return 1
	}
	c := int(lab[0])
	if len(lab) > 1 {
		c = argmax(lab)
	}
	if c < 0 || c >= len(k.weights) {
		return 1
	}
	return k.weights[c]
}

// lossOp returns the mean loss over the batch of pred [N, K] against labels
// y [N] (or [N, K] for categorical_crossentropy), recording the number of correct predictions in st (accuracy as
// Keras computes it: argmax for several classes, threshold 0.5 for one
// unit).
func lossOp(k lossKind, pred, y *G.Node, st *lossState) (*G.Node, error) {
	dt, shape := pred.Dtype(), pred.Shape()
	if len(shape) != 2 {
		return nil, fmt.Errorf("finetune: loss %s: prediction shape %v, want [batch, units]", k.name, shape)
	}
	n, c := shape[0], shape[1]
	op := newOp("Loss", dt, nil, 2)
	lw := k.labelWidth()
	if lw > 1 && lw != c {
		return nil, fmt.Errorf("finetune: loss %s: labels of %d classes for a head of %d units", k.name, lw, c)
	}
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		p, lab := toF64(in[0]), toF64(in[1])
		var sum, correct, weight float64
		for r := 0; r < n; r++ {
			row := p[r*c : (r+1)*c]
			y := lab[r*lw : (r+1)*lw]
			l, ok := lossRow(k, row, y)
			if !ok {
				return fmt.Errorf("finetune: loss %s: label %v of example %d is not a class index below %d", k.name, y[0], r, c)
			}
			w := k.classWeight(y)
			sum += l * w
			correct += rowCorrect(k, row, y) * w
			weight += w
			st.rec.add(row, y, w)
		}
		st.loss, st.correct, st.weight = sum/float64(n), correct, weight
		fromF64([]float64{st.loss}, out)
		return nil
	}
	op.wrt = []bool{true, false}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		gop := newOp("LossGrad", dt, shape, 3)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			p, lab, g := toF64(in[0]), toF64(in[1]), toF64(in[2])[0]
			d := make([]float64, n*c)
			for r := 0; r < n; r++ {
				y := lab[r*lw : (r+1)*lw]
				lossRowGrad(k, p[r*c:(r+1)*c], y, g*k.classWeight(y)/float64(n), d[r*c:(r+1)*c])
			}
			fromF64(d, out)
			return nil
		}
		dp, err := gop.apply(in[0], in[1], grad)
		return G.Nodes{dp, nil}, err
	}
	return op.apply(pred, y)
}

func clipProb(p float64) float64 { return min(max(p, kerasEpsilon), 1-kerasEpsilon) }

// lossRow returns the loss of one example against its label row lab (one
// value, or categorical_crossentropy's K); ok is false for a bad label.
func lossRow(k lossKind, row []float64, lab []float64) (float64, bool) {
	y := lab[0]
	switch k.name {
	case LossCategoricalCrossentropy:
		// Keras: -sum(y * log_softmax(logits)), or with probabilities
		// -sum(y * log(clip(p / sum(p), eps, 1-eps))).
		if k.logits {
			lse := logSumExp(row)
			var l float64
			for i, t := range lab {
				if t != 0 {
					l -= t * (row[i] - lse)
				}
			}
			return l, true
		}
		var tot float64
		for _, p := range row {
			tot += p
		}
		var l float64
		for i, t := range lab {
			if t != 0 {
				l -= t * math.Log(clipProb(row[i]/tot))
			}
		}
		return l, true
	case LossSparseCategoricalCrossentropy:
		j := int(y)
		if float64(j) != y || j < 0 || j >= len(row) {
			return 0, false
		}
		if k.logits {
			return logSumExp(row) - row[j], true
		}
		return -math.Log(clipProb(row[j])), true
	case LossBinaryCrossentropy:
		// Keras averages over the units, each against the label.
		var s float64
		for _, z := range row {
			if k.logits {
				// max(z,0) - z*y + log(1+exp(-|z|)): tf.nn.sigmoid_cross_entropy_with_logits.
				s += max(z, 0) - z*y + math.Log1p(math.Exp(-math.Abs(z)))
				continue
			}
			// Keras 2 backend.binary_crossentropy: clip, then log(p + eps).
			p := clipProb(z)
			s -= y*math.Log(p+kerasEpsilon) + (1-y)*math.Log(1-p+kerasEpsilon)
		}
		return s / float64(len(row)), true
	default:
		// Keras broadcasts one label against every unit and averages.
		var s float64
		for _, p := range row {
			s += (p - y) * (p - y)
		}
		return s / float64(len(row)), true
	}
}

// lossRowGrad writes d loss / d row, scaled by s (grad / batch size).
func lossRowGrad(k lossKind, row []float64, lab []float64, s float64, d []float64) {
	y := lab[0]
	switch k.name {
	case LossCategoricalCrossentropy:
		var ty float64
		for _, t := range lab {
			ty += t
		}
		if k.logits {
			// d/dz -sum(y log softmax(z)) = softmax(z)*sum(y) - y.
			softmaxInto(d, row)
			for i := range d {
				d[i] = (d[i]*ty - lab[i]) * s
			}
			return
		}
		// L = -sum_i y_i log(clip(p_i / P)), P = sum p: dL/dp_j =
		// -y_j/p_j [unclipped j] + sum_i[unclipped] y_i / P.
		var tot float64
		for _, p := range row {
			tot += p
		}
		var a float64
		for i, t := range lab {
			if q := row[i] / tot; q > kerasEpsilon && q < 1-kerasEpsilon {
				a += t / tot
			}
		}
		for j := range d {
			d[j] = a * s
			if q := row[j] / tot; q > kerasEpsilon && q < 1-kerasEpsilon && lab[j] != 0 {
				d[j] -= lab[j] / row[j] * s
			}
		}
		return
	case LossSparseCategoricalCrossentropy:
		j := int(y)
		if k.logits {
			softmaxInto(d, row)
			for i := range d {
				d[i] *= s
			}
			d[j] -= s
			return
		}
		clear(d)
		if p := row[j]; p > kerasEpsilon && p < 1-kerasEpsilon {
			d[j] = -s / p
		}
	case LossBinaryCrossentropy:
		s /= float64(len(row))
		for i, z := range row {
			switch {
			case k.logits:
				d[i] = (kernels.SigmoidF64(z) - y) * s
			case z > kerasEpsilon && z < 1-kerasEpsilon:
				d[i] = s * (-y/(z+kerasEpsilon) + (1-y)/(1-z+kerasEpsilon))
			default:
				d[i] = 0
			}
		}
	default:
		for i, p := range row {
			d[i] = 2 * (p - y) * s / float64(len(row))
		}
	}
}

// rowCorrect returns how right a prediction is for Keras's "accuracy":
// 1 or 0 for the argmax against the label (several units, class labels), or
// for binary cross-entropy the fraction of units that round (threshold 0.5,
// or logit 0) to the label, as binary_accuracy; one unit is always rounded.
func rowCorrect(k lossKind, row []float64, lab []float64) float64 {
	y := lab[0]
	if len(lab) > 1 {
		// categorical_accuracy: argmax of prediction against argmax of label.
		y = float64(argmax(lab))
	}
	if len(row) == 1 || k.name == LossBinaryCrossentropy {
		thr := 0.5
		if k.logits {
			thr = 0
		}
		n := 0
		for _, v := range row {
			if (v > thr) == (y == 1) {
				n++
			}
		}
		return float64(n) / float64(len(row))
	}
	if float64(argmax(row)) == y {
		return 1
	}
	return 0
}

// logSumExp returns log(sum(exp(row))), shifted by the row's largest value
// against overflow.
func logSumExp(row []float64) float64 {
	m := row[0]
	for _, v := range row {
		m = max(m, v)
	}
	var s float64
	for _, v := range row {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// softmaxInto writes softmax(row) to d, shifted by the row's largest value
// against overflow.
func softmaxInto(d, row []float64) {
	m := row[0]
	for _, v := range row {
		m = max(m, v)
	}
	var sum float64
	for i, v := range row {
		d[i] = math.Exp(v - m)
		sum += d[i]
	}
	for i := range d {
		d[i] /= sum
	}
}

// argmax returns the index of the first largest value of v.
func argmax[T float32 | float64](v []T) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
