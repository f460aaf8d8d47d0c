package finetune

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// store holds the values of a model's params in the graph's dtype. For
// float32 it shares the model's own Param.Data arrays, so that updates made
// through the graph land in the model.
type store struct {
	dt   tensor.Dtype
	vals map[string]any // param name -> []float32 or []float64
}

func newStore(m *model.Model, dt tensor.Dtype) *store {
	s := &store{dt: dt, vals: map[string]any{}}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			if dt == tensor.Float32 {
				s.vals[p.Name] = p.Data
				continue
			}
			v := make([]float64, len(p.Data))
			for i, x := range p.Data {
				v[i] = float64(x)
			}
			s.vals[p.Name] = v
		}
	}
	return s
}

// buildOpts says which graph to build.
type buildOpts struct {
	batch    int
	training bool       // noise layers active, trainable BN uses batch statistics
	loss     *lossKind  // nil: a prediction graph without loss
	grads    bool       // differentiate the loss with respect to trainable params
	rng      *rand.Rand // noise layers draw from it
	noFuse   bool       // no fused Dense ops
	// bnMode is Config.BNMode ("" is "auto").
	bnMode string
	// part, when set, says which nodes run in the engine (skipped here)
	// and which values the graph takes as inputs; nil lowers the whole
	// model from its input.
	part *partition
}

// graph is a model lowered to a gorgonia expression graph for one batch size.
type graph struct {
	g          *G.ExprGraph
	batch      int
	x, y       *G.Node
	xbuf, ybuf any // the input tensors' backing arrays; steps copy batches into them
	// xs and xbufs are all the inputs (the boundary values of a split
	// model) and their backing arrays; x and xbuf are the first.
	xs        []*G.Node
	xbufs     []any
	out       *G.Node
	cost      *G.Node
	loss      *lossState
	wrt       []*G.Node
	grads     []*G.Node // d cost / d wrt[i]
	wrtParams []*model.Param
	vm        G.VM
}

// lowerer carries the state of one build.
type lowerer struct {
	m      *model.Model
	st     *store
	o      buildOpts
	g      *G.ExprGraph
	env    map[string]*G.Node
	params map[string]*model.Param
	consts map[string]*model.Tensor
	used   map[string]*G.Node // param nodes created, by name
	// uses counts the readers of each value (node inputs and model outputs).
	uses map[string]int
	// needsGrad marks values that depend on a trainable param.
	needsGrad map[string]bool
	noFuse    bool // lower Dense layers node by node (tests compare both)
	part      *partition
}

