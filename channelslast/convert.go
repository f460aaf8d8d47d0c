package channelslast

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// Options tune Convert.
type Options struct {
	// KeepNCHW keeps the graph inputs channels-first, as the source model
	// takes them: the converted model then starts with a Permute layer to
	// channels-last, so callers feed the same arrays as before. Outputs are
	// turned back to the source's layout too.
	KeepNCHW bool
}

// Placement says how a graph input or output of the converted model is
// laid out relative to the source's.
type Placement struct {
	Name string
	// Shape is the converted model's shape, Source the source's (-1 for
	// unknown dims).
	Shape, Source []int
	// Perm is the transpose that turns a source array into the converted
	// model's ([0 2 3 1] for NCHW -> NHWC; the identity when the layout is
	// kept).
	Perm []int
}

// Layout is how the converted model's inputs and outputs are laid out.
type Layout struct {
	Inputs, Outputs []Placement
}

// NodeError is a node of the source model that has no Keras form.
type NodeError struct {
	Layer, Node, Op string
	Reason          string
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("channelslast: layer %q node %q (%s): %s", e.Layer, e.Node, e.Op, e.Reason)
}

// Unwrap makes errors.Is(err, model.ErrUnsupported) true: the construct
// has no Keras layer form.
func (e *NodeError) Unwrap() error { return model.ErrUnsupported }

// channelsFirstOps are ONNX ops whose data layout is channels-first (NCHW).
var channelsFirstOps = map[string]bool{
	"Conv": true, "ConvTranspose": true, "MaxPool": true, "AveragePool": true, "LpPool": true,
	"GlobalAveragePool": true, "GlobalMaxPool": true, "GlobalLpPool": true, "InstanceNormalization": true,
	"LRN": true, "Upsample": true, "Resize": true, "DepthToSpace": true, "SpaceToDepth": true,
}

// hasChannelsFirst reports whether m computes on channels-first data.
func hasChannelsFirst(m *model.Model, shapes map[string]*model.Value) bool {
	for _, l := range m.Layers {
		if len(l.Config) != 0 {
			continue
		}
		for _, n := range l.Nodes {
			if channelsFirstOps[n.Op] || n.Op == "BatchNormalization" && len(n.Inputs) > 0 && shapes[n.Inputs[0]] != nil && len(shapes[n.Inputs[0]].Shape) > 2 {
				return true
			}
		}
	}
	return false
}

// Needed reports whether m has layers without a Keras config (read from
// ONNX, or built by hand): the Keras exporter writes Keras layers only, so
// such a model goes through Convert first.
func Needed(m *model.Model) bool {
	for _, l := range m.Layers {
		if len(l.Config) == 0 && l.Kind != "InputLayer" && len(l.Nodes) > 0 {
			return true
		}
	}
	return false
}

// Convert returns m rewritten as a channels-last model of Keras layers
// (each with its Keras config, built by package layers) that computes the
// same function on channels-last inputs. m is not modified. See the
// package documentation for what converts and how.
func Convert(m *model.Model, opts Options) (*model.Model, Layout, error) {
	if m == nil {
		return nil, Layout{}, errors.New("channelslast: nil model")
	}
	if err := m.Validate(); err != nil {
		return nil, Layout{}, fmt.Errorf("channelslast: model %q: %w", m.Name, err)
	}
	shapes, known, err := inferWithBatch(m)
	if err != nil {
		return nil, Layout{}, fmt.Errorf("channelslast: model %q: %w", m.Name, err)
	}
	// Graph inputs of rank >= 3 are tried channels-last (Keras's layout)
	// and as they are; the conversion with fewer Permute layers wins, a tie
	// going to channels-last in a model with channels-first ops (Conv,
	// pooling...) and to the source's layout in others (an MLP, a sequence
	// model). KeepNCHW keeps them as they are.
	layouts := []map[string][]int{nil}
	if !opts.KeepNCHW {
		cl := map[string][]int{}
		for _, in := range m.Inputs {
			if len(in.Shape) >= 3 && in.DType == model.Float32 {
				cl[in.Name] = channelsLast(len(in.Shape))
			}
		}
		if len(cl) > 0 {
			layouts = append([]map[string][]int{cl}, layouts...)
		}
	}
	cf := hasChannelsFirst(m, shapes)
	var c *converter
	var firstErr error
	for _, l := range layouts {
		try := newConverter(m, shapes, known, opts, l)
		if err := try.run(); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		switch {
		case c == nil, try.permuteCount() < c.permuteCount():
			c = try
		case try.permuteCount() == c.permuteCount() && l == nil && !cf:
			c = try // a tie in a model without channels-first ops: keep the inputs as they are
		}
	}
	if c == nil {
		return nil, Layout{}, firstErr
	}
	return c.out, c.layout, nil
}

