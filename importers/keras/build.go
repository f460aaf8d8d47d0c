package keras

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/internal/pyjson"
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
	b.m.SyncTrainable()
	intInputsToEmbeddings(b.m)
	return b.m, nil
}

// inputDType is an InputLayer's dtype: Int32 or Int64 for Keras's integer
// inputs (token ids), Float32 for everything else (xfer computes in
// float32).
func inputDType(e *layerEntry) model.DType {
	var dt string
	if json.Unmarshal(e.cfg["dtype"], &dt) != nil {
		return model.Float32
	}
	switch dt {
	case "int32", "int16", "int8", "uint8", "uint16":
		return model.Int32
	case "int64", "uint32":
		return model.Int64
	}
	return model.Float32
}

// intInputsToEmbeddings keeps an integer model input only where every layer
// reading it is an Embedding (which casts ids as Keras does); an integer
// input read by another layer, which Keras would cast to its float compute
// dtype, is read as float32.
func intInputsToEmbeddings(m *model.Model) {
	for _, v := range m.Inputs {
		if v.DType == model.Float32 {
			continue
		}
		for _, l := range m.Layers {
			if l.Kind != "InputLayer" && l.Kind != "Embedding" && slices.Contains(l.Inputs, v.Name) {
				v.DType = model.Float32
				break
			}
		}
	}
}

type graphBuilder struct {
	g      *graphConfig
	ws     weightSource
	major  int
	m      *model.Model
	shapes map[string][]int  // value name -> Keras shape, -1 unknown
	values map[string]string // key(scope, layer, node, tensor) -> value name
}

// level is one model of the config being built: the model itself (scope "")
// or a nested one.
type level struct {
	g     *graphConfig
	scope string   // the Submodel path, "" at the top
	ins   []string // nested: the values the model is called on
}

// path returns the full name of a layer called name at this level.
func (lv level) path(name string) string {
	if lv.scope == "" {
		return name
	}
	return lv.scope + "/" + name
}

func (b *graphBuilder) sequential() error {
	entries := b.g.layers
	first := entries[0]
	var shapeRaw json.RawMessage
	inName := first.name + "_input"
	if first.class == "InputLayer" {
		shapeRaw = inputShapeOf(first)
		inName = first.name
	} else {
		shapeRaw = inputShapeOf(first)
		if shapeRaw == nil {
			shapeRaw = b.g.buildInputShape
		}
		if shapeRaw == nil {
			shapeRaw = first.buildShape
		}
		if shapeRaw == nil && first.sub != nil {
			shapeRaw = firstInputShape(first.sub)
		}
	}
	shape, err := parseShape(shapeRaw)
	if err != nil || len(shape) < 2 {
		return fmt.Errorf("%w: Sequential model %q: cannot tell its input shape (no InputLayer, batch_input_shape, batch_shape or build_input_shape): %v", ErrFormat, b.g.name, err)
	}
	dt := model.Float32
	if first.class == "InputLayer" {
		dt = inputDType(&first)
	}
	b.addInput(inName, shape, dt)
	outs, err := b.chain(level{g: b.g}, inName)
	if err != nil {
		return err
	}
	b.m.Outputs = outs
	return nil
}

// firstInputShape returns the input shape a nested model declares, for a
// Sequential model whose first layer is that nested model.
func firstInputShape(g *graphConfig) json.RawMessage {
	if len(g.layers) == 0 {
		return nil
	}
	if s := inputShapeOf(g.layers[0]); s != nil {
		return s
	}
	if g.buildInputShape != nil {
		return g.buildInputShape
	}
	return g.layers[0].buildShape
}

// chain builds the layers of a Sequential model at level lv on value x and
// returns its output. A leading InputLayer of a nested Sequential model is
// kept as a layer with no nodes (so that its name survives export); at the
// top it is the graph input.
func (b *graphBuilder) chain(lv level, x string) ([]string, error) {
	entries := lv.g.layers
	if len(entries) > 0 && entries[0].class == "InputLayer" {
		if lv.scope != "" {
			if err := b.innerInput(lv, &entries[0], x); err != nil {
				return nil, err
			}
		}
		entries = entries[1:]
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: Sequential model %q has no layers after its input", ErrFormat, lv.g.name)
	}
	for i := range entries {
		e := &entries[i]
		if e.class == "InputLayer" {
			return nil, fmt.Errorf("%w: Sequential model %q: layer %q: an InputLayer after the first layer", ErrFormat, lv.g.name, e.name)
		}
		outs, err := b.callEntry(lv, e, 0, call{}, []string{x})
		if err != nil {
			return nil, err
		}
		if len(outs) != 1 {
			return nil, fmt.Errorf("%w: Sequential model %q: layer %q returns %d tensors; a Sequential layer returns one", ErrFormat, lv.g.name, e.name, len(outs))
		}
		x = outs[0]
	}
	return []string{x}, nil
}

