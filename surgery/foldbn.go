package surgery

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// FoldReport says what FoldBN did.
type FoldReport struct {
	// Folded lists the BatchNormalization layers removed, in model order.
	Folded []Fold
	// Skipped lists the BatchNormalization layers left in place, with why.
	Skipped []Skip
}

// Fold is one BatchNormalization layer folded into the layer before it.
type Fold struct {
	BatchNorm string // the removed BatchNormalization layer
	Into      string // the Dense or Conv layer whose weights absorbed it
}

// Skip is one BatchNormalization layer FoldBN could not fold.
type Skip struct {
	BatchNorm string
	Reason    string
}

// String renders the report one line per layer.
func (r FoldReport) String() string {
	var b strings.Builder
	for _, f := range r.Folded {
		fmt.Fprintf(&b, "folded %s into %s\n", f.BatchNorm, f.Into)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "kept %s: %s\n", s.BatchNorm, s.Reason)
	}
	if len(r.Folded) == 0 && len(r.Skipped) == 0 {
		b.WriteString("no BatchNormalization layers\n")
	}
	return b.String()
}

// FoldBN returns a copy of m in which each BatchNormalization layer that
// directly follows a Dense or convolution layer is folded into that layer's
// weights and removed, its consumers reading the previous layer's output.
// The fold uses inference semantics: with s = gamma / sqrt(moving_variance +
// epsilon) per channel,
//
//	kernel' = kernel * s  (along the kernel's output-channel axis)
//	bias'   = (bias - moving_mean) * s + beta
//
// A layer without a bias gets one (and use_bias true in its Keras config).
// Which kernel element feeds which output channel is read from the nodes,
// following the kernel through Transpose and Reshape to the MatMul, Gemm or
// Conv, so every layout works: a Keras Dense kernel [in, out] (MatMul) or
// conv kernel [k..., in, out] (Transpose to OIHW) scale their last axis; a
// PyTorch Gemm weight with transB=1 [out, in] and a raw ONNX Conv weight
// OIHW scale their first; a Keras DepthwiseConv2D kernel [kh, kw, in, mult]
// (Transpose and Reshape to [in*mult, 1, kh, kw]) scales element [.., c, m]
// by channel c*mult+m.
//
// A BatchNormalization is kept, with a reason in the report, when the layer
// before it is not a Dense or Conv, applies a non-linear activation, feeds
// other layers or the model outputs, or normalises another axis than its
// output channels. Chains fold in order, so Dense -> BN -> BN folds twice.
func FoldBN(m *model.Model) (*model.Model, FoldReport, error) {
	c := m.Clone()
	var rep FoldReport
	shapes, shapeErr := m.InferShapes() // ranks, where the nodes alone do not tell
	for i := 0; i < len(c.Layers); {
		bn := c.Layers[i]
		if bn.Kind != "BatchNormalization" {
			i++
			continue
		}
		into, reason := foldOne(c, i, shapes, shapeErr)
		if reason != "" {
			rep.Skipped = append(rep.Skipped, Skip{BatchNorm: bn.Name, Reason: reason})
			i++
			continue
		}
		rep.Folded = append(rep.Folded, Fold{BatchNorm: bn.Name, Into: into})
	}
	return c, rep, nil
}

// bnParams is a BatchNormalization in inference form, per channel.
type bnParams struct {
	gamma, beta, mean, variance []float64
	eps                         float64
	axis                        int // normalised axis of the layer's input; may be negative (from the end)
	rank                        int // rank of the input when the nodes say it, else -1
	// cfgAxis is the axis the Keras config names, when hasCfgAxis: a second
	// description of the same layer, used when the nodes' axis needs a rank
	// that shape inference cannot give.
	cfgAxis    int
	hasCfgAxis bool
}

// axisRef is an axis of a value whose rank may be unknown (-1); a negative
// axis counts from the end.
type axisRef struct{ axis, rank int }

