package finetune

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/model"
)

// ErrMismatch reports a model, loss and data set that do not fit together
// (the head's units or activation against the labels, the input shape, the
// value range), found before any training step: nothing was changed. The
// command reports it as a usage error.
var ErrMismatch = errors.New("finetune: model, loss and data do not match")

// mismatchf returns an error wrapping ErrMismatch. Messages start with
// "finetune: " and say what to do.
func mismatchf(format string, a ...any) error {
	return &mismatchError{fmt.Sprintf(format, a...)}
}

type mismatchError struct{ msg string }

func (e *mismatchError) Error() string { return "finetune: " + e.msg }
func (e *mismatchError) Unwrap() error { return ErrMismatch }

// labelInfo describes a data set's labels.
type labelInfo struct {
	name    string
	classes int  // class count when the labels are class indices (or one-hot rows), else 0
	oneHot  bool // rows of classes values
	lo, hi  float64
}

func labelsOf(s *dataset.Set) labelInfo {
	li := labelInfo{name: s.Name, classes: s.Classes, oneHot: s.OneHot, lo: math.Inf(1), hi: math.Inf(-1)}
	for _, v := range s.Y {
		li.lo, li.hi = min(li.lo, float64(v)), max(li.hi, float64(v))
	}
	return li
}

// labelRange renders the labels for messages: "class indices 0..7 (8
// classes)", "one-hot rows of 3 classes", "values -1.5..2".
func (li labelInfo) String() string {
	switch {
	case li.oneHot:
		return fmt.Sprintf("one-hot rows of %d classes", li.classes)
	case li.classes > 0:
		return fmt.Sprintf("class indices %g..%g (%d classes)", li.lo, li.hi, li.classes)
	}
	return fmt.Sprintf("values %g..%g", li.lo, li.hi)
}

// headInfo describes the model's head.
type headInfo struct {
	op    string // "Softmax", "Sigmoid", or another op: the output is then not probabilities
	units int
}

func (h headInfo) String() string {
	s := ""
	if h.units != 1 {
		s = "s"
	}
	switch h.op {
	case "Softmax":
		return fmt.Sprintf("%d softmax unit%s", h.units, s)
	case "Sigmoid":
		return fmt.Sprintf("%d sigmoid unit%s", h.units, s)
	}
	return fmt.Sprintf("%d linear unit%s (%s)", h.units, s, h.op)
}

// headHint says how to give the model a head fitting li.
func headHint(li labelInfo) string {
	switch {
	case li.classes == 2 && !li.oneHot:
		return "for 2 classes give it one sigmoid unit (xfer drop-head && xfer add-head --units 1 --activation sigmoid) or 2 softmax units"
	case li.classes > 0:
		return fmt.Sprintf("for %d classes give it %d softmax units (xfer drop-head && xfer add-head --units %d --activation softmax)", li.classes, li.classes, li.classes)
	}
	return "for regression targets give it a linear head and --loss mse"
}

// chooseLossFor picks (when name is "") and checks the loss for m's head
// and the labels li; fromLogits says the head outputs logits (Keras's
// from_logits=True). A mismatch wraps ErrMismatch and says what to do.
func chooseLossFor(m *model.Model, name string, fromLogits bool, li labelInfo) (lossKind, error) {
	node, units, err := headOf(m)
	if err != nil {
		return lossKind{}, err
	}
	h := headInfo{op: "none", units: units}
	if node != nil {
		h.op = node.Op
	}
	probs := h.op == "Softmax" || h.op == "Sigmoid"
	if fromLogits && probs {
		return lossKind{}, mismatchf("--from-logits: the head already applies %s; from_logits is for a head that outputs logits (a linear Dense)", strings.ToLower(h.op))
	}
	if name == "" {
		switch {
		case (h.op == "Softmax" || fromLogits && units > 1) && li.oneHot:
			name = LossCategoricalCrossentropy
		case (h.op == "Softmax" || fromLogits && units > 1) && li.classes > 0:
			name = LossSparseCategoricalCrossentropy
		case (h.op == "Sigmoid" || fromLogits) && units == 1:
			name = LossBinaryCrossentropy
		default:
			name = LossMSE
		}
	}
	k := lossKind{name: name, width: 1}
	ce := name != LossMSE
	if ce && !probs && !fromLogits {
		return k, mismatchf("loss %s needs probabilities, but the model's head is %s: give --from-logits if it outputs logits, or end the model with softmax/sigmoid", name, h)
	}
	k.logits = ce
	k.skipHead = ce && probs
	if err := checkLabels(k, h, li); err != nil {
		return k, err
	}
	if name == LossCategoricalCrossentropy {
		k.width = units
	}
	return k, nil
}

