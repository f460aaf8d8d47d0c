package keras

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// ErrConfigDrift reports a layer whose Keras config no longer describes what
// its nodes compute (an edit that changed the nodes but not the config): the
// file would load in Keras as a different model.
var ErrConfigDrift = errors.New("keras: layer config does not match the layer")

// reconcile checks that the Keras config k will write for layer l describes
// what l computes: it reads the layer back from that config and the weights
// being written (layers.ReadKeras, what a Keras reader does with the file);
// a layer that reads back as the same nodes on the same numbers (sameCompute:
// every layer export did not change) passes at once, any other runs beside
// its read-back on the same random input in the engine. A config that does
// not read, or reads as a layer with other numbers, is refused. A layer the
// engine cannot run alone is checked only for reading back.
func reconcile(m *model.Model, l *model.Layer, k *kLayer, shapes map[string]*model.Value) error {
	r, err := readBack(m, l, k, shapes)
	if err != nil || r == nil {
		return err
	}
	if sameCompute(l, r) {
		return nil // the same nodes on the same numbers: nothing to run
	}
	in, ok := probeInputs(l.Inputs, shapes)
	if !ok {
		return nil
	}
	want, err := runAlone(m.Opset, l, in, shapes)
	if err != nil {
		return nil // the engine does not run this layer alone: read-back checked only
	}
	got, err := runAlone(m.Opset, r, in, shapes)
	if err != nil {
		return fmt.Errorf("%w: layer %q (%s): read back from its config it does not run (%v)", ErrConfigDrift, l.Name, l.Kind, err)
	}
	if i, d := probeDiff(want, got); i >= 0 {
		return fmt.Errorf("%w: layer %q (%s): read back from its config it computes other numbers (element %d differs by %.3g); "+
			"the layer was edited without its config: re-import the model or report the operation that did it", ErrConfigDrift, l.Name, l.Kind, i, d)
	}
	return nil
}

// readBack reads layer l back from the Keras config and weights k holds for
// it, as a Keras reader of the file will; nil (and no error) for a layer
// kind without a reader or an input of unknown shape.
func readBack(m *model.Model, l *model.Layer, k *kLayer, shapes map[string]*model.Value) (*model.Layer, error) {
	if !slices.Contains(layers.KerasClasses(), l.Kind) {
		return nil, nil // written from its config as read; no reader to compare with
	}
	raw, err := pyjson.Encode(k.cfg)
	if err != nil {
		return nil, fmt.Errorf("keras: layer %q (%s): config: %w", l.Name, l.Kind, err)
	}
	e := &layers.KerasEntry{Name: l.Name, Class: l.Kind, Config: raw, Inputs: l.Inputs, Trainable: l.Trainable,
		Found: len(k.weights) > 0, Major: kerasMajor(m, k)}
	for _, in := range l.Inputs {
		v := shapes[in]
		if v == nil {
			return nil, nil // unknown input shape: nothing to build the layer for
		}
		e.InShapes = append(e.InShapes, v.Shape)
	}
	for _, w := range k.weights {
		e.Weights = append(e.Weights, layers.StoredWeight{Name: w.role, Shape: w.shape, Data: w.data})
	}
	r, _, err := layers.ReadKeras(e)
	if err != nil {
		return nil, fmt.Errorf("%w: layer %q (%s): its config and weights do not read back as a Keras layer (%v); "+
			"the layer was edited without its config: re-import the model or report the operation that did it", ErrConfigDrift, l.Name, l.Kind, err)
	}
	return r, nil
}

