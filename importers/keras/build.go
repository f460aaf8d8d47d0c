package keras

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// build turns a model config and its weights into a validated-structure
// model (shape inference is left to the caller's Validate).
func build(cfgJSON []byte, ws weightSource, meta map[string]string) (*model.Model, error) {
	g, err := parseConfig(cfgJSON)
	if err != nil {
		return nil, err
	}
	if k3, ok := ws.(keras3Layout); ok {
		k3.setPaths(keras3Paths(g))
	}
	b := &graphBuilder{
		g:      g,
		ws:     ws,
		major:  majorVersion(meta["keras_version"]),
		shapes: map[string][]int{},
		values: map[string]string{},
		m:      &model.Model{Name: g.name, Opset: model.DefaultOpset, Meta: meta, Sequential: g.class == "Sequential"},
	}
	if b.m.Name == "" {
		b.m.Name = "model"
	}
	if g.class == "Sequential" {
		err = b.sequential()
	} else {
		err = b.functional()
	}
	if err != nil {
		return nil, err
	}
	extra, err := ws.unused()
	if err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("%w: the file holds weights for layers the config does not have: %s (a config that does not belong to these weights?)", ErrFormat, strings.Join(extra, ", "))
	}
	return b.m, nil
}

type graphBuilder struct {
	g      *graphConfig
	ws     weightSource
	major  int
	m      *model.Model
	shapes map[string][]int  // value name -> Keras shape, -1 unknown
	values map[string]string // "layer\x00tensor" -> value name
}

func (b *graphBuilder) sequential() error {
	entries := b.g.layers
	first := entries[0]
	var shapeRaw json.RawMessage
	inName := first.name + "_input"
	if first.class == "InputLayer" {
		shapeRaw = inputShapeOf(first)
		inName = first.name
		entries = entries[1:]
	} else {
		shapeRaw = inputShapeOf(first)
		if shapeRaw == nil {
			shapeRaw = b.g.buildInputShape
		}
		if shapeRaw == nil {
			shapeRaw = first.buildShape
		}
	}
	shape, err := parseShape(shapeRaw)
	if err != nil || len(shape) < 2 {
		return fmt.Errorf("%w: Sequential model %q: cannot tell its input shape (no InputLayer, batch_input_shape, batch_shape or build_input_shape): %v", ErrFormat, b.g.name, err)
	}
	b.addInput(inName, shape)
	x := inName
	for i := range entries {
		e := &entries[i]
		if e.class == "InputLayer" {
			return fmt.Errorf("%w: Sequential model: layer %q: an InputLayer after the first layer", ErrFormat, e.name)
		}
		l, err := b.layer(e, []string{x})
		if err != nil {
			return err
		}
		x = l.Outputs[0]
	}
	if len(entries) == 0 {
		return fmt.Errorf("%w: Sequential model %q has no layers after its input", ErrFormat, b.g.name)
	}
	b.m.Outputs = []string{x}
	return nil
}

func (b *graphBuilder) addInput(name string, shape []int) {
	b.m.Inputs = append(b.m.Inputs, &model.Value{Name: name, DType: model.Float32, Shape: shape})
	b.shapes[name] = shape
}

func key(layer string, tensor int) string { return fmt.Sprintf("%s\x00%d", layer, tensor) }

func (b *graphBuilder) functional() error {
	pending := make([]*layerEntry, 0, len(b.g.layers))
	for i := range b.g.layers {
		pending = append(pending, &b.g.layers[i])
	}
	// Keras lists layers in a topological order; a file that does not is
	// still read, by building whatever is ready until nothing changes.
	for len(pending) > 0 {
		var rest []*layerEntry
		for _, e := range pending {
			if e.class == "InputLayer" {
				shape, err := parseShape(inputShapeOf(*e))
				if err != nil || len(shape) < 1 {
					return fmt.Errorf("%w: InputLayer %q: bad or missing batch shape: %v", ErrFormat, e.name, err)
				}
				b.addInput(e.name, shape)
				l, err := layers.InputLayer(layers.Common{Name: e.name, Inputs: []string{e.name}, Trainable: b.trainable(e), Config: e.config})
				if err != nil {
					return fmt.Errorf("keras: %w", err)
				}
				b.m.Layers = append(b.m.Layers, l)
				b.values[key(e.name, 0)] = e.name
				continue
			}
			if len(e.inbound) == 0 {
				return fmt.Errorf("%w: layer %q (%s) has no inbound nodes: it is not connected to the model", ErrFormat, e.name, e.class)
			}
			ins := make([]string, 0, len(e.inbound))
			ready := true
			for _, r := range e.inbound {
				v, ok := b.values[key(r.layer, r.tensor)]
				if !ok {
					ready = false
					break
				}
				ins = append(ins, v)
			}
			if !ready {
				rest = append(rest, e)
				continue
			}
			l, err := b.layer(e, ins)
			if err != nil {
				return err
			}
			for t, out := range l.Outputs {
				b.values[key(e.name, t)] = out
			}
		}
		if len(rest) == len(pending) {
			e := rest[0]
			return fmt.Errorf("%w: layer %q reads a tensor of a layer that does not exist or forms a cycle (inbound %v)", ErrFormat, e.name, e.inbound)
		}
		pending = rest
	}
	for _, r := range b.g.outputs {
		v, ok := b.values[key(r.layer, r.tensor)]
		if !ok {
			return fmt.Errorf("%w: model output [%q, %d, %d] names no layer output", ErrFormat, r.layer, r.node, r.tensor)
		}
		b.m.Outputs = append(b.m.Outputs, v)
	}
	if len(b.g.inputs) != len(b.m.Inputs) {
		return fmt.Errorf("%w: model lists %d input layers but has %d InputLayers", ErrFormat, len(b.g.inputs), len(b.m.Inputs))
	}
	for i, r := range b.g.inputs {
		if b.m.Inputs[i].Name != r.layer {
			// Keep Keras's input order.
			j := slices.IndexFunc(b.m.Inputs, func(v *model.Value) bool { return v.Name == r.layer })
			if j < 0 {
				return fmt.Errorf("%w: model input %q is not an InputLayer", ErrFormat, r.layer)
			}
			b.m.Inputs[i], b.m.Inputs[j] = b.m.Inputs[j], b.m.Inputs[i]
		}
	}
	return nil
}