// foldOne folds layer bi of c into its producer, modifying c, and returns
// the producer's name; or it leaves c unchanged and returns a reason.
func foldOne(c *model.Model, bi int, shapes map[string]*model.Value, shapeErr error) (into, reason string) {
	bn := c.Layers[bi]
	if len(bn.Inputs) != 1 || len(bn.Outputs) != 1 {
		return "", fmt.Sprintf("it has %d inputs and %d outputs; want one of each", len(bn.Inputs), len(bn.Outputs))
	}
	p, reason := readBN(bn)
	if reason != "" {
		return "", reason
	}
	x := bn.Inputs[0]
	pi := -1
	for j := bi - 1; j >= 0 && pi < 0; j-- {
		if slices.Contains(c.Layers[j].Outputs, x) {
			pi = j
		}
	}
	if pi < 0 {
		return "", fmt.Sprintf("its input %q is a model input, not the output of a Dense or Conv layer", x)
	}
	prev := c.Layers[pi]
	if prev.Kind == "InputLayer" {
		return "", fmt.Sprintf("it follows the input layer %q, not a Dense or Conv layer", prev.Name)
	}
	if len(prev.Outputs) != 1 {
		return "", fmt.Sprintf("previous layer %q has %d outputs", prev.Name, len(prev.Outputs))
	}
	for _, l := range c.Layers {
		if l != bn && slices.Contains(l.Inputs, x) {
			return "", fmt.Sprintf("output of %q also feeds %q", prev.Name, l.Name)
		}
	}
	if slices.Contains(c.Outputs, x) {
		return "", fmt.Sprintf("output of %q is also a model output", prev.Name)
	}
	plan, reason := planFold(prev, len(p.mean))
	if reason != "" {
		return "", reason
	}
	// The BN must normalise the producer's output channels.
	rank := func(r int) int {
		if r >= 0 {
			return r
		}
		if v, ok := shapes[x]; ok {
			return len(v.Shape)
		}
		return -1
	}
	out := axisRef{plan.outAxis.axis, rank(plan.outAxis.rank)}
	same, known := sameAxis(axisRef{p.axis, rank(p.rank)}, out)
	if !known && p.hasCfgAxis {
		same, known = sameAxis(axisRef{p.cfgAxis, rank(-1)}, out)
	}
	if !known {
		return "", fmt.Sprintf("cannot tell which axis of %q it normalises (shapes unknown: %v)", x, shapeErr)
	}
	if !same {
		return "", fmt.Sprintf("it normalises axis %d of %q, not the output channels of %q", p.axis, x, prev.Name)
	}
	if err := plan.apply(c, prev, p); err != nil {
		return "", err.Error()
	}
	// Remove the BN; its consumers read x.
	y := bn.Outputs[0]
	c.Layers = slices.Delete(c.Layers, bi, bi+1)
	for _, l := range c.Layers[bi:] {
		for k, in := range l.Inputs {
			if in == y {
				l.Inputs[k] = x
			}
		}
		for _, n := range l.Nodes {
			for k, in := range n.Inputs {
				if in == y {
					n.Inputs[k] = x
				}
			}
		}
	}
	for k, out := range c.Outputs {
		if out == y {
			c.Outputs[k] = x
		}
	}
	// A nested model that returned the BN's output (or was called on it)
	// now returns (is called on) x.
	for _, sm := range c.Submodels {
		for _, vals := range [][]string{sm.Inputs, sm.Outputs} {
			for k, v := range vals {
				if v == y {
					vals[k] = x
				}
			}
		}
	}
	return prev.Name, ""
}

func sameAxis(a, b axisRef) (same, known bool) {
	if a.axis < 0 && b.axis < 0 {
		return a.axis == b.axis, true
	}
	r := a.rank
	if r < 0 {
		r = b.rank
	}
	if r < 0 {
		return false, false
	}
	norm := func(x int) int {
		if x < 0 {
			return x + r
		}
		return x
	}
	return norm(a.axis) == norm(b.axis), true
}