// build lowers m to a gorgonia graph.
func build(m *model.Model, st *store, o buildOpts) (*graph, error) {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return nil, fmt.Errorf("finetune: model %q has %d inputs and %d outputs; training needs one of each", m.Name, len(m.Inputs), len(m.Outputs))
	}
	lw := &lowerer{m: m, st: st, o: o, g: G.NewGraph(), env: map[string]*G.Node{},
		params: map[string]*model.Param{}, consts: map[string]*model.Tensor{}, used: map[string]*G.Node{},
		uses: map[string]int{}, needsGrad: map[string]bool{}, noFuse: o.noFuse}
	for _, name := range m.Outputs {
		lw.uses[name]++
	}
	for _, l := range m.Layers {
		for _, n := range l.Nodes {
			for _, in := range n.Inputs {
				lw.uses[in]++
			}
		}
		for _, p := range l.Params {
			lw.params[p.Name] = p
		}
		for _, c := range l.Consts {
			lw.consts[c.Name] = c
		}
	}
	part := o.part
	if part == nil {
		var err error
		if part, err = split(m, true); err != nil {
			return nil, err
		}
	}
	lw.part = part
	gr := &graph{g: lw.g, batch: o.batch}
	for k, name := range part.boundary {
		x, buf := lw.input(name, append([]int{o.batch}, part.shapes[k]...))
		lw.env[name] = x
		gr.xs, gr.xbufs = append(gr.xs, x), append(gr.xbufs, buf)
	}
	gr.x, gr.xbuf = gr.xs[0], gr.xbufs[0]

	var head *model.Node
	if o.loss != nil && o.loss.skipHead {
		head = headNode(m)
	}
	for _, l := range m.Layers {
		if err := lw.layer(l, head); err != nil {
			return nil, err
		}
	}
	if o.loss == nil {
		out, ok := lw.env[m.Outputs[0]]
		if !ok {
			return nil, fmt.Errorf("finetune: output %q is not produced", m.Outputs[0])
		}
		gr.out = out
	} else {
		// With a logits loss the head's Softmax or Sigmoid passed its input
		// through (see layer), so the output value holds the logits.
		pred := lw.env[m.Outputs[0]]
		if pred == nil {
			return nil, fmt.Errorf("finetune: output %q is not produced", m.Outputs[0])
		}
		if ps := pred.Shape(); len(ps) != 2 {
			// The loss sees [N, units]: a [N] output (a squeezed 1-unit
			// head) becomes [N 1], a [N, d1, d2...] one [N, d1*d2*...]
			// (Keras averages the loss over all non-batch elements).
			r, err := G.Reshape(pred, tensor.Shape{ps[0], ps.TotalSize() / ps[0]})
			if err != nil {
				return nil, fmt.Errorf("finetune: output %q: %w", m.Outputs[0], err)
			}
			pred = r
		}
		yshape := []int{o.batch}
		if w := o.loss.labelWidth(); w > 1 {
			yshape = append(yshape, w)
		}
		gr.y, gr.ybuf = lw.input("labels", yshape)
		gr.loss = &lossState{}
		cost, err := lossOp(*o.loss, pred, gr.y, gr.loss)
		if err != nil {
			return nil, err
		}
		gr.cost = cost
	}
	if o.grads {
		names := make([]string, 0, len(lw.used))
		for name := range lw.used {
			if lw.params[name] != nil && lw.params[name].Trainable {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			gr.wrt = append(gr.wrt, lw.used[name])
			gr.wrtParams = append(gr.wrtParams, lw.params[name])
		}
		if len(gr.wrt) > 0 {
			// The gradient nodes' values are read after each run; binding
			// dual values instead would make gorgonia add each gradient into
			// an accumulator, an extra pass over every param per step.
			grads, err := G.Grad(gr.cost, gr.wrt...)
			if err != nil {
				return nil, fmt.Errorf("finetune: differentiating model %q: %w", m.Name, err)
			}
			gr.grads = grads
		}
		gr.vm = G.NewTapeMachine(lw.g)
	} else {
		gr.vm = G.NewTapeMachine(lw.g)
	}
	return gr, nil
}

// headNode returns the node computing the model's output, looking through
// Identity nodes (no-op layers after the head), or nil.
func headNode(m *model.Model) *model.Node {
	n := producer(m, m.Outputs[0])
	for n != nil && n.Op == "Identity" && len(n.Inputs) > 0 {
		n = producer(m, n.Inputs[0])
	}
	return n
}

// producer returns the node whose output is name, or nil.
func producer(m *model.Model, name string) *model.Node {
	for _, l := range m.Layers {
		for _, n := range l.Nodes {
			if slices.Contains(n.Outputs, name) {
				return n
			}
		}
	}
	return nil
}

// input makes an input node with its own backing array.
func (lw *lowerer) input(name string, shape []int) (*G.Node, any) {
	var buf any
	n := model.NumElements(shape)
	if lw.st.dt == tensor.Float64 {
		buf = make([]float64, n)
	} else {
		buf = make([]float32, n)
	}
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(buf))
	return G.NewTensor(lw.g, lw.st.dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t)), buf
}

// value returns the node for a value name: an earlier output, a param or a
// float const.
func (lw *lowerer) value(name string) (*G.Node, error) {
	if n, ok := lw.env[name]; ok {
		return n, nil
	}
	if p, ok := lw.params[name]; ok {
		shape := slices.Clone(p.Shape)
		if len(shape) == 0 {
			shape = []int{1}
		}
		t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(lw.st.vals[name]))
		n := G.NewTensor(lw.g, lw.st.dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
		lw.env[name], lw.used[name] = n, n
		return n, nil
	}
	if c, ok := lw.consts[name]; ok && c.DType == model.Float32 {
		shape := slices.Clone(c.Shape)
		if len(shape) == 0 {
			shape = []int{1}
		}
		var t *tensor.Dense
		if lw.st.dt == tensor.Float64 {
			v := make([]float64, len(c.F32))
			for i, x := range c.F32 {
				v[i] = float64(x)
			}
			t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
		} else {
			t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(c.F32)))
		}
		n := G.NewTensor(lw.g, lw.st.dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
		lw.env[name] = n
		return n, nil
	}
	return nil, fmt.Errorf("value %q is not produced by an earlier node, a param or a float const", name)
}