func (b *graphBuilder) trainable(e *layerEntry) bool {
	t := true
	if raw, ok := e.cfg["trainable"]; ok {
		if err := json.Unmarshal(raw, &t); err != nil {
			t = true
		}
	}
	return t && b.g.trainable
}

// layer builds one non-input layer reading values ins.
func (b *graphBuilder) layer(e *layerEntry, ins []string) (*model.Layer, error) {
	fn, ok := kinds[e.class]
	if !ok && (e.class == "Sequential" || e.class == "Functional" || e.class == "Model") {
		return nil, fmt.Errorf("keras: %w: layer %q: a nested %s model; flatten it into one model before reading", model.ErrUnsupported, e.name, e.class)
	}
	if !ok {
		what := "layer class"
		if e.module != "" && !strings.HasPrefix(e.module, "keras.") && e.module != "keras" {
			what = "custom layer class (module " + e.module + ")"
		}
		return nil, fmt.Errorf("keras: %w: layer %q: %s %q (supported: %s)", model.ErrUnsupported, e.name, what, e.class, strings.Join(SupportedLayers(), ", "))
	}
	if df, ok := e.cfg["data_format"]; ok {
		var s string
		if json.Unmarshal(df, &s) == nil && s == "channels_first" {
			return nil, fmt.Errorf("keras: %w: layer %q (%s): data_format channels_first (only channels_last is supported)", model.ErrUnsupported, e.name, e.class)
		}
	}
	ws, found, err := b.ws.layer(e.name)
	if err != nil {
		return nil, err
	}
	c := &lctx{e: e, inputs: ins, trainable: b.trainable(e), weights: ws, found: found, major: b.major}
	for _, in := range ins {
		c.inShapes = append(c.inShapes, b.shapes[in])
	}
	l, out, err := fn(c)
	if err != nil {
		var ce *cfgError
		if errors.As(err, &ce) || errors.Is(err, ErrFormat) || errors.Is(err, model.ErrUnsupported) {
			return nil, err
		}
		// A builder refused the layer's settings (package layers' message
		// names the layer and the value).
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(c.weights) != c.used {
		return nil, fmt.Errorf("%w: layer %q (%s): the file stores %d weights, the config needs %d", ErrFormat, e.name, e.class, len(c.weights), c.used)
	}
	b.shapes[l.Outputs[0]] = out
	b.m.Layers = append(b.m.Layers, l)
	return l, nil
}

// SupportedLayers lists the Keras layer classes ReadFile understands, sorted.
func SupportedLayers() []string {
	names := []string{"InputLayer"}
	for k := range kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// inputShapeOf returns batch_shape (Keras 3) or batch_input_shape (Keras 2)
// of a layer config, or nil.
func inputShapeOf(e layerEntry) json.RawMessage {
	for _, k := range []string{"batch_shape", "batch_input_shape"} {
		if v, ok := e.cfg[k]; ok && string(v) != "null" {
			return v
		}
	}
	return nil
}

// parseShape reads [null, 28, 28] into [-1, 28, 28].
func parseShape(raw json.RawMessage) ([]int, error) {
	if raw == nil {
		return nil, fmt.Errorf("no shape")
	}
	var dims []*int
	if err := json.Unmarshal(raw, &dims); err != nil {
		return nil, fmt.Errorf("shape %s: %v", clip(raw), err)
	}
	if len(dims) > 8 {
		return nil, fmt.Errorf("shape %s has rank %d (at most 8)", clip(raw), len(dims))
	}
	out := make([]int, len(dims))
	for i, d := range dims {
		switch {
		case d == nil:
			out[i] = -1
		case *d <= 0 || *d > 1<<31:
			return nil, fmt.Errorf("shape %s: bad dim %d", clip(raw), *d)
		default:
			out[i] = *d
		}
	}
	if len(out) > 0 {
		out[0] = -1 // the batch dim is never fixed in xfer models
	}
	return out, nil
}
