package channelslast

import (
	"math"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// Activations. One Keras activation function folds into the Conv or Dense
// layer before it (Keras's activation argument); alone it is an Activation
// layer, or the layer Keras has for it (ReLU with max_value for Clip(0, m),
// LeakyReLU, Softmax with an axis). The element-wise ops work in any
// layout, so the value keeps its layout.

// nonnegActivation lists activations whose outputs are >= 0 (a MaxPool
// with explicit pads may then be written as ZeroPadding + "valid").
var nonnegActivation = map[string]bool{"relu": true, "sigmoid": true, "softmax": true}

// simpleActivations maps single ONNX ops to the Keras activation name both
// tf.keras 2 and Keras 3 define the same way.
var simpleActivations = map[string]string{
	"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus", "Softsign": "softsign",
	"Exp": "exponential",
}

// fusable are the activations folded into a preceding Conv or Dense: the
// Keras activation names tf.keras 2 and Keras 3 define alike.
var fusable = map[string]bool{
	"relu": true, "sigmoid": true, "tanh": true, "swish": true, "gelu": true, "selu": true, "elu": true,
	"softplus": true, "softsign": true, "exponential": true, "softmax": true, "log_softmax": true,
}

// fuseActivation matches one Keras activation applied to source value v
// and read by nothing else, possibly behind Transposes and Identities that
// only relabel (a channels-last Keras Conv exported as Transpose, Conv,
// Transpose, activation); it marks the nodes done and returns the
// activation's name, output value and that value's layout, or "linear", v
// and perm. perm is v's layout in the converted model: a softmax folds only
// when it is over the last axis there, as Keras's activation is.
func (c *converter) fuseActivation(v string, perm []int) (string, string, []int) {
	cur, curPerm := v, perm
	var relabels []*model.Node
	for {
		u := c.soleUse(cur)
		if u == nil || u.Inputs[0] != cur || (u.Op != "Transpose" && u.Op != "Identity") {
			break
		}
		if u.Op == "Transpose" {
			p, ok := relabel(u, curPerm)
			if !ok {
				break
			}
			curPerm = p
		}
		relabels = append(relabels, u)
		cur = u.Outputs[0]
	}
	act, nodes, out := c.matchActivation(cur)
	if !fusable[act] {
		return "linear", v, perm
	}
	if act == "softmax" || act == "log_softmax" {
		if axis, ok := c.softmaxAxis(nodes[0], cur); !ok || position(curPerm, axis) != len(curPerm)-1 {
			return "linear", v, perm
		}
	}
	for _, n := range append(relabels, nodes...) {
		c.done[n] = true
	}
	return act, out, curPerm
}

// matchActivation recognises a Keras activation function applied to v: one
// ONNX op of simpleActivations, swish x*sigmoid(x), or GELU's erf form
// 0.5*x*(1 + erf(x/sqrt(2))) as torch exports it; every node's output but
// the last must be read only inside the pattern.
func (c *converter) matchActivation(v string) (act string, nodes []*model.Node, out string) {
	uses := c.uses[v]
	if c.graphOut[v] || len(uses) == 0 {
		return "", nil, ""
	}
	if len(uses) == 1 {
		n := uses[0]
		if n.Inputs[0] != v {
			return "", nil, ""
		}
		if a, ok := simpleActivations[n.Op]; ok {
			return a, []*model.Node{n}, n.Outputs[0]
		}
		switch {
		case n.Op == "Selu" && c.defaultAttrs(n), n.Op == "Elu" && n.AttrFloat("alpha", 1) == 1:
			return strings.ToLower(n.Op), []*model.Node{n}, n.Outputs[0]
		case n.Op == "Softmax":
			return "softmax", []*model.Node{n}, n.Outputs[0]
		case n.Op == "LogSoftmax":
			return "log_softmax", []*model.Node{n}, n.Outputs[0]
		}
		return "", nil, ""
	}
	if len(uses) != 2 {
		return "", nil, ""
	}
	// swish: Sigmoid(v) and Mul(v, sigmoid) in either order.
	for i, s := range uses {
		m := uses[1-i]
		if s.Op == "Sigmoid" && m.Op == "Mul" && c.soleUse(s.Outputs[0]) == m && sameSet(m.Inputs, []string{v, s.Outputs[0]}) {
			return "swish", []*model.Node{s, m}, m.Outputs[0]
		}
	}
	if nodes, out := c.matchGelu(v, uses); nodes != nil {
		return "gelu", nodes, out
	}
	return "", nil, ""
}

// matchGelu matches Div(v, sqrt2) -> Erf -> Add(1) -> Mul(v) -> Mul(0.5)
// (torch.onnx's GELU at opsets 13-17; the two Muls in either order).
func (c *converter) matchGelu(v string, uses []*model.Node) ([]*model.Node, string) {
	var div, mulX *model.Node
	for _, u := range uses {
		switch {
		case u.Op == "Div" && u.Inputs[0] == v && c.scalar(u.Inputs[1], math.Sqrt2):
			div = u
		case u.Op == "Mul":
			mulX = u
		}
	}
	if div == nil || mulX == nil {
		return nil, ""
	}
	erf := c.soleUse(div.Outputs[0])
	if erf == nil || erf.Op != "Erf" {
		return nil, ""
	}
	add := c.soleUse(erf.Outputs[0])
	if add == nil || add.Op != "Add" || !c.otherIsScalar(add, erf.Outputs[0], 1) {
		return nil, ""
	}
	// Either Mul(v, Add) then Mul(., 0.5), or Mul(Add, 0.5)... torch writes
	// Mul(v, add) -> Mul(., 0.5).
	if !sameSet(mulX.Inputs, []string{v, add.Outputs[0]}) || c.soleUse(add.Outputs[0]) != mulX {
		return nil, ""
	}
	half := c.soleUse(mulX.Outputs[0])
	if half == nil || half.Op != "Mul" || !c.otherIsScalar(half, mulX.Outputs[0], 0.5) {
		return nil, ""
	}
	return []*model.Node{div, erf, add, mulX, half}, half.Outputs[0]
}

// scalar reports whether source value v is a one-element float constant
// within 1e-6 (relative) of want.
func (c *converter) scalar(v string, want float64) bool {
	t := c.constant(v)
	return t != nil && len(t.F32) == 1 && math.Abs(float64(t.F32[0])-want) <= 1e-6*math.Max(1, math.Abs(want))
}

// otherIsScalar reports whether binary node n reads v and a scalar want.
func (c *converter) otherIsScalar(n *model.Node, v string, want float64) bool {
	if len(n.Inputs) != 2 {
		return false
	}
	other := n.Inputs[1]
	if other == v {
		other = n.Inputs[0]
	} else if n.Inputs[0] != v {
		return false
	}
	return c.scalar(other, want)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// opActivation converts an activation that did not fold into a layer
// before it.
func opActivation(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	xv := c.vals[x]
	if xv == nil {
		return c.noForm(n, x)
	}
	tr := c.trainable(n)
	name := c.layerName(n, "")
	y := n.Outputs[0]
	var out string
	var err error
	switch n.Op {
	case "Clip":
		lo, hi, ok := c.clipBounds(n)
		if !ok || lo != 0 || math.IsInf(float64(hi), 1) {
			return c.fail(n, "Clip to [%g, %g] is not a Keras ReLU (bounds 0 and max_value); only Clip(0, m) converts", lo, hi)
		}
		out, err = c.add(reluLayer(name, xv.name, tr, &hi))
		c.nonneg[y] = true
	case "LeakyRelu":
		alpha := n.AttrFloat("alpha", 0.01)
		out, err = c.add(leakyReLU(name, xv.name, tr, alpha))
	case "Elu":
		out, err = c.add(eluLayer(name, xv.name, tr, n.AttrFloat("alpha", 1)))
	case "Selu":
		if !c.defaultAttrs(n) {
			return c.fail(n, "Selu with alpha/gamma other than the SELU constants has no Keras activation")
		}
		out, err = c.add(activationLayer(name, xv.name, tr, "selu"))
	case "HardSigmoid", "HardSwish":
		// clip(alpha*x + beta, 0, 1) as Rescaling then ReLU(max_value=1),
		// which mean the same in tf.keras 2 and Keras 3 (their hard_sigmoid
		// activations differ); HardSwish multiplies x by HardSigmoid(x)
		// with alpha 1/6, beta 0.5.
		alpha, beta := float32(1.0/6), float32(0.5)
		if n.Op == "HardSigmoid" {
			alpha, beta = n.AttrFloat("alpha", 0.2), n.AttrFloat("beta", 0.5)
		}
		s, err := c.add(rescalingLayer(c.layerName(n, "scale"), xv.name, tr, []float32{alpha}, []float32{beta}))
		if err != nil {
			return err
		}
		one := float32(1)
		hs, err := c.add(reluLayer(c.layerName(n, "clip"), s, tr, &one))
		if err != nil {
			return err
		}
		if n.Op == "HardSigmoid" {
			c.set(y, hs, xv.perm)
			c.nonneg[y] = true
			return nil
		}
		out, err = c.add(mergeLayer("Multiply", name, []string{xv.name, hs}, tr))
	case "Gelu":
		if n.AttrString("approximate", "none") != "none" {
			return c.fail(n, "Gelu with approximate=tanh: Keras's gelu activation string means the exact form")
		}
		out, err = c.add(activationLayer(name, xv.name, tr, "gelu"))
	default:
		act, nodes, end := c.matchActivation(x)
		if act == "" || nodes[0] != n {
			act, nodes, end = simpleActivations[n.Op], []*model.Node{n}, y
		}
		for _, m := range nodes {
			c.done[m] = true
		}
		y = end
		out, err = c.add(activationLayer(name, xv.name, tr, act))
		c.nonneg[y] = nonnegActivation[act]
	}
	if err != nil {
		return err
	}
	c.set(y, out, xv.perm)
	return nil
}

// defaultAttrs reports whether Selu has ONNX's (and Keras's) constants.
func (c *converter) defaultAttrs(n *model.Node) bool {
	near := func(a float32, b float64) bool { return math.Abs(float64(a)-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	switch n.Op {
	case "Selu":
		return near(n.AttrFloat("alpha", 1.67326319217681884765625), 1.6732632423543772) &&
			near(n.AttrFloat("gamma", 1.05070102214813232421875), 1.0507009873554805)
	}
	return false
}

// clipBounds returns Clip's bounds (inputs from opset 11, attributes
// before); absent bounds are infinite.
func (c *converter) clipBounds(n *model.Node) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if c.src.Opset < 11 {
		return n.AttrFloat("min", lo), n.AttrFloat("max", hi), true
	}
	for i, p := range []*float32{&lo, &hi} {
		if len(n.Inputs) > i+1 && n.Inputs[i+1] != "" {
			t := c.constant(n.Inputs[i+1])
			if t == nil || len(t.F32) != 1 {
				return 0, 0, false
			}
			*p = t.F32[0]
		}
	}
	return lo, hi, true
}

// softmaxAxis returns the source axis a Softmax/LogSoftmax node n over v
// normalises (opset 13+: one axis; before, only rank 2 qualifies).
func (c *converter) softmaxAxis(n *model.Node, v string) (int, bool) {
	r := c.rank(v)
	def := int64(-1)
	if c.src.Opset < 13 {
		if r > 2 {
			return 0, false
		}
		def = 1
	}
	axis := int(n.AttrInt("axis", def))
	if axis < 0 {
		axis += r
	}
	return axis, axis > 0 && axis < r
}

// opSoftmax converts Softmax and LogSoftmax (opset 13+: one axis) to a
// Keras Softmax layer on the axis where the layout holds it, or an
// Activation over the last axis.
func opSoftmax(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	xv := c.vals[x]
	if xv == nil {
		return c.noForm(n, x)
	}
	r := c.rank(x)
	def := int64(-1)
	if c.src.Opset < 13 {
		def = 1
		if r > 2 {
			return c.fail(n, "%s before opset 13 normalises the flattened trailing axes; Keras normalises one axis", n.Op)
		}
	}
	axis := int(n.AttrInt("axis", def))
	if axis < 0 {
		axis += r
	}
	if axis <= 0 || axis >= r {
		return c.fail(n, "axis %d of a rank-%d input", axis, r)
	}
	pos := position(xv.perm, axis)
	tr := c.trainable(n)
	name := c.layerName(n, "")
	var out string
	var err error
	switch {
	case pos == r-1 && n.Op == "Softmax":
		out, err = c.add(activationLayer(name, xv.name, tr, "softmax"))
	case pos == r-1:
		out, err = c.add(activationLayer(name, xv.name, tr, "log_softmax"))
	case n.Op == "Softmax":
		out, err = c.add(softmaxLayer(name, xv.name, tr, pos))
	default:
		return c.fail(n, "LogSoftmax over axis %d, not the last: Keras has log_softmax over the last axis only", pos)
	}
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], out, xv.perm)
	c.nonneg[n.Outputs[0]] = n.Op == "Softmax"
	return nil
}