// sameCompute reports whether layers a and b are the same graph on the same
// numbers: their inputs, outputs, nodes (op, inputs, outputs, attributes),
// params (name, shape, values) and constants are equal, so they compute the
// same whatever the input. Node names and param roles do not count. Unequal
// layers may still compute the same: reconcile runs them then.
func sameCompute(a, b *model.Layer) bool {
	if !slices.Equal(a.Inputs, b.Inputs) || !slices.Equal(a.Outputs, b.Outputs) ||
		len(a.Nodes) != len(b.Nodes) || len(a.Params) != len(b.Params) || !reflect.DeepEqual(a.Consts, b.Consts) {
		return false
	}
	for i, n := range a.Nodes {
		o := b.Nodes[i]
		if n.Op != o.Op || !slices.Equal(n.Inputs, o.Inputs) || !slices.Equal(n.Outputs, o.Outputs) ||
			len(n.Attrs) != len(o.Attrs) || (len(n.Attrs) > 0 && !reflect.DeepEqual(n.Attrs, o.Attrs)) {
			return false
		}
	}
	for i, p := range a.Params {
		q := b.Params[i]
		if p.Name != q.Name || !slices.Equal(p.Shape, q.Shape) || !slices.Equal(p.Data, q.Data) {
			return false
		}
	}
	return true
}

// kerasMajor is the Keras generation whose meaning of the layer's config
// counts: the one its activation needs, else the one that wrote the model.
func kerasMajor(m *model.Model, k *kLayer) int {
	switch {
	case k.keras2Only != "":
		return 2
	case k.keras3Only != "":
		return 3
	case strings.HasPrefix(m.Meta["keras_version"], "2."):
		return 2
	}
	return 3
}

// probeInputs makes a seeded random input for each value: batch 1, unknown
// dims 8, floats in [-1, 1), integers 0 (a valid token id). ok is false for
// an input type the probe does not make.
func probeInputs(names []string, shapes map[string]*model.Value) (map[string]*model.Tensor, bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := map[string]*model.Tensor{}
	for _, name := range names {
		v := shapes[name]
		shape := slices.Clone(v.Shape)
		for i, d := range shape {
			if d < 0 {
				shape[i] = 8
				if i == 0 {
					shape[i] = 1
				}
			}
		}
		t := &model.Tensor{Name: name, DType: model.Float32, Shape: shape, F32: make([]float32, model.NumElements(shape))}
		switch {
		case !v.DType.Valid() || v.DType.IsFloat():
			for i := range t.F32 {
				t.F32[i] = float32(2*rng.Float64() - 1)
			}
			t = model.Convert(t, v.DType.Storage())
		case v.DType != model.Bool:
			t = model.Convert(t, v.DType)
		default:
			return nil, false
		}
		in[name] = t
	}
	return in, true
}

// runAlone runs layer l as a model of its own on in.
func runAlone(opset int, l *model.Layer, in map[string]*model.Tensor, shapes map[string]*model.Value) (*model.Tensor, error) {
	c := *l
	c.Scope, c.Shares = "", ""
	m := &model.Model{Name: "reconcile", Opset: opset, Layers: []*model.Layer{&c}, Outputs: []string{l.Outputs[0]}}
	for _, name := range l.Inputs {
		v := shapes[name]
		s := slices.Clone(in[name].Shape)
		s[0] = -1
		m.Inputs = append(m.Inputs, &model.Value{Name: name, DType: v.DType, Shape: s})
	}
	s, err := engine.New(m)
	if err != nil {
		return nil, err
	}
	out, err := s.Run(in)
	if err != nil {
		return nil, err
	}
	return model.Convert(out[l.Outputs[0]], model.Float32), nil
}

// probeDiff returns the first element where a and b differ by more than
// 1e-4 + 1e-4*|a| and by how much, or -1 when they agree (shapes included).
func probeDiff(a, b *model.Tensor) (int, float64) {
	if !slices.Equal(a.Shape, b.Shape) {
		return 0, math.Inf(1)
	}
	for i := range a.F32 {
		x, y := float64(a.F32[i]), float64(b.F32[i])
		if d := math.Abs(x - y); !(d <= 1e-4+1e-4*math.Abs(x)) && !(math.IsNaN(x) && math.IsNaN(y)) {
			return i, d
		}
	}
	return -1, 0
}