// probeBatch is the batch size shape inference runs with, so that shape
// arithmetic on the batch dim (PyTorch's x.size(0) in a Reshape target)
// folds to known values; a dim equal to it on axis 0 is the batch again.
// A prime no real non-batch dim is likely to equal.
const probeBatch = 8191

// inferWithBatch infers m's shapes and known int64 values with every
// unknown leading input dim set to probeBatch, then writes -1 back for the
// batch axis.
func inferWithBatch(m *model.Model) (map[string]*model.Value, map[string]*model.Tensor, error) {
	probe := *m // shallow: InferShapesKnown reads the layers, never changes them
	probe.Inputs = nil
	for _, in := range m.Inputs {
		v := in.Clone()
		if len(v.Shape) > 0 && v.Shape[0] < 0 {
			v.Shape[0] = probeBatch
		}
		probe.Inputs = append(probe.Inputs, v)
	}
	shapes, known, err := probe.InferShapesKnown()
	if err != nil {
		return nil, nil, err
	}
	for _, v := range shapes {
		if len(v.Shape) > 0 && v.Shape[0] == probeBatch {
			v.Shape[0] = -1
		}
	}
	return shapes, known, nil
}

// val is a source value as the converted model holds it.
type val struct {
	name string // the converted model's value
	perm []int  // converted = Transpose(source, perm)
}

type converter struct {
	src      *model.Model
	opts     Options
	shapes   map[string]*model.Value  // source value shapes
	known    map[string]*model.Tensor // int64 values with known contents
	floats   map[string]*model.Tensor // float params and consts of the source, by value name
	owner    map[*model.Node]*model.Layer
	nodes    []*model.Node
	uses     map[string][]*model.Node // consumers of each source value
	graphOut map[string]bool
	inPerm   map[string][]int // graph inputs taken in a non-identity layout

	vals   map[string]*val
	alts   map[string]map[string]string // source value -> perm key -> converted value
	nonneg map[string]bool              // source values known to be >= 0
	done   map[*model.Node]bool         // nodes consumed by a fused pattern
	// rowOrder holds, for a flattened value held in converted feature
	// order, the source feature of each converted feature (Dense kernels
	// reading it reorder their rows).
	rowOrder map[string][]int
	names    map[string]bool // layer names taken
	// bconst holds source values that are a constant broadcast along the
	// batch axis (torch's class_token.expand(N, -1, -1)): their data
	// without the batch axis, in the source layout. A Concat that reads one
	// builds it from another of its inputs (opConcat).
	bconst map[string]*model.Tensor

	out    *model.Model
	layout Layout
}

func newConverter(m *model.Model, shapes map[string]*model.Value, known map[string]*model.Tensor, opts Options, inPerm map[string][]int) *converter {
	c := &converter{
		src: m, opts: opts, shapes: shapes, known: known,
		floats: map[string]*model.Tensor{}, owner: map[*model.Node]*model.Layer{},
		uses: map[string][]*model.Node{}, graphOut: map[string]bool{}, inPerm: inPerm,
		vals: map[string]*val{}, alts: map[string]map[string]string{}, nonneg: map[string]bool{},
		done: map[*model.Node]bool{}, rowOrder: map[string][]int{}, names: map[string]bool{}, bconst: map[string]*model.Tensor{},
	}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			c.floats[p.Name] = &model.Tensor{Name: p.Name, DType: model.Float32, Shape: p.Shape, F32: p.Data}
		}
		for _, t := range l.Consts {
			if t.DType == model.Float32 {
				c.floats[t.Name] = t
			}
		}
		for _, n := range l.Nodes {
			c.owner[n] = l
			c.nodes = append(c.nodes, n)
			for _, in := range n.Inputs {
				if in != "" {
					c.uses[in] = append(c.uses[in], n)
				}
			}
		}
	}
	for _, o := range m.Outputs {
		c.graphOut[o] = true
	}
	return c
}

// rank returns the rank of source value v, or -1.
func (c *converter) rank(v string) int {
	if s := c.shapes[v]; s != nil {
		return len(s.Shape)
	}
	return -1
}

func (c *converter) shape(v string) []int {
	if s := c.shapes[v]; s != nil {
		return s.Shape
	}
	return nil
}