// readBN extracts a BatchNormalization layer's inference parameters: from
// its ONNX BatchNormalization node when it has one (epsilon from the node's
// attribute, the normalised axis from the Transposes between the layer input
// and the node), else from its params by role and its Keras config.
func readBN(bn *model.Layer) (bnParams, string) {
	p := bnParams{eps: 1e-3, axis: -1, rank: -1, cfgAxis: -1} // Keras defaults: epsilon 1e-3, axis -1
	if bn.Config != nil {
		o, err := layers.BatchNormConfig(bn)
		if err != nil {
			return p, fmt.Sprintf("its Keras config does not read: %v", err)
		}
		if len(o.Axes) != 1 {
			return p, fmt.Sprintf("it normalises axes %v; only one axis can fold", o.Axes)
		}
		p.eps, p.axis = o.Epsilon, o.Axes[0]
		p.cfgAxis, p.hasCfgAxis = p.axis, true
	}
	f64 := func(v []float32) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	var node *model.Node
	if countOps(bn, "BatchNormalization") == 1 && countOps(bn, "BatchNormalization", "Transpose", "Identity") == len(bn.Nodes) {
		for _, n := range bn.Nodes {
			if n.Op == "BatchNormalization" {
				node = n
			}
		}
	}
	if node != nil {
		if node.AttrInt("training_mode", 0) != 0 {
			return p, "its BatchNormalization op is in training mode"
		}
		if node.AttrInt("spatial", 1) == 0 {
			return p, "its BatchNormalization op has spatial=0 (per-element statistics)"
		}
		if len(node.Inputs) < 5 {
			return p, "its BatchNormalization op has fewer than 5 inputs"
		}
		tensor := func(name string) []float32 {
			for _, q := range bn.Params {
				if q.Name == name {
					return q.Data
				}
			}
			for _, t := range bn.Consts {
				if t.Name == name && t.DType == model.Float32 {
					return t.F32
				}
			}
			return nil
		}
		vals := make([][]float32, 4)
		for k := range 4 {
			if vals[k] = tensor(node.Inputs[k+1]); vals[k] == nil {
				return p, fmt.Sprintf("its BatchNormalization input %q is not a param or const of the layer", node.Inputs[k+1])
			}
		}
		p.gamma, p.beta, p.mean, p.variance = f64(vals[0]), f64(vals[1]), f64(vals[2]), f64(vals[3])
		p.eps = float64(node.AttrFloat("epsilon", 1e-5)) // the op's attribute rules; 1e-5 is ONNX's default
		// Walk back from the node's X to the layer input through Transposes:
		// axis a of Transpose(t, perm) is axis perm[a] of t.
		axis, rank, v := 1, -1, node.Inputs[0]
		for v != bn.Inputs[0] {
			t := producerNode(bn, v)
			if t == nil {
				return p, fmt.Sprintf("its BatchNormalization op reads %q, which does not come from the layer input", v)
			}
			if t.Op == "Transpose" {
				perm := t.AttrInts("perm", nil)
				if perm == nil || axis >= len(perm) {
					return p, "a Transpose without perm feeds its BatchNormalization op"
				}
				axis, rank = int(perm[axis]), len(perm)
			}
			v = t.Inputs[0]
		}
		p.axis, p.rank = axis, rank
	} else {
		// A BN lowered to element-wise ops: read its params by role and its
		// Keras config.
		if bn.Config == nil {
			return p, "it has no single BatchNormalization op and no Keras config to read"
		}
		get := func(role string) []float32 {
			if q := bn.Param(role); q != nil {
				return q.Data
			}
			return nil
		}
		mean, variance := get("moving_mean"), get("moving_variance")
		if mean == nil || variance == nil {
			return p, "it has no moving_mean or moving_variance param"
		}
		p.mean, p.variance = f64(mean), f64(variance)
		if g := get("gamma"); g != nil {
			p.gamma = f64(g)
		} else {
			p.gamma = slices.Repeat([]float64{1}, len(mean))
		}
		if b := get("beta"); b != nil {
			p.beta = f64(b)
		} else {
			p.beta = make([]float64, len(mean))
		}
	}
	n := len(p.mean)
	if n == 0 || len(p.gamma) != n || len(p.beta) != n || len(p.variance) != n {
		return p, fmt.Sprintf("its gamma, beta, moving_mean, moving_variance have %d, %d, %d, %d values", len(p.gamma), len(p.beta), len(p.mean), len(p.variance))
	}
	for i, v := range p.variance {
		if !(v+p.eps > 0) {
			return p, fmt.Sprintf("moving_variance[%d] + epsilon = %g is not positive", i, v+p.eps)
		}
	}
	return p, ""
}