// innerInput adds the InputLayer of a nested model: a layer with no nodes
// that passes on the value v the nested model is called on.
func (b *graphBuilder) innerInput(lv level, e *layerEntry, v string) error {
	l, err := layers.InputLayer(layers.Common{Name: lv.path(e.name), Inputs: []string{v}, Trainable: b.trainable(e), Config: e.config})
	if err != nil {
		return fmt.Errorf("keras: %w", err)
	}
	l.Scope = lv.scope
	b.m.Layers = append(b.m.Layers, l)
	b.values[key(lv.scope, e.name, 0, 0)] = v
	return nil
}

func (b *graphBuilder) addInput(name string, shape []int, dt model.DType) {
	b.m.Inputs = append(b.m.Inputs, &model.Value{Name: name, DType: dt, Shape: shape})
	b.shapes[name] = shape
}

func key(scope, layer string, node, tensor int) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d", scope, layer, node, tensor)
}

func (b *graphBuilder) functional() error {
	outs, err := b.graph(level{g: b.g})
	if err != nil {
		return err
	}
	b.m.Outputs = outs
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

// pendingCall is one call of a layer entry waiting for its inputs.
type pendingCall struct {
	e    *layerEntry
	node int
}

// graph builds the layers of a Functional model at level lv and returns the
// values of its outputs. At the top, InputLayers become graph inputs; in a
// nested model they pass on the values it is called on (lv.ins, in the order
// of its input_layers).
func (b *graphBuilder) graph(lv level) ([]string, error) {
	g := lv.g
	var pending []pendingCall
	for i := range g.layers {
		e := &g.layers[i]
		if e.class == "InputLayer" {
			pending = append(pending, pendingCall{e, 0})
			continue
		}
		if len(e.calls) == 0 {
			return nil, fmt.Errorf("%w: layer %q (%s) has no inbound nodes: it is not connected to the model", ErrFormat, lv.path(e.name), e.class)
		}
		for n := range e.calls {
			pending = append(pending, pendingCall{e, n})
		}
	}
	// Keras lists layers in a topological order of their first calls; a
	// later call of a shared layer, and a file that does not keep the order,
	// are still read, by building whatever is ready until nothing changes.
	for len(pending) > 0 {
		var rest []pendingCall
		for _, pc := range pending {
			e := pc.e
			if e.class == "InputLayer" {
				if err := b.inputLayer(lv, e); err != nil {
					return nil, err
				}
				continue
			}
			c := e.calls[pc.node]
			ins := make([]string, 0, len(c.refs))
			ready := true
			for _, r := range c.refs {
				v, ok := b.values[key(lv.scope, r.layer, r.node, r.tensor)]
				if !ok {
					ready = false
					break
				}
				ins = append(ins, v)
			}
			if !ready {
				rest = append(rest, pc)
				continue
			}
			outs, err := b.callEntry(lv, e, pc.node, c, ins)
			if err != nil {
				return nil, err
			}
			for t, out := range outs {
				b.values[key(lv.scope, e.name, pc.node, t)] = out
			}
		}
		if len(rest) == len(pending) {
			pc := rest[0]
			return nil, fmt.Errorf("%w: layer %q reads a tensor of a layer that does not exist or forms a cycle (call %d reads %v)", ErrFormat, lv.path(pc.e.name), pc.node, pc.e.calls[pc.node].refs)
		}
		pending = rest
	}
	var outs []string
	for _, r := range g.outputs {
		v, ok := b.values[key(lv.scope, r.layer, r.node, r.tensor)]
		if !ok {
			return nil, fmt.Errorf("%w: model %q: output [%q, %d, %d] names no layer output", ErrFormat, g.name, r.layer, r.node, r.tensor)
		}
		outs = append(outs, v)
	}
	return outs, nil
}

// inputLayer handles an InputLayer of the Functional model at level lv.
func (b *graphBuilder) inputLayer(lv level, e *layerEntry) error {
	if lv.scope != "" {
		i := slices.IndexFunc(lv.g.inputs, func(r ref) bool { return r.layer == e.name })
		if i < 0 || i >= len(lv.ins) {
			return fmt.Errorf("%w: nested model %q: InputLayer %q is not one of its %d inputs", ErrFormat, lv.scope, e.name, len(lv.ins))
		}
		return b.innerInput(lv, e, lv.ins[i])
	}
	shape, err := parseShape(inputShapeOf(*e))
	if err != nil || len(shape) < 1 {
		return fmt.Errorf("%w: InputLayer %q: bad or missing batch shape: %v", ErrFormat, e.name, err)
	}
	b.addInput(e.name, shape, inputDType(e))
	l, err := layers.InputLayer(layers.Common{Name: e.name, Inputs: []string{e.name}, Trainable: b.trainable(e), Config: e.config})
	if err != nil {
		return fmt.Errorf("keras: %w", err)
	}
	b.m.Layers = append(b.m.Layers, l)
	b.values[key("", e.name, 0, 0)] = e.name
	return nil
}

// callEntry builds call node of entry e at level lv on values ins and
// returns the values it outputs: a layer, a further call site of a shared
// layer, or a nested model.
func (b *graphBuilder) callEntry(lv level, e *layerEntry, node int, c call, ins []string) ([]string, error) {
	if e.sub != nil {
		if node > 0 {
			return nil, fmt.Errorf("keras: %w: nested model %q is called %d times; a nested model called more than once is not supported (flatten it, or call it once)", model.ErrUnsupported, lv.path(e.name), len(e.calls))
		}
		return b.nested(lv, e, c, ins)
	}
	ec := *e
	ec.name = lv.path(e.name)
	if node == 0 {
		l, err := b.layer(&ec, ins)
		if err != nil {
			return nil, err
		}
		l.Scope = lv.scope
		return l.Outputs, nil
	}
	return b.sharedCall(lv, &ec, node, ins)
}

// sharedCall builds call node (>= 1) of the shared layer e (named by its
// full path): a layer named "<name>@<node>" whose nodes read the params of
// the layer's first call.
func (b *graphBuilder) sharedCall(lv level, e *layerEntry, node int, ins []string) ([]string, error) {
	owner := b.m.Layer(e.name)
	if owner == nil {
		return nil, fmt.Errorf("%w: layer %q: call %d comes before its first call", ErrFormat, e.name, node)
	}
	ec := *e
	ec.name = fmt.Sprintf("%s@%d", e.name, node)
	if b.m.Layer(ec.name) != nil {
		return nil, fmt.Errorf("%w: layer %q: the name of call %d of %q is taken", ErrFormat, ec.name, node, e.name)
	}
	l, err := b.layerAs(&ec, e.name, ins)
	if err != nil {
		return nil, err
	}
	rename := map[string]string{}
	for _, p := range l.Params {
		q := owner.Param(p.Role)
		if q == nil || !slices.Equal(q.Shape, p.Shape) {
			return nil, fmt.Errorf("%w: layer %q: call %d needs weight %q %v, which its first call does not have", ErrFormat, e.name, node, p.Role, p.Shape)
		}
		rename[p.Name] = q.Name
	}
	if len(l.Params) != len(owner.Params) {
		return nil, fmt.Errorf("%w: layer %q: call %d uses %d weights, its first call %d", ErrFormat, e.name, node, len(l.Params), len(owner.Params))
	}
	for _, n := range l.Nodes {
		for i, in := range n.Inputs {
			if r, ok := rename[in]; ok {
				n.Inputs[i] = r
			}
		}
	}
	l.Params, l.Config, l.Shares, l.Scope = nil, nil, owner.Name, lv.scope
	l.Trainable = owner.Trainable
	return l.Outputs, nil
}

// nested builds a nested model: its Submodel, then its layers, scoped.
func (b *graphBuilder) nested(lv level, e *layerEntry, c call, ins []string) ([]string, error) {
	path := lv.path(e.name)
	kind := e.sub.class
	if kind == "Model" {
		kind = "Functional"
	}
	cfg, err := withoutKey(e.config, "layers")
	if err != nil {
		return nil, fmt.Errorf("%w: nested model %q: config: %v", ErrFormat, path, err)
	}
	sm := &model.Submodel{Name: path, Kind: kind, Trainable: e.sub.trainable, Training: c.training,
		Inputs: slices.Clone(ins), Config: cfg}
	b.m.Submodels = append(b.m.Submodels, sm)
	inner := level{g: e.sub, scope: path, ins: ins}
	var outs []string
	if kind == "Sequential" {
		if len(ins) != 1 {
			return nil, fmt.Errorf("%w: nested Sequential model %q is called on %d tensors; it takes one", ErrFormat, path, len(ins))
		}
		outs, err = b.chain(inner, ins[0])
	} else {
		if len(e.sub.inputs) != len(ins) {
			return nil, fmt.Errorf("%w: nested model %q has %d inputs and is called on %d tensors", ErrFormat, path, len(e.sub.inputs), len(ins))
		}
		outs, err = b.graph(inner)
	}
	if err != nil {
		return nil, err
	}
	if lo, hi := b.m.SubmodelRange(path); lo == hi {
		return nil, fmt.Errorf("%w: nested model %q has no layers", ErrFormat, path)
	}
	sm.Outputs = outs
	return outs, nil
}

// withoutKey returns the JSON object raw without key, keeping the order of
// the other keys.
func withoutKey(raw json.RawMessage, key string) (json.RawMessage, error) {
	o, err := pyjson.ParseObj(raw)
	if err != nil {
		return nil, err
	}
	o.Del(key)
	return pyjson.Encode(o)
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
	return b.layerAs(e, e.name, ins)
}

// layerAs builds layer e (named by its full path) with the stored weights of
// the layer called weightsOf: itself, or the first call of a shared layer.
func (b *graphBuilder) layerAs(e *layerEntry, weightsOf string, ins []string) (*model.Layer, error) {
	if _, ok := kerasClasses[e.class]; !ok && !isOperation(e) {
		what := "layer class"
		if e.module != "" && !strings.HasPrefix(e.module, "keras.") && e.module != "keras" {
			what = "custom layer class (module " + e.module + ")"
		}
		return nil, fmt.Errorf("keras: %w: layer %q: %s %q (supported: %s)", model.ErrUnsupported, e.name, what, e.class, strings.Join(SupportedLayers(), ", "))
	}
	if df, ok := e.cfg["data_format"]; ok {
		var s string
		// Cropping2D reads channels_first itself (a channel split in Keras
		// layers crops axes 2 and 3 of an NHWC tensor).
		if json.Unmarshal(df, &s) == nil && s == "channels_first" && e.class != "Cropping2D" {
			return nil, fmt.Errorf("keras: %w: layer %q (%s): data_format channels_first (only channels_last is supported)", model.ErrUnsupported, e.name, e.class)
		}
	}
	var inShapes [][]int
	for _, in := range ins {
		inShapes = append(inShapes, b.shapes[in])
	}
	var l *model.Layer
	var out []int
	var err error
	switch {
	case isOperation(e): // operation nodes hold no weights and have no save path
		l, out, err = operation(&lctx{e: e, inputs: ins, inShapes: inShapes, trainable: b.trainable(e)})
	case e.class == "TFOpLambda":
		var ws []weight
		if ws, _, err = b.ws.layer(weightsOf); err != nil {
			return nil, err
		}
		if len(ws) > 0 {
			return nil, fmt.Errorf("%w: layer %q (%s): the file stores %d weights, the config needs 0", ErrFormat, e.name, e.class, len(ws))
		}
		l, out, err = tfOpLambdaLayer(&lctx{e: e, inputs: ins, inShapes: inShapes, trainable: b.trainable(e)})
	default:
		var ws []weight
		var found bool
		if ws, found, err = b.ws.layer(weightsOf); err != nil {
			return nil, err
		}
		ke := &layers.KerasEntry{Name: e.name, Class: e.class, Module: e.module, Config: e.config, Inputs: ins,
			InShapes: inShapes, Trainable: b.trainable(e), Found: found, Major: b.major}
		for _, w := range ws {
			ke.Weights = append(ke.Weights, layers.StoredWeight{Name: w.name, Shape: w.shape, Data: w.data, Err: w.intErr})
		}
		l, out, err = layers.ReadKeras(ke)
	}
	if err != nil {
		if errors.Is(err, ErrFormat) || errors.Is(err, model.ErrUnsupported) {
			return nil, err
		}
		// A builder refused the layer's settings (package layers' message
		// names the layer and the value).
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	b.shapes[l.Outputs[0]] = out
	b.m.Layers = append(b.m.Layers, l)
	return l, nil
}

// kerasClasses are the layer classes ReadFile reads: package layers' and
// the two the graph builder reads itself.
var kerasClasses = func() map[string]bool {
	m := map[string]bool{"InputLayer": true, "TFOpLambda": true}
	for _, c := range layers.KerasClasses() {
		m[c] = true
	}
	return m
}()

// SupportedLayers lists the Keras layer classes ReadFile understands, sorted.
func SupportedLayers() []string {
	names := make([]string, 0, len(kerasClasses))
	for k := range kerasClasses {
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