// fail returns a NodeError for n.
func (c *converter) fail(n *model.Node, format string, a ...any) error {
	l := c.owner[n]
	name := ""
	if l != nil {
		name = l.Name
	}
	return &NodeError{Layer: name, Node: n.Name, Op: n.Op, Reason: fmt.Sprintf(format, a...)}
}

// layerName returns a unique Keras layer name derived from the source layer
// of n and a suffix ("" for the layer's main Keras layer).
func (c *converter) layerName(n *model.Node, suffix string) string {
	base := "layer"
	if l := c.owner[n]; l != nil {
		base = l.Name
	}
	base = strings.NewReplacer("/", "_", ":", "_").Replace(base)
	if suffix != "" {
		base += "_" + suffix
	}
	name := base
	for i := 1; c.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	c.names[name] = true
	return name
}

func (c *converter) trainable(n *model.Node) bool {
	if l := c.owner[n]; l != nil {
		return l.Trainable
	}
	return true
}

// add appends a built layer and returns its output value.
func (c *converter) add(l *model.Layer, err error) (string, error) {
	if err != nil {
		return "", fmt.Errorf("channelslast: %w", err)
	}
	c.out.Layers = append(c.out.Layers, l)
	return l.Outputs[0], nil
}

// set records that source value v is converted value name in layout perm.
func (c *converter) set(v, name string, perm []int) {
	c.vals[v] = &val{name: name, perm: slices.Clone(perm)}
}

// constant returns the float data of a source param or const, or nil.
func (c *converter) constant(v string) *model.Tensor { return c.floats[v] }

// soleUse returns the one node that reads source value v, or nil when v is
// read by several nodes, by none, or is a graph output.
func (c *converter) soleUse(v string) *model.Node {
	if c.graphOut[v] || len(c.uses[v]) != 1 {
		return nil
	}
	return c.uses[v][0]
}

// noForm is the error for node n's input v, which has no converted value:
// a constant where the node's Keras form has no weight for it, or the
// output of an op that did not convert.
func (c *converter) noForm(n *model.Node, v string) error {
	if c.constant(v) != nil || c.known[v] != nil {
		return c.fail(n, "input %q is a constant; a Keras layer reads only tensors computed from the model inputs (a constant operand is supported only where this node's Keras form has a weight for it)", v)
	}
	return c.fail(n, "input %q has no Keras form (it comes from an op that did not convert)", v)
}

// need returns the converted value of source value v laid out as perm,
// appending a Keras Permute layer when it is held in another layout.
func (c *converter) need(n *model.Node, v string, perm []int) (string, error) {
	cur := c.vals[v]
	if cur == nil {
		return "", c.noForm(n, v)
	}
	if slices.Equal(cur.perm, perm) {
		return cur.name, nil
	}
	key := permKey(perm)
	if name, ok := c.alts[v][key]; ok {
		return name, nil
	}
	rel := relative(cur.perm, perm)
	if len(rel) == 0 || rel[0] != 0 {
		return "", c.fail(n, "input %q would need its batch axis moved (layout %v to %v); Keras layers keep the batch axis first", v, cur.perm, perm)
	}
	dims := make([]int, len(rel)-1)
	for i, a := range rel[1:] {
		dims[i] = a
	}
	name := c.layerName(n, "permute")
	tr := c.trainable(n)
	out, err := c.add(permuteLayer(name, cur.name, tr, dims))
	if err != nil {
		return "", err
	}
	if c.alts[v] == nil {
		c.alts[v] = map[string]string{}
	}
	c.alts[v][key] = out
	return out, nil
}