func countOps(l *model.Layer, ops ...string) int {
	n := 0
	for _, nd := range l.Nodes {
		if slices.Contains(ops, nd.Op) {
			n++
		}
	}
	return n
}

// producerNode returns the node of l producing value v, or nil.
func producerNode(l *model.Layer, v string) *model.Node {
	for _, n := range l.Nodes {
		if slices.Contains(n.Outputs, v) {
			return n
		}
	}
	return nil
}

// consumers returns the nodes of l reading v.
func consumers(l *model.Layer, v string) []*model.Node {
	var out []*model.Node
	for _, n := range l.Nodes {
		if slices.Contains(n.Inputs, v) {
			out = append(out, n)
		}
	}
	return out
}

// foldPlan is what planFold learned about the producer layer.
type foldPlan struct {
	core   *model.Node  // MatMul, Gemm or Conv
	kernel *model.Param // the weight param
	// kernelChannel[j] is the output channel kernel.Data[j] contributes to.
	kernelChannel []int
	bias          *model.Param // nil when the layer has none; its values run along the channels
	outAxis       axisRef      // channel axis of the layer's output
}

// planFold checks that layer l is a linear Dense/Conv with channels output
// channels and finds its kernel, bias and axes.
func planFold(l *model.Layer, channels int) (*foldPlan, string) {
	var cores []*model.Node
	for _, n := range l.Nodes {
		switch n.Op {
		case "MatMul", "Gemm", "Conv":
			cores = append(cores, n)
		}
	}
	if len(cores) != 1 {
		if len(cores) == 0 {
			return nil, fmt.Sprintf("previous layer %q (%s) is not a Dense or Conv layer", l.Name, l.Kind)
		}
		return nil, fmt.Sprintf("previous layer %q (%s) has %d MatMul/Gemm/Conv ops; want one", l.Name, l.Kind, len(cores))
	}
	core := cores[0]
	param := func(name string) *model.Param {
		for _, q := range l.Params {
			if q.Name == name {
				return q
			}
		}
		return nil
	}
	if len(core.Inputs) < 2 || param(core.Inputs[0]) != nil {
		return nil, fmt.Sprintf("previous layer %q: its %s does not multiply its input by a weight", l.Name, core.Op)
	}
	plan := &foldPlan{core: core}
	// Output-channel axis of the weight as the core op sees it.
	viewAxis := 0
	switch core.Op {
	case "MatMul":
		viewAxis = -1 // the last axis of B
	case "Gemm":
		if core.AttrInt("transB", 0) == 0 {
			viewAxis = 1
		}
	}
	// Walk back to the param through data-movement ops only.
	var chain []*model.Node // from the core's weight input back to the param
	v := core.Inputs[1]
	for param(v) == nil {
		t := producerNode(l, v)
		if t == nil || !movesData[t.Op] {
			what := "no node"
			if t != nil {
				what = t.Op
			}
			return nil, fmt.Sprintf("previous layer %q: its weight reaches %s through %s, not a param and Transpose/Reshape", l.Name, core.Op, what)
		}
		if len(consumers(l, v)) != 1 {
			return nil, fmt.Sprintf("previous layer %q: its weight %q is used more than once", l.Name, v)
		}
		chain = append(chain, t)
		v = t.Inputs[0]
	}
	k := param(v)
	if len(consumers(l, k.Name)) != 1 {
		return nil, fmt.Sprintf("previous layer %q: its weight %q is used more than once", l.Name, k.Name)
	}
	slices.Reverse(chain)
	view, src, err := trackElements(l, k.Shape, chain)
	if err != nil {
		return nil, fmt.Sprintf("previous layer %q: its weight %q: %v", l.Name, k.Name, err)
	}
	if core.Op != "Conv" && len(view) != 2 {
		return nil, fmt.Sprintf("previous layer %q: its %s weight has shape %v; want a matrix", l.Name, core.Op, view)
	}
	axis := viewAxis
	if axis < 0 {
		axis += len(view)
	}
	if got := view[axis]; got != channels {
		return nil, fmt.Sprintf("previous layer %q has %d output channels; the BatchNormalization has %d", l.Name, got, channels)
	}
	// Output channel of each kernel element: the index along axis of the
	// view element it became.
	stride := 1
	for _, d := range view[axis+1:] {
		stride *= d
	}
	plan.kernel, plan.kernelChannel = k, make([]int, len(src))
	for e, j := range src {
		plan.kernelChannel[j] = (e / stride) % channels
	}

	// Channel axis of the core's output.
	switch core.Op {
	case "MatMul":
		plan.outAxis = axisRef{-1, -1}
	case "Gemm":
		plan.outAxis = axisRef{1, 2}
	case "Conv":
		plan.outAxis = axisRef{1, len(view)} // Conv W has the rank of its data
	}
	if (core.Op == "Gemm" || core.Op == "Conv") && len(core.Inputs) > 2 && core.Inputs[2] != "" {
		b := param(core.Inputs[2])
		if b == nil || model.NumElements(b.Shape) != channels && model.NumElements(b.Shape) != 1 {
			return nil, fmt.Sprintf("previous layer %q: its bias %q is not a param of %d values", l.Name, core.Inputs[2], channels)
		}
		plan.bias = b
	}
	// Walk forward to the layer output: only Transposes, Identity and one
	// bias Add may follow the core op.
	cur := core.Outputs[0]
	for cur != l.Outputs[0] {
		next := consumers(l, cur)
		if len(next) != 1 {
			return nil, fmt.Sprintf("previous layer %q: value %q has %d consumers inside the layer", l.Name, cur, len(next))
		}
		n := next[0]
		switch n.Op {
		case "Identity":
		case "Transpose":
			perm := n.AttrInts("perm", nil)
			a := plan.outAxis
			if a.axis < 0 && a.rank >= 0 {
				a.axis += a.rank
			}
			if perm == nil || a.axis < 0 || a.axis >= len(perm) {
				return nil, fmt.Sprintf("previous layer %q: cannot follow its output channels through Transpose %q", l.Name, n.Name)
			}
			j := slices.Index(perm, int64(a.axis))
			plan.outAxis = axisRef{j, len(perm)}
		case "Add":
			other := n.Inputs[0]
			if other == cur {
				other = n.Inputs[1]
			}
			b := param(other)
			if b == nil || plan.bias != nil {
				return nil, fmt.Sprintf("previous layer %q adds %q after its %s; only one bias param can fold", l.Name, other, core.Op)
			}
			if !alongChannels(b.Shape, plan.outAxis, channels) {
				return nil, fmt.Sprintf("previous layer %q: its bias %v does not run along the output channels", l.Name, b.Shape)
			}
			plan.bias = b
		default:
			act, err := layers.ConfigActivation(l)
			if err != nil || act == "" || act == "linear" {
				act = n.Op
			}
			return nil, fmt.Sprintf("previous layer %q has activation %s", l.Name, act)
		}
		cur = n.Outputs[0]
	}
	if plan.bias != nil && len(consumers(l, plan.bias.Name)) != 1 {
		return nil, fmt.Sprintf("previous layer %q: its bias %q is used more than once", l.Name, plan.bias.Name)
	}
	return plan, ""
}

