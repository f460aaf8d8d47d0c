package finetune

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"sort"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
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
}

// graph is a model lowered to a gorgonia expression graph for one batch size.
type graph struct {
	g          *G.ExprGraph
	batch      int
	x, y       *G.Node
	xbuf, ybuf any // the input tensors' backing arrays; steps copy batches into them
	out        *G.Node
	cost       *G.Node
	loss       *lossState
	wrt        []*G.Node
	grads      []*G.Node // d cost / d wrt[i]
	wrtParams  []*model.Param
	vm         G.VM
}

// supportedOps lists the ONNX ops finetune lowers, for error messages.
var supportedOps = []string{"Abs", "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "Div", "Dropout", "Elu", "Erf", "Exp", "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool",
	"HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "LogSoftmax", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mul", "Pad", "Neg", "PRelu", "ReduceMean", "ReduceSum", "Relu", "Reshape", "Selu",
	"Sigmoid", "Softmax", "Softplus", "Softsign", "Sub", "Sum", "Tanh", "ThresholdedRelu", "Transpose"}

// noiseLayers are the Keras layer kinds that are random in training only.
var noiseLayers = map[string]bool{"Dropout": true, "AlphaDropout": true, "GaussianNoise": true, "GaussianDropout": true, "RReLU": true}

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
	in := m.Inputs[0]
	shape := slices.Clone(in.Shape)
	if len(shape) == 0 {
		return nil, fmt.Errorf("finetune: input %q is a scalar; want a batch dim", in.Name)
	}
	shape[0] = o.batch
	for i, d := range shape[1:] {
		if d < 0 {
			return nil, fmt.Errorf("finetune: input %q has unknown dim %d in %v; training needs fixed shapes", in.Name, i+1, in.Shape)
		}
	}
	gr := &graph{g: lw.g, batch: o.batch}
	gr.x, gr.xbuf = lw.input(in.Name, shape)
	lw.env[in.Name] = gr.x

	var head *model.Node
	if o.loss != nil && o.loss.logits {
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
		gr.y, gr.ybuf = lw.input("labels", []int{o.batch})
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
	if noiseLayers[l.Kind] && lw.o.training && len(l.Inputs) == 1 && len(l.Outputs) == 1 {
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

// noiseConfig reads a noise layer's Keras config.
func noiseConfig(l *model.Layer) (noiseKind, error) {
	var c struct {
		Rate   *float64 `json:"rate"`
		Stddev *float64 `json:"stddev"`
		Lower  *float64 `json:"lower"`
		Upper  *float64 `json:"upper"`
	}
	if len(l.Config) > 0 {
		if err := json.Unmarshal(l.Config, &c); err != nil {
			return noiseKind{}, fmt.Errorf("finetune: layer %q (%s): config: %w", l.Name, l.Kind, err)
		}
	}
	k := noiseKind{name: l.Kind}
	switch l.Kind {
	case "Dropout", "AlphaDropout", "GaussianDropout":
		if c.Rate == nil || *c.Rate < 0 || *c.Rate >= 1 {
			return k, fmt.Errorf("finetune: layer %q (%s): config needs a rate in [0, 1)", l.Name, l.Kind)
		}
		k.rate = *c.Rate
	case "GaussianNoise":
		if c.Stddev == nil || *c.Stddev < 0 {
			return k, fmt.Errorf("finetune: layer %q (%s): config needs a non-negative stddev", l.Name, l.Kind)
		}
		k.stddev = *c.Stddev
	case "RReLU":
		// PyTorch's RReLU defaults: lower 1/8, upper 1/3.
		k.lower, k.upper = 1.0/8, 1.0/3
		if c.Lower != nil {
			k.lower = *c.Lower
		}
		if c.Upper != nil {
			k.upper = *c.Upper
		}
		if k.lower > k.upper {
			return k, fmt.Errorf("finetune: layer %q (RReLU): lower %v above upper %v", l.Name, k.lower, k.upper)
		}
	}
	return k, nil
}

func (lw *lowerer) node(l *model.Layer, n *model.Node) error {
	ins := make([]*G.Node, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		if n.Op == "Reshape" && i == 1 {
			continue // the shape const is read below
		}
		if (n.Op == "Dropout" || n.Op == "Clip" || n.Op == "Pad" || strings.HasPrefix(n.Op, "Reduce")) && i > 0 {
			continue // ratio, training_mode, min and max are read below
		}
		if c, ok := lw.consts[name]; ok && len(c.F32) == 1 && len(n.Inputs) == 2 {
			continue // a scalar operand of Add/Sub/Mul/Div, read below
		}
		v, err := lw.value(name)
		if err != nil {
			return err
		}
		ins[i] = v
	}
	binary := n.Op == "Add" || n.Op == "Sub" || n.Op == "Mul" || n.Op == "Div"
	if len(ins) == 0 || (ins[0] == nil && !binary) || (binary && len(ins) != 2) {
		return fmt.Errorf("missing inputs")
	}
	x := ins[0]
	var y *G.Node
	var err error
	switch op := n.Op; {
	case op == "Identity":
		y = x
	case kernels.IsAct(op) && kernels.HasGrad(op):
		var k kernels.Act
		if k, err = kernels.ActOf(n); err == nil {
			y, err = activation(k, x)
		}
	case op == "Softmax" || op == "LogSoftmax":
		r := len(x.Shape())
		axis := int(n.AttrInt("axis", -1))
		if lw.m.Opset > 0 && lw.m.Opset < 13 {
			axis = int(n.AttrInt("axis", 1))
		}
		if axis < 0 {
			axis += r
		}
		if axis != r-1 {
			return fmt.Errorf("axis %d of a rank-%d input: only the last axis is supported", axis, r)
		}
		y, err = softmaxLike(op, x)
	case op == "MatMul":
		y, err = matMul(x, ins[1])
	case op == "Gemm":
		y, err = lw.gemm(n, ins)
	case binary:
		y, err = lw.binary(n, ins)
	case op == "Flatten":
		s := x.Shape()
		axis := int(n.AttrInt("axis", 1))
		if axis < 0 {
			axis += len(s)
		}
		if axis < 0 || axis > len(s) {
			return fmt.Errorf("axis %d out of range for shape %v", n.AttrInt("axis", 1), s)
		}
		y, err = G.Reshape(x, tensor.Shape{s[:axis].TotalSize(), s[axis:].TotalSize()})
		if axis == 0 {
			y, err = G.Reshape(x, tensor.Shape{1, s.TotalSize()})
		}
	case op == "Reshape":
		y, err = lw.reshape(n, x)
	case op == "Transpose":
		perm := n.AttrInts("perm", nil)
		axes := make([]int, len(perm))
		for i, p := range perm {
			axes[i] = int(p)
		}
		y, err = G.Transpose(x, axes...)
	case op == "Dropout":
		y = x
		if lw.o.training && !noiseLayers[l.Kind] {
			rate := float64(n.AttrFloat("ratio", 0.5))
			if len(n.Inputs) > 1 && n.Inputs[1] != "" {
				r, ok := lw.constFloat(n.Inputs[1])
				if !ok {
					return fmt.Errorf("ratio %q is not a float const", n.Inputs[1])
				}
				rate = r
			}
			y, err = noise(noiseKind{name: "Dropout", rate: rate}, x, lw.o.rng)
		}
	case op == "Clip":
		lo, hi := math.Inf(-1), math.Inf(1)
		if lw.m.Opset > 0 && lw.m.Opset < 11 {
			lo, hi = float64(n.AttrFloat("min", float32(lo))), float64(n.AttrFloat("max", float32(hi)))
		}
		for i, dst := range []*float64{&lo, &hi} {
			if len(n.Inputs) > i+1 && n.Inputs[i+1] != "" {
				v, ok := lw.constFloat(n.Inputs[i+1])
				if !ok {
					return fmt.Errorf("bound %q is not a float const", n.Inputs[i+1])
				}
				*dst = v
			}
		}
		y, err = activation(kernels.Act{Op: "Clip", Alpha: lo, Beta: hi}, x)
	case op == "Concat":
		axis := int(n.AttrInt("axis", 0))
		if axis < 0 {
			axis += len(x.Shape())
		}
		if axis <= 0 || axis >= len(x.Shape()) {
			return fmt.Errorf("axis %d of rank %d: only non-batch axes are supported", n.AttrInt("axis", 0), len(x.Shape()))
		}
		for i, in := range ins {
			if in == nil {
				return fmt.Errorf("input %d missing", i)
			}
		}
		if len(ins) == 1 {
			y = x
		} else {
			y, err = G.Concat(axis, ins...)
		}
	case op == "Conv":
		var b *G.Node
		if len(ins) > 2 {
			b = ins[2]
		}
		need := denseGrads{x: lw.needsGrad[n.Inputs[0]], w: lw.gradOf(n.Inputs[1])}
		if b != nil {
			need.b = lw.gradOf(n.Inputs[2])
		}
		y, err = conv(n, x, ins[1], b, need)
	case op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool":
		y, err = pool(n, x)
	case op == "ReduceMean" || op == "ReduceSum":
		y, err = reduce(lw, n, x)
	case op == "Sum" || op == "Mean" || op == "Max" || op == "Min":
		y, err = variadic(op, ins)
	case op == "Pad":
		y, err = pad(lw, n, x)
	case op == "PRelu":
		y, err = prelu(x, ins[1])
	case op == "BatchNormalization":
		y, err = lw.batchNorm(l, n, ins)
	default:
		return fmt.Errorf("op %q is not supported for training (supported: %s): %w", op, strings.Join(supportedOps, ", "), model.ErrUnsupported)
	}
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

func matMul(a, b *G.Node) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	if len(bs) != 2 || len(as) < 2 {
		return nil, fmt.Errorf("MatMul of %v by %v: only [..., K] x [K, N] is supported", as, bs)
	}
	if len(as) == 2 {
		return G.Mul(a, b)
	}
	k := as[len(as)-1]
	flat, err := G.Reshape(a, tensor.Shape{as.TotalSize() / k, k})
	if err != nil {
		return nil, err
	}
	y, err := G.Mul(flat, b)
	if err != nil {
		return nil, err
	}
	out := append(as[:len(as)-1].Clone(), bs[1])
	return G.Reshape(y, out)
}

func (lw *lowerer) gemm(n *model.Node, ins []*G.Node) (*G.Node, error) {
	a, b := ins[0], ins[1]
	var err error
	if n.AttrInt("transA", 0) != 0 {
		if a, err = G.Transpose(a, 1, 0); err != nil {
			return nil, err
		}
	}
	if n.AttrInt("transB", 0) != 0 {
		if b, err = G.Transpose(b, 1, 0); err != nil {
			return nil, err
		}
	}
	y, err := G.Mul(a, b)
	if err != nil {
		return nil, err
	}
	if alpha := float64(n.AttrFloat("alpha", 1)); alpha != 1 {
		if y, err = activation(kernels.Act{Op: "Affine", Alpha: alpha}, y); err != nil {
			return nil, err
		}
	}
	if len(ins) < 3 || ins[2] == nil {
		return y, nil
	}
	c := ins[2]
	if beta := float64(n.AttrFloat("beta", 1)); beta != 1 {
		if c, err = activation(kernels.Act{Op: "Affine", Alpha: beta}, c); err != nil {
			return nil, err
		}
	}
	return add(y, c)
}

// add returns a + b for equal shapes or a bias b along a's last axis.
func add(a, b *G.Node) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	switch {
	case as.Eq(bs):
		return G.Add(a, b)
	case bs.TotalSize() == as[len(as)-1] && bs[len(bs)-1] == as[len(as)-1]:
		if len(bs) != 1 {
			r, err := G.Reshape(b, tensor.Shape{bs.TotalSize()})
			if err != nil {
				return nil, err
			}
			b = r
		}
		return biasAdd(a, b)
	case as.TotalSize() == bs[len(bs)-1] && as[len(as)-1] == bs[len(bs)-1]:
		return add(b, a)
	}
	return nil, fmt.Errorf("add of shapes %v and %v: only equal shapes or a bias along the last axis are supported", as, bs)
}

func (lw *lowerer) binary(n *model.Node, ins []*G.Node) (*G.Node, error) {
	a, b := ins[0], ins[1]
	// A scalar const operand makes the op affine: y = alpha*x + beta.
	if c, ok := lw.constFloat(n.Inputs[1]); ok && b == nil {
		k := map[string]kernels.Act{"Add": {Alpha: 1, Beta: c}, "Sub": {Alpha: 1, Beta: -c}, "Mul": {Alpha: c}, "Div": {Alpha: 1 / c}}[n.Op]
		k.Op = "Affine"
		return activation(k, a)
	}
	if c, ok := lw.constFloat(n.Inputs[0]); ok && a == nil && b != nil && n.Op != "Div" {
		k := map[string]kernels.Act{"Add": {Alpha: 1, Beta: c}, "Sub": {Alpha: -1, Beta: c}, "Mul": {Alpha: c}}[n.Op]
		k.Op = "Affine"
		return activation(k, b)
	}
	if a == nil || b == nil {
		return nil, fmt.Errorf("%s of a scalar const by a scalar const", n.Op)
	}
	if n.Op == "Add" {
		return add(a, b)
	}
	if a.Shape().Eq(b.Shape()) {
		switch n.Op {
		case "Sub":
			return G.Sub(a, b)
		case "Mul":
			return G.HadamardProd(a, b)
		case "Div":
			return G.HadamardDiv(a, b)
		}
	}
	return nil, fmt.Errorf("%s of shapes %v and %v: only equal shapes (or a scalar const factor) are supported", n.Op, a.Shape(), b.Shape())
}

func (lw *lowerer) reshape(n *model.Node, x *G.Node) (*G.Node, error) {
	if len(n.Inputs) < 2 {
		return nil, fmt.Errorf("no shape input")
	}
	c, ok := lw.consts[n.Inputs[1]]
	if !ok || c.DType != model.Int64 {
		return nil, fmt.Errorf("shape %q is not an int64 const", n.Inputs[1])
	}
	xs := x.Shape()
	out := make(tensor.Shape, len(c.I64))
	infer, known := -1, 1
	for i, d := range c.I64 {
		switch {
		case d == 0 && n.AttrInt("allowzero", 0) == 0 && i < len(xs):
			out[i] = xs[i]
		case d == -1 && infer < 0:
			infer = i
			continue
		case d > 0:
			out[i] = int(d)
		default:
			return nil, fmt.Errorf("bad target shape %v", c.I64)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || xs.TotalSize()%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", xs, c.I64)
		}
		out[infer] = xs.TotalSize() / known
	}
	if out.TotalSize() != xs.TotalSize() {
		return nil, fmt.Errorf("cannot reshape %v to %v", xs, c.I64)
	}
	return G.Reshape(x, out)
}

func (lw *lowerer) batchNorm(l *model.Layer, n *model.Node, ins []*G.Node) (*G.Node, error) {
	if len(ins) < 5 {
		return nil, fmt.Errorf("needs 5 inputs (X, scale, B, mean, var)")
	}
	for i := 1; i < 5; i++ {
		if ins[i] == nil {
			return nil, fmt.Errorf("input %d missing", i)
		}
	}
	st := &bnState{eps: float64(n.AttrFloat("epsilon", 1e-5)), momentum: float64(n.AttrFloat("momentum", 0.9))}
	if l.Kind == "BatchNormalization" && len(l.Config) > 0 {
		var c struct {
			Momentum *float64 `json:"momentum"`
		}
		if json.Unmarshal(l.Config, &c) == nil && c.Momentum != nil {
			st.momentum = *c.Momentum
		}
	}
	training := lw.o.training && l.Trainable
	if training {
		mp, vp := lw.params[n.Inputs[3]], lw.params[n.Inputs[4]]
		if mp == nil || vp == nil {
			return nil, fmt.Errorf("moving statistics %q and %q must be params", n.Inputs[3], n.Inputs[4])
		}
		st.movingMean, st.movingVar = lw.st.vals[mp.Name], lw.st.vals[vp.Name]
	}
	return batchNorm(ins[0], ins[1], ins[2], ins[3], ins[4], st, training)
}

// gradOf says whether a value needs a gradient: a trainable param or a value
// computed from one.
func (lw *lowerer) gradOf(name string) bool {
	if p, ok := lw.params[name]; ok {
		return p.Trainable
	}
	return lw.needsGrad[name]
}