func (c *converter) run() error {
	m := c.src
	c.out = &model.Model{Name: m.Name, Opset: model.DefaultOpset, Meta: map[string]string{}, History: slices.Clone(m.History)}
	for k, v := range m.Meta {
		c.out.Meta[k] = v
	}
	for _, in := range m.Inputs {
		perm := c.inPerm[in.Name]
		if perm == nil {
			perm = identity(len(in.Shape))
		}
		nv := &model.Value{Name: in.Name, DType: in.DType, Shape: permuteShape(in.Shape, perm)}
		c.out.Inputs = append(c.out.Inputs, nv)
		c.set(in.Name, in.Name, perm)
		c.layout.Inputs = append(c.layout.Inputs, Placement{Name: in.Name, Shape: slices.Clone(nv.Shape), Source: slices.Clone(in.Shape), Perm: slices.Clone(perm)})
	}
	for _, n := range c.nodes {
		if c.done[n] {
			continue
		}
		if c.shapeArithmetic(n) {
			continue
		}
		l := c.owner[n]
		if len(l.Config) != 0 {
			if err := c.kerasLayer(l); err != nil {
				return err
			}
			continue
		}
		h, ok := handlers[n.Op]
		if !ok {
			return c.fail(n, "ONNX %s has no Keras layer form here (the conversion handles %s); export the model to ONNX instead, or remove the node with surgery", n.Op, strings.Join(handledOps(), ", "))
		}
		if err := h(c, n); err != nil {
			return err
		}
	}
	for _, o := range m.Outputs {
		v := c.vals[o]
		if v == nil {
			return fmt.Errorf("channelslast: model output %q has no Keras form", o)
		}
		name := v.name
		if c.opts.KeepNCHW && !isIdentity(v.perm) {
			var err error
			if name, err = c.need(c.producer(o), o, identity(len(v.perm))); err != nil {
				return err
			}
		}
		c.out.Outputs = append(c.out.Outputs, name)
		perm := c.vals[o].perm
		if name != v.name {
			perm = identity(len(perm))
		}
		pl := Placement{Name: name, Perm: slices.Clone(perm)}
		if sv := c.shapes[o]; sv != nil && len(sv.Shape) == len(perm) {
			pl.Source, pl.Shape = slices.Clone(sv.Shape), permuteShape(sv.Shape, perm)
		}
		c.layout.Outputs = append(c.layout.Outputs, pl)
	}
	if err := c.finish(); err != nil {
		return err
	}
	return nil
}

// producer returns the source node that produces v (nil for a graph input).
func (c *converter) producer(v string) *model.Node {
	for _, n := range c.nodes {
		if slices.Contains(n.Outputs, v) {
			return n
		}
	}
	return &model.Node{Name: v, Op: "output"}
}

// shapeArithmetic reports whether n only computes int64 values (shape
// arithmetic feeding Reshape, Slice...): the conversion reads their
// contents from shape inference and builds no layer for them.
func (c *converter) shapeArithmetic(n *model.Node) bool {
	for _, o := range n.Outputs {
		if o == "" {
			continue
		}
		if v := c.shapes[o]; v == nil || v.DType == model.Float32 {
			return false
		}
	}
	return true
}

// kerasLayer copies a layer that already has a Keras config (one read from
// Keras or added by surgery, e.g. a new Dense head): it reads its inputs in
// the source's layout.
func (c *converter) kerasLayer(l *model.Layer) error {
	if c.done[l.Nodes[0]] {
		return nil
	}
	for _, n := range l.Nodes {
		c.done[n] = true
	}
	nl := cloneLayer(l)
	rename := map[string]string{}
	for i, in := range l.Inputs {
		name, err := c.need(l.Nodes[0], in, identity(c.rank(in)))
		if err != nil {
			return err
		}
		rename[in] = name
		nl.Inputs[i] = name
	}
	for _, n := range nl.Nodes {
		for i, in := range n.Inputs {
			if r, ok := rename[in]; ok {
				n.Inputs[i] = r
			}
		}
	}
	c.names[nl.Name] = true
	c.out.Layers = append(c.out.Layers, nl)
	for _, o := range l.Outputs {
		c.set(o, o, identity(c.rank(o)))
	}
	return nil
}

func cloneLayer(l *model.Layer) *model.Layer {
	m := &model.Model{Layers: []*model.Layer{l}}
	return m.Clone().Layers[0]
}

// permuteCount is the number of Permute layers the conversion added.
func (c *converter) permuteCount() int {
	n := 0
	for _, l := range c.out.Layers {
		if l.Kind == "Permute" && len(l.Config) != 0 && c.src.Layer(l.Name) == nil {
			n++
		}
	}
	return n
}

// finish checks the converted model and names it.
func (c *converter) finish() error {
	c.out.Sequential = c.src.Sequential && chain(c.out)
	if err := c.out.Validate(); err != nil {
		return fmt.Errorf("channelslast: the converted model of %q is invalid (a bug): %w", c.src.Name, err)
	}
	return nil
}

// chain reports whether m is one input, one output and a chain of layers.
func chain(m *model.Model) bool {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return false
	}
	prev := m.Inputs[0].Name
	for _, l := range m.Layers {
		if len(l.Inputs) != 1 || l.Inputs[0] != prev || len(l.Outputs) != 1 {
			return false
		}
		prev = l.Outputs[0]
	}
	return prev == m.Outputs[0]
}