// alongChannels reports whether a param of shape, added to a value whose
// channel axis is ch, runs along the channels: [C] or [1..., C, 1...]
// aligned with ch, or a single value when ch is the last axis.
func alongChannels(shape []int, ch axisRef, channels int) bool {
	n := model.NumElements(shape)
	last := ch.axis == -1 || (ch.rank >= 0 && ch.axis == ch.rank-1)
	if n == 1 {
		return last
	}
	if n != channels {
		return false
	}
	// Broadcasting aligns shapes from the right: shape axis at is value
	// axis at-len(shape) counted from the end.
	fromEnd := slices.Index(shape, channels) - len(shape)
	switch {
	case ch.axis < 0:
		return fromEnd == ch.axis
	case ch.rank >= 0:
		return ch.rank+fromEnd == ch.axis
	}
	return false
}

// apply scales the kernel and sets the bias of l in c with p's fold. On
// error it has changed nothing.
func (plan *foldPlan) apply(c *model.Model, l *model.Layer, p bnParams) error {
	cfg := l.Config
	if plan.bias == nil {
		var err error
		if cfg, err = layers.UseBiasConfig(l); err != nil {
			return fmt.Errorf("previous layer %q: its Keras config cannot record the new bias: %v", l.Name, err)
		}
	}
	n := len(p.mean)
	s := make([]float64, n)
	shift := make([]float64, n)
	for i := range n {
		s[i] = p.gamma[i] / math.Sqrt(p.variance[i]+p.eps)
		shift[i] = p.beta[i] - p.mean[i]*s[i]
	}
	// kernel' = kernel * s, per output channel.
	k := plan.kernel
	for i, w := range k.Data {
		k.Data[i] = float32(float64(w) * s[plan.kernelChannel[i]])
	}
	if b := plan.bias; b != nil {
		if model.NumElements(b.Shape) == 1 && n > 1 { // a broadcast scalar becomes a vector
			v := b.Data[0]
			b.Shape, b.Data = []int{n}, slices.Repeat([]float32{v}, n)
		}
		scale := 1.0
		if plan.core.Op == "Gemm" && plan.core.Inputs[2] == b.Name {
			// Gemm adds beta*C: fold the effective bias, then use beta = 1.
			scale = float64(plan.core.AttrFloat("beta", 1))
			setAttr(plan.core, "beta", model.Float(1))
		}
		for i, v := range b.Data {
			b.Data[i] = float32(scale*float64(v)*s[i] + shift[i])
		}
	} else {
		name := uniqueValue(c, l.Name+"/bias")
		data := make([]float32, n)
		for i := range n {
			data[i] = float32(shift[i])
		}
		b := &model.Param{Name: name, Role: "bias", Shape: []int{n}, Data: data,
			Trainable: l.Trainable, Init: &model.Initializer{Name: "zeros"}}
		at := slices.Index(l.Params, k) + 1
		l.Params = slices.Insert(l.Params, at, b)
		switch plan.core.Op {
		case "Gemm":
			plan.core.Inputs = append(plan.core.Inputs[:2:2], name)
			setAttr(plan.core, "beta", model.Float(1))
		case "Conv":
			plan.core.Inputs = append(plan.core.Inputs[:2:2], name)
		case "MatMul":
			out := plan.core.Outputs[0]
			mid := uniqueValue(c, out+"/unbiased")
			plan.core.Outputs[0] = mid
			add := &model.Node{Name: uniqueValue(c, l.Name+"/BiasAdd_folded"), Op: "Add", Inputs: []string{mid, name}, Outputs: []string{out}}
			at := slices.Index(l.Nodes, plan.core) + 1
			l.Nodes = slices.Insert(l.Nodes, at, add)
		}
		l.Config = cfg
	}
	return nil
}