// constFloat returns a scalar float const or param value.
func (lw *lowerer) constFloat(name string) (float64, bool) {
	if c, ok := lw.consts[name]; ok && len(c.F32) == 1 {
		return float64(c.F32[0]), true
	}
	return 0, false
}

// layer lowers one layer.
func (lw *lowerer) layer(l *model.Layer, head *model.Node) error {
	if noiseLayers[l.Kind] && lw.o.training && !lw.inferenceOnly(l) && len(l.Inputs) == 1 && len(l.Outputs) == 1 {
		k, err := noiseConfig(l)
		if err != nil {
			return err
		}
		x, err := lw.value(l.Inputs[0])
		if err != nil {
			return fmt.Errorf("finetune: layer %q: %w", l.Name, err)
		}
		y, err := noise(k, x, lw.o.rng)
		if err != nil {
			return fmt.Errorf("finetune: layer %q: %w", l.Name, err)
		}
		lw.env[l.Outputs[0]] = y
		lw.needsGrad[l.Outputs[0]] = lw.needsGrad[l.Inputs[0]]
		return nil
	}
	for i := 0; i < len(l.Nodes); i++ {
		n := l.Nodes[i]
		if lw.part.engine[n.Name] {
			continue // computed by the engine, read through the graph's inputs
		}
		if n == head {
			x, err := lw.value(n.Inputs[0])
			if err != nil {
				return fmt.Errorf("finetune: layer %q: %w", l.Name, err)
			}
			lw.env[n.Outputs[0]] = x
			lw.needsGrad[n.Outputs[0]] = lw.needsGrad[n.Inputs[0]]
			continue
		}
		k, err := lw.fuseDense(l, i, head)
		if err == nil && k == 0 {
			err = lw.node(l, n)
		}
		if err != nil {
			return fmt.Errorf("finetune: layer %q (%s) node %q (%s): %w", l.Name, l.Kind, n.Name, n.Op, err)
		}
		if k > 0 {
			i += k - 1
		}
	}
	return nil
}

// node lowers one node through its lowering in the registry.
func (lw *lowerer) node(l *model.Layer, n *model.Node) error {
	f, ok := lowering(n.Op)
	if !ok {
		return fmt.Errorf("%w: op %q cannot be trained (training lowers: %s); freeze the layers up to and including it, so that it runs in the inference engine", model.ErrUnsupported, n.Op, strings.Join(SupportedOps(), ", "))
	}
	y, err := f(lw, l, n)
	if err != nil {
		return err
	}
	lw.env[n.Outputs[0]] = y
	for _, in := range n.Inputs {
		if p, ok := lw.params[in]; (ok && p.Trainable) || lw.needsGrad[in] {
			lw.needsGrad[n.Outputs[0]] = true
		}
	}
	return nil
}

// in returns the node of n's input i, which must be present.
func (lw *lowerer) in(n *model.Node, i int) (*G.Node, error) {
	if i >= len(n.Inputs) || n.Inputs[i] == "" {
		return nil, fmt.Errorf("input %d missing", i)
	}
	return lw.value(n.Inputs[i])
}

// ins returns the nodes of all of n's inputs, which must be present.
func (lw *lowerer) ins(n *model.Node) ([]*G.Node, error) {
	out := make([]*G.Node, len(n.Inputs))
	for i := range n.Inputs {
		v, err := lw.in(n, i)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// insOpt returns the nodes of n's inputs before index upto: the first req
// must be present, the others are optional (Conv's B, RNN's B) and end the
// list where one is absent.
func (lw *lowerer) insOpt(n *model.Node, req, upto int) ([]*G.Node, error) {
	var out []*G.Node
	for i := 0; i < upto && (i < req || (i < len(n.Inputs) && n.Inputs[i] != "")); i++ {
		v, err := lw.in(n, i)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// constInts returns an int64 const input (shapes, axes, pads).
func (lw *lowerer) constInts(name string) ([]int64, bool) {
	c, ok := lw.consts[name]
	if !ok || c.DType != model.Int64 {
		return nil, false
	}
	return c.I64, true
}

// inferenceOnly reports whether l sits in a nested model called with
// training=False: its noise is off and its BatchNormalization uses the
// moving statistics, even while it trains.
func (lw *lowerer) inferenceOnly(l *model.Layer) bool { return lw.m.InferenceOnly(l) }

// gradOf says whether a value needs a gradient: a trainable param or a value
// computed from one.
func (lw *lowerer) gradOf(name string) bool {
	if p, ok := lw.params[name]; ok {
		return p.Trainable
	}
	return lw.needsGrad[name]
}
