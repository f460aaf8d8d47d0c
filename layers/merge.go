package layers

import (
	"fmt"
	"strings"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// mergeOps maps a Keras merge layer class to its ONNX op and whether the op
// is variadic; Subtract takes exactly two inputs (Keras's rule).
var mergeOps = map[string]struct {
	op       string
	variadic bool
}{
	"Add":      {"Sum", true},
	"Subtract": {"Sub", false},
	"Multiply": {"Mul", false},
	"Average":  {"Mean", true},
	"Maximum":  {"Max", true},
	"Minimum":  {"Min", true},
}

// MergeSpec is a Keras Add, Subtract, Multiply, Average, Maximum or Minimum
// layer.
type MergeSpec struct {
	Common
	Kind string
}

// Merge returns the element-wise merge of the inputs (with broadcasting).
// Two-input Add becomes Add; more inputs use the variadic Sum, Mean, Max,
// Min, or a chain of Mul.
func Merge(s MergeSpec) (*model.Layer, error) {
	m, ok := mergeOps[s.Kind]
	if !ok {
		kinds := make([]string, 0, len(mergeOps))
		for k := range mergeOps {
			kinds = append(kinds, k)
		}
		return nil, fmt.Errorf("layers: layer %q: %q is not a merge kind (%s)", s.Name, s.Kind, strings.Join(kinds, ", "))
	}
	nIn := -2
	if s.Kind == "Subtract" {
		nIn = 2
	}
	b, err := s.builder(s.Kind, nIn)
	if err != nil {
		return nil, err
	}
	var y string
	switch {
	case s.Kind == "Add" && len(s.Inputs) == 2:
		y = b.node("Add", s.Inputs, nil)
	case m.variadic || len(s.Inputs) == 2:
		y = b.node(m.op, s.Inputs, nil)
	default:
		y = s.Inputs[0]
		for _, in := range s.Inputs[1:] {
			y = b.node(m.op, []string{y, in}, nil)
		}
	}
	return s.done(b, y, s.config), nil
}

// config writes a merge layer's config (no settings of its own).
func (s MergeSpec) config() *pyjson.Obj { return baseConfig(s.Name, s.Trainable) }

func readMerge(kind string) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		out := append([]int(nil), c.InShapes[0]...)
		for _, s := range c.InShapes[1:] {
			if len(s) != len(out) {
				return nil, nil, fmt.Errorf("%w: layer %q (%s): inputs have ranks %d and %d", ErrKerasFormat, c.Name, kind, len(out), len(s))
			}
			for i, d := range s {
				if out[i] < 0 || (d > out[i]) {
					out[i] = d
				}
			}
		}
		l, err := Merge(MergeSpec{Common: c.common(), Kind: kind})
		return l, out, err
	}
}
