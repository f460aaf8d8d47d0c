package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
	correct int
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
	if k.name == LossBinaryCrossentropy && c != 1 {
		return nil, fmt.Errorf("finetune: loss %s: prediction has %d units per example, labels have 1: use a 1-unit head", k.name, c)
	}
	op := newOp("Loss", dt, nil, 2)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		p, lab := toF64(in[0]), toF64(in[1])
		var sum float64
		correct := 0
		for r := 0; r < n; r++ {
			row := p[r*c : (r+1)*c]
			l, ok := lossRow(k, row, lab[r])
			if !ok {
				return fmt.Errorf("finetune: loss %s: label %v of example %d is not a class index below %d", k.name, lab[r], r, c)
			}
			sum += l
			if rowCorrect(k, row, lab[r]) {
				correct++
			}
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
		z := row[0]
		if k.logits {
			// max(z,0) - z*y + log(1+exp(-|z|)): tf.nn.sigmoid_cross_entropy_with_logits.
			return max(z, 0) - z*y + math.Log1p(math.Exp(-math.Abs(z))), true
		}
		// Keras 2 backend.binary_crossentropy: clip, then log(p + eps).
		p := clipProb(z)
		return -(y*math.Log(p+kerasEpsilon) + (1-y)*math.Log(1-p+kerasEpsilon)), true
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
		z := row[0]
		if k.logits {
			d[0] = (sigmoid(z) - y) * s
			return
		}
		d[0] = 0
		if z > kerasEpsilon && z < 1-kerasEpsilon {
			d[0] = s * (-y/(z+kerasEpsilon) + (1-y)/(1-z+kerasEpsilon))
		}
	default:
		for i, p := range row {
			d[i] = 2 * (p - y) * s / float64(len(row))
		}
	}
}

// rowCorrect says whether a prediction counts as right for Keras's
// "accuracy": the argmax equals the label for several units; for one unit the
// prediction rounds (threshold 0.5, or logit 0) to the label.
func rowCorrect(k lossKind, row []float64, y float64) bool {
	if len(row) == 1 {
		thr := 0.5
		if k.logits {
			thr = 0
		}
		pred := 0.0
		if row[0] > thr {
			pred = 1
		}
		return pred == y
	}
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return float64(best) == y
}