// checkLabels checks labels li against loss k and head h.
func checkLabels(k lossKind, h headInfo, li labelInfo) error {
	if math.IsInf(li.lo, 0) { // no labels
		return nil
	}
	switch k.name {
	case LossSparseCategoricalCrossentropy:
		switch {
		case li.oneHot:
			return mismatchf("the labels of %s are %s: use --loss %s (or give class indices)", li.name, li, LossCategoricalCrossentropy)
		case li.classes == 0:
			return mismatchf("the labels of %s are %s, not class indices, but the loss is %s: use --loss mse for regression targets", li.name, li, k.name)
		case h.units == 1:
			return mismatchf("the labels of %s are %s but the head has 1 unit, and %s needs one unit per class: %s", li.name, li, k.name, headHint(li))
		case li.hi >= float64(h.units):
			return mismatchf("the labels of %s are %s but the head has only %d units: %s", li.name, li, h.units, headHint(li))
		}
	case LossCategoricalCrossentropy:
		switch {
		case !li.oneHot:
			return mismatchf("the labels of %s are %s, not one-hot rows, but the loss is %s: use --loss %s", li.name, li, k.name, LossSparseCategoricalCrossentropy)
		case li.classes != h.units:
			return mismatchf("the labels of %s are %s but the head has %d units: %s", li.name, li, h.units, headHint(li))
		}
	case LossBinaryCrossentropy:
		switch {
		case li.oneHot:
			return mismatchf("the labels of %s are %s, but %s takes one 0/1 label per example: use --loss %s", li.name, li, k.name, LossCategoricalCrossentropy)
		case li.lo < 0 || li.hi > 1:
			return mismatchf("the labels of %s are %s but %s needs labels in [0, 1] (the head is %s): %s", li.name, li, k.name, h, headHint(li))
		}
	case LossMSE:
		if li.oneHot && h.units != li.classes {
			return mismatchf("the labels of %s are %s but the head has %d units", li.name, li, h.units)
		}
		if li.oneHot {
			return mismatchf("the labels of %s are %s; mse takes one target per example here: use --loss %s", li.name, li, LossCategoricalCrossentropy)
		}
	}
	return nil
}

// rawRangeLimit is the largest input value read as raw 8-bit data.
const rawRangeLimit = 255

// checkRange refuses image-like data (an example of rank >= 2) in the raw
// 8-bit range (values up to 255, some above 1.5) fed without --rescale to
// a model with no Rescaling or Normalization layer: SGD on 0..255 inputs
// explodes or stalls, where Keras users put Rescaling(1/255) first.
func checkRange(m *model.Model, s *dataset.Set) error {
	if s == nil || len(s.Shape()) < 2 || s.Rescale.Scale != 0 {
		return nil
	}
	lo, hi := s.Range()
	if math.IsNaN(lo) || lo < 0 || hi <= 1.5 || hi > rawRangeLimit {
		return nil
	}
	for _, l := range m.Layers {
		if l.Kind == "Rescaling" || l.Kind == "Normalization" {
			return nil
		}
	}
	return mismatchf("the inputs of %s range %g..%g (raw 8-bit values) but model %q has no Rescaling layer: add --rescale 1/255 (Keras's Rescaling(1./255)), or --rescale 1 to train on them as they are", s.Name, lo, hi, m.Name)
}

// Check runs the checks Train makes before its first step: the loss
// against the head and the labels of train and valid (class count, range,
// one-hot or sparse), the input shape, and the value range. A mismatch
// wraps ErrMismatch and names what to change.
func Check(m *model.Model, train, valid *dataset.Set, cfg Config) error {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return err
	}
	_, err := checkRun(m, train, valid, &cfg)
	return err
}

// checkRun checks and returns the loss of a run.
func checkRun(m *model.Model, train, valid *dataset.Set, cfg *Config) (lossKind, error) {
	if train == nil || train.Len() == 0 {
		return lossKind{}, mismatchf("the training set is empty")
	}
	if err := mergeModelAugmentation(m, cfg); err != nil {
		return lossKind{}, err
	}
	k, err := chooseLossFor(m, cfg.Loss, cfg.FromLogits, labelsOf(train))
	if err != nil {
		return k, err
	}
	rs := 1
	for _, d := range m.Inputs[0].Shape[1:] {
		rs *= d
	}
	for _, s := range []*dataset.Set{train, valid} {
		if s == nil {
			continue
		}
		if s.Len() == 0 {
			return k, mismatchf("the data set %s is empty", s.Name)
		}
		if s.RowSize() != rs {
			return k, mismatchf("%s has examples of shape %v (%d values) but model input %q takes %v (%d values): for images:DIR give --image-size and --color-mode to match", s.Name, s.Shape(), s.RowSize(), m.Inputs[0].Name, m.Inputs[0].Shape[1:], rs)
		}
		if s != train {
			_, units, _ := headOf(m)
			node := headNode(m)
			h := headInfo{units: units}
			if node != nil {
				h.op = node.Op
			}
			if err := checkLabels(k, h, labelsOf(s)); err != nil {
				return k, err
			}
		}
		if err := checkRange(m, s); err != nil {
			return k, err
		}
	}
	if cfg.Augment != nil {
		if n := len(train.Shape()); n < 2 || n > 3 {
			return k, mismatchf("--augment needs image examples ([H W] or [H W C]); %s has examples of shape %v", train.Name, train.Shape())
		}
	}
	return k, nil
}