func setAttr(n *model.Node, name string, a model.Attr) {
	if n.Attrs == nil {
		n.Attrs = map[string]model.Attr{}
	}
	n.Attrs[name] = a
}

// uniqueValue returns base, or base_N, so that no value or node of c has
// that name.
func uniqueValue(c *model.Model, base string) string {
	used := map[string]bool{}
	for _, v := range c.Inputs {
		used[v.Name] = true
	}
	for _, l := range c.Layers {
		for _, p := range l.Params {
			used[p.Name] = true
		}
		for _, t := range l.Consts {
			used[t.Name] = true
		}
		for _, n := range l.Nodes {
			used[n.Name] = true
			for _, o := range n.Outputs {
				used[o] = true
			}
		}
	}
	name := base
	for i := 1; used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

// movesData lists the ops that only rearrange a weight on its way to the
// core op (trackElements follows them).
var movesData = map[string]bool{"Transpose": true, "Reshape": true, "Identity": true}

// trackElements applies chain (Transpose, Reshape, Identity nodes of l, in
// order) to a tensor of shape, and returns the resulting shape and, for each
// element of the result, the index of the element of the original it holds.
func trackElements(l *model.Layer, shape []int, chain []*model.Node) ([]int, []int, error) {
	n := model.NumElements(shape)
	if n < 0 {
		return nil, nil, fmt.Errorf("bad shape %v", shape)
	}
	src := make([]int, n)
	for i := range src {
		src[i] = i
	}
	shape = slices.Clone(shape)
	for _, t := range chain {
		switch t.Op {
		case "Identity":
		case "Transpose":
			perm := t.AttrInts("perm", nil)
			if perm == nil { // ONNX default: reverse the axes
				for i := len(shape) - 1; i >= 0; i-- {
					perm = append(perm, int64(i))
				}
			}
			if len(perm) != len(shape) {
				return nil, nil, fmt.Errorf("transpose %q: perm %v does not fit shape %v", t.Name, perm, shape)
			}
			shape, src = transposeInts(src, shape, perm)
			if shape == nil {
				return nil, nil, fmt.Errorf("transpose %q: bad perm %v", t.Name, perm)
			}
		case "Reshape":
			var target []int64
			for _, c := range l.Consts {
				if len(t.Inputs) > 1 && c.Name == t.Inputs[1] && c.DType == model.Int64 {
					target = c.I64
				}
			}
			if target == nil {
				return nil, nil, fmt.Errorf("reshape %q: its shape is not a const of the layer", t.Name)
			}
			next, err := reshapeDims(shape, target, t.AttrInt("allowzero", 0) != 0)
			if err != nil {
				return nil, nil, fmt.Errorf("reshape %q: %v", t.Name, err)
			}
			shape = next
		}
	}
	return shape, src, nil
}

// transposeInts permutes data of shape by perm (ONNX Transpose: output axis
// i is input axis perm[i]); nil shape for an invalid perm.
func transposeInts(data []int, shape []int, perm []int64) ([]int, []int) {
	r := len(shape)
	out := make([]int, r)
	seen := make([]bool, r)
	for i, p := range perm {
		if p < 0 || int(p) >= r || seen[p] {
			return nil, nil
		}
		seen[p] = true
		out[i] = shape[p]
	}
	inStride := make([]int, r)
	st := 1
	for i := r - 1; i >= 0; i-- {
		inStride[i] = st
		st *= shape[i]
	}
	res := make([]int, len(data))
	idx := make([]int, r) // index into out
	for e := range res {
		off := 0
		for i, p := range perm {
			off += idx[i] * inStride[p]
		}
		res[e] = data[off]
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < out[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, res
}

// reshapeDims applies ONNX Reshape's target rules: 0 copies the input dim
// (unless allowzero), one -1 is inferred.
func reshapeDims(shape []int, target []int64, allowZero bool) ([]int, error) {
	n := model.NumElements(shape)
	out := make([]int, len(target))
	infer, known := -1, 1
	for i, d := range target {
		switch {
		case d == -1 && infer < 0:
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(shape) {
				return nil, fmt.Errorf("target %v copies a dim %v lacks", target, shape)
			}
			out[i] = shape[i]
		case d >= 0:
			out[i] = int(d)
		default:
			return nil, fmt.Errorf("bad target %v", target)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			return nil, fmt.Errorf("target %v does not fit %v", target, shape)
		}
		out[infer] = n / known
	}
	if model.NumElements(out) != n {
		return nil, fmt.Errorf("target %v does not fit %v", target, shape)
	}
	return out, nil
}
