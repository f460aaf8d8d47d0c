package finetune

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gorgonia.org/tensor"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// engineChunk is how many examples Evaluate hands the engine at a time.
const engineChunk = 1000

// Evaluate returns m's loss and accuracy on set, in inference mode. loss
// names the loss ("" chooses it from the head as Train does). It runs the
// engine (faster than the training graph; with a Softmax or Sigmoid head it
// runs the model without it and computes the loss from the logits, exactly
// as training does) and falls back to the training lowering for models the
// engine cannot run.
func Evaluate(m *model.Model, set *dataset.Set, loss string) (Metrics, error) {
	return EvaluateWith(m, set, EvalOptions{Loss: loss})
}

// EvalOptions are EvaluateWith's settings.
type EvalOptions struct {
	// Loss names the loss ("" chooses it from the head as Train does).
	Loss string
	// FromLogits says the head outputs logits (Keras's from_logits=True).
	FromLogits bool
	// Metrics are Keras metrics beyond accuracy, as Config.Metrics
	// (precision, recall, auc, top_K), in Metrics.Metrics. As Keras's
	// evaluate, and as Train's validation metrics, they are not weighed by
	// class.
	Metrics []string
}

// EvaluateWith is Evaluate with options: it reports the figures Train
// reports for its validation set, the same way.
func EvaluateWith(m *model.Model, set *dataset.Set, o EvalOptions) (Metrics, error) {
	if set == nil || set.Len() == 0 {
		return Metrics{}, fmt.Errorf("finetune: evaluation set is empty")
	}
	k, err := chooseLossFor(m, o.Loss, o.FromLogits, labelsOf(set))
	if err != nil {
		return Metrics{}, err
	}
	_, units, err := headOf(m)
	if err != nil {
		return Metrics{}, err
	}
	met, err := parseMetrics(o.Metrics, k, units)
	if err != nil {
		return Metrics{}, err
	}
	t := &trainer{m: m, loss: k, st: nil, eval: map[int]*graph{}, valMet: met}
	t.rowSize = 1
	for _, d := range m.Inputs[0].Shape[1:] {
		t.rowSize *= d
	}
	if err := t.checkSet(set, "evaluation"); err != nil {
		return Metrics{}, &mismatchError{strings.TrimPrefix(err.Error(), "finetune: ")}
	}
	res, err := evaluateEngine(m, set, k, met)
	if err != nil {
		met.reset()
		t.st = newStore(m, tensor.Float32)
		if res, err = t.evaluate(set); err != nil {
			return Metrics{}, err
		}
	}
	if met != nil {
		res.Metrics = map[string]float64{}
		met.results("", res.Metrics)
	}
	return res, nil
}

// evaluateEngine computes the loss and accuracy with the engine, and
// records each example in met (nil: no metrics).
func evaluateEngine(m *model.Model, set *dataset.Set, k lossKind, met *metricAcc) (Metrics, error) {
	em := m
	if k.skipHead {
		var err error
		if em, err = withoutHead(m); err != nil {
			return Metrics{}, err
		}
	}
	s, err := engine.New(em)
	if err != nil {
		return Metrics{}, err
	}
	rs, lw := set.RowSize(), set.LabelWidth()
	var sum, correct float64
	order := set.Order(nil)
	xb := make([]float32, min(engineChunk, set.Len())*rs)
	yb := make([]float32, min(engineChunk, set.Len())*lw)
	for lo := 0; lo < set.Len(); lo += engineChunk {
		hi := min(lo+engineChunk, set.Len())
		if err := set.Batch(order[lo:hi], xb, yb); err != nil {
			return Metrics{}, err
		}
		shape := append([]int{hi - lo}, m.Inputs[0].Shape[1:]...)
		x := &model.Tensor{DType: model.Float32, Shape: shape, F32: xb[:(hi-lo)*rs]}
		out, err := s.Predict(x)
		if err != nil {
			return Metrics{}, err
		}
		units := len(out.F32) / (hi - lo)
		row := make([]float64, units)
		lab := make([]float64, lw)
		for i := lo; i < hi; i++ {
			for j, v := range out.F32[(i-lo)*units : (i-lo+1)*units] {
				row[j] = float64(v)
			}
			for j, v := range yb[(i-lo)*lw : (i-lo+1)*lw] {
				lab[j] = float64(v)
			}
			l, ok := lossRow(k, row, lab)
			if !ok {
				return Metrics{}, fmt.Errorf("finetune: loss %s: label %v of example %d is not a class index below %d", k.name, lab[0], i, units)
			}
			sum += l
			correct += rowCorrect(k, row, lab)
			met.add(row, lab, 1)
		}
	}
	n := float64(set.Len())
	if math.IsNaN(sum) {
		return Metrics{}, fmt.Errorf("finetune: loss is NaN")
	}
	return Metrics{Loss: sum / n, Accuracy: correct / n, Samples: set.Len()}, nil
}

// withoutHead returns a copy of m without its head Softmax/Sigmoid node:
// the model then outputs the logits.
func withoutHead(m *model.Model) (*model.Model, error) {
	head := headNode(m)
	if head == nil || len(head.Inputs) != 1 {
		return nil, fmt.Errorf("finetune: no head node")
	}
	c := m.Clone()
	from, to := head.Outputs[0], head.Inputs[0]
	swap := func(names []string) {
		for i, n := range names {
			if n == from {
				names[i] = to
			}
		}
	}
	for _, l := range c.Layers {
		l.Nodes = slices.DeleteFunc(l.Nodes, func(n *model.Node) bool { return n.Name == head.Name })
		for _, n := range l.Nodes {
			swap(n.Inputs)
		}
		swap(l.Inputs)
		swap(l.Outputs)
	}
	swap(c.Outputs)
	return c, nil
}
