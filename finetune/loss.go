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
	LossBinaryCrossentropy            = "binary_crossentropy"
	LossMSE                           = "mse"
)

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
}

// lossState holds what a loss op measured on its last batch.
type lossState struct {
	loss    float64
	correct float64 // examples right (fractions for multi-unit binary heads)
}

// lossOp returns the mean loss over the batch of pred [N, K] against labels
// y [N], recording the number of correct predictions in st (accuracy as
// Keras computes it: argmax for several classes, threshold 0.5 for one
// unit).
func lossOp(k lossKind, pred, y *G.Node, st *lossState) (*G.Node, error) {
	dt, shape := pred.Dtype(), pred.Shape()
	if len(shape) != 2 {
		return nil, fmt.Errorf("finetune: loss %s: prediction shape %v, want [batch, units]", k.name, shape)
	}
	n, c := shape[0], shape[1]
	op := newOp("Loss", dt, nil, 2)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		p, lab := toF64(in[0]), toF64(in[1])
		var sum, correct float64
		for r := 0; r < n; r++ {
			row := p[r*c : (r+1)*c]
			l, ok := lossRow(k, row, lab[r])
			if !ok {
				return fmt.Errorf("finetune: loss %s: label %v of example %d is not a class index below %d", k.name, lab[r], r, c)
			}
			sum += l
			correct += rowCorrect(k, row, lab[r])
		}
		st.loss, st.correct = sum/float64(n), correct
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
				lossRowGrad(k, p[r*c:(r+1)*c], lab[r], g/float64(n), d[r*c:(r+1)*c])
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

// lossRow returns the loss of one example; ok is false for a bad label.
func lossRow(k lossKind, row []float64, y float64) (float64, bool) {
	switch k.name {
	case LossSparseCategoricalCrossentropy:
		j := int(y)
		if float64(j) != y || j < 0 || j >= len(row) {
			return 0, false
		}
		if k.logits {
			m := row[0]
			for _, v := range row {
				m = max(m, v)
			}
			var s float64
			for _, v := range row {
				s += math.Exp(v - m)
			}
			return m + math.Log(s) - row[j], true
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
func lossRowGrad(k lossKind, row []float64, y, s float64, d []float64) {
	switch k.name {
	case LossSparseCategoricalCrossentropy:
		j := int(y)
		if k.logits {
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
				d[i] = d[i] / sum * s
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
func rowCorrect(k lossKind, row []float64, y float64) float64 {
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
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	if float64(best) == y {
		return 1
	}
	return 0
}
