package keras

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// convertible lists what fromNodes turns into Keras layers, for messages.
const convertible = "Dense (Gemm, or MatMul with an optional Add, then an optional activation), " +
	"activation-only layers (Relu, Sigmoid, Tanh, Softmax, LogSoftmax, Selu, Elu, LeakyRelu, Softplus, Softsign, Exp, HardSigmoid, HardSwish, Sigmoid*x), " +
	"Flatten (axis 1), BatchNormalization, Dropout, Identity, Add/Sub/Mul/Max/Min/Mean/Sum of layer inputs, Concat, " +
	"and Conv 1D/2D wrapped in channels-last Transposes"

// fromNodes converts a layer without a Keras config (ONNX-origin or built
// by hand) by recognising its nodes.
func fromNodes(l *model.Layer, shapes map[string]*model.Value, opset int) (*kLayer, error) {
	if len(l.Nodes) == 0 {
		return nil, fmt.Errorf("keras: %w: layer %q (%s) has no Keras config and no nodes", model.ErrUnsupported, l.Name, l.Kind)
	}
	c := &nodeConv{l: l, shapes: shapes, opset: opset}
	var k *kLayer
	var err error
	first := l.Nodes[0]
	switch {
	case first.Op == "Gemm" || first.Op == "MatMul":
		k, err = c.dense()
	case first.Op == "Transpose" && c.hasOp("Conv"):
		k, err = c.conv()
	case first.Op == "Flatten":
		k, err = c.flatten()
	case first.Op == "BatchNormalization":
		k, err = c.batchNorm()
	case first.Op == "Dropout" || first.Op == "Identity":
		k, err = c.passThrough()
	case mergeOps[first.Op] != "" || first.Op == "Concat":
		k, err = c.merge()
	case channelsFirst[first.Op]:
		err = c.errorf("ONNX %s works on channels-first (NCHW) data and Keras layers are channels-last: "+
			"it cannot be written as a Keras layer without transposes; export the model to ONNX instead, or wrap the op in Transposes as xfer's Keras layers do", first.Op)
	default:
		k, err = c.activationLayer()
	}
	if err != nil {
		return nil, err
	}
	if err := c.checkParamsUsed(k); err != nil {
		return nil, err
	}
	k.name = model.LocalName(l.Name)
	k.keras2Only, k.keras3Only = c.keras2Only, c.keras3Only
	return k, nil
}

// channelsFirst lists ONNX ops whose layout is NCHW.
var channelsFirst = map[string]bool{
	"Conv": true, "ConvTranspose": true, "MaxPool": true, "AveragePool": true,
	"GlobalAveragePool": true, "GlobalMaxPool": true, "LpPool": true, "InstanceNormalization": true,
	"LRN": true, "Upsample": true, "Resize": true, "DepthToSpace": true, "SpaceToDepth": true,
}

// mergeOps maps element-wise ONNX ops to Keras merge layers.
var mergeOps = map[string]string{
	"Add": "Add", "Sub": "Subtract", "Mul": "Multiply", "Max": "Maximum", "Min": "Minimum", "Mean": "Average", "Sum": "Add",
}

type nodeConv struct {
	l      *model.Layer
	shapes map[string]*model.Value
	opset  int
	used   map[string]bool // params and consts consumed
	// keras2Only/keras3Only: see kLayer.
	keras2Only, keras3Only string
}

// errorf reports a layer that cannot be converted; it wraps model.ErrUnsupported.
func (c *nodeConv) errorf(format string, a ...any) error {
	return fmt.Errorf("keras: %w: layer %q: "+format+" (convertible layers without a Keras config: "+convertible+")", append([]any{model.ErrUnsupported, c.l.Name}, a...)...)
}

func (c *nodeConv) hasOp(op string) bool {
	for _, n := range c.l.Nodes {
		if n.Op == op {
			return true
		}
	}
	return false
}

// tensor returns the float data of a param or float const of the layer.
func (c *nodeConv) tensor(name string) (shape []int, data []float32, p *model.Param, ok bool) {
	if c.used == nil {
		c.used = map[string]bool{}
	}
	for _, q := range c.l.Params {
		if q.Name == name {
			c.used[name] = true
			return q.Shape, q.Data, q, true
		}
	}
	for _, t := range c.l.Consts {
		if t.Name == name && t.DType == model.Float32 {
			c.used[name] = true
			return t.Shape, t.F32, nil, true
		}
	}
	return nil, nil, nil, false
}

// checkParamsUsed refuses a conversion that would silently drop a param.
func (c *nodeConv) checkParamsUsed(k *kLayer) error {
	for _, p := range c.l.Params {
		if !c.used[p.Name] {
			return c.errorf("param %q (%v) has no place in the Keras %s layer", p.Name, p.Shape, k.class)
		}
	}
	return nil
}

func (c *nodeConv) input() (string, error) {
	if len(c.l.Inputs) != 1 {
		return "", c.errorf("%s from nodes needs one input, has %d", c.l.Nodes[0].Op, len(c.l.Inputs))
	}
	return c.l.Inputs[0], nil
}

func (c *nodeConv) rank(v string) int {
	if s := c.shapes[v]; s != nil {
		return len(s.Shape)
	}
	return -1
}

// baseConfig starts a tf.keras 2 style config.
func (c *nodeConv) baseConfig() *pyjson.Obj {
	return pyjson.NewObj().Set("name", model.LocalName(c.l.Name)).Set("trainable", c.l.Trainable).Set("dtype", "float32")
}

// initializer renders a param's initializer as a serialized Keras object, or
// def when the param has none. A custom name stays a bare string.
func initializer(p *model.Param, def string) any {
	name, cfgRaw := def, []byte(nil)
	if p != nil && p.Init != nil && p.Init.Name != "" {
		name, cfgRaw = p.Init.Name, p.Init.Config
	}
	class := layers.InitializerClass(name)
	if _, known := initKeys[class]; !known {
		return name
	}
	cfg := pyjson.NewObj()
	if len(cfgRaw) > 0 {
		if o, err := pyjson.ParseObj(cfgRaw); err == nil {
			cfg = o
		}
	}
	if keys := initKeys[class]; slices.Contains(keys, "seed") {
		if _, ok := cfg.Get("seed"); !ok {
			cfg.Set("seed", nil)
		}
	}
	return pyjson.NewObj().Set("class_name", class).Set("config", cfg)
}

// dense converts Gemm or MatMul [+ Add] [+ activation].
func (c *nodeConv) dense() (*kLayer, error) {
	x, err := c.input()
	if err != nil {
		return nil, err
	}
	nodes := c.l.Nodes
	n := nodes[0]
	if len(n.Inputs) < 2 || n.Inputs[0] != x {
		return nil, c.errorf("%s node %q must read the layer input %q first", n.Op, n.Name, x)
	}
	wShape, w, wp, ok := c.tensor(n.Inputs[1])
	if !ok || len(wShape) != 2 {
		return nil, c.errorf("%s node %q: weight %q must be a 2-D float param of the layer", n.Op, n.Name, n.Inputs[1])
	}
	var kernel, bias []float32
	var bp *model.Param
	in, units := wShape[0], wShape[1]
	y := n.Outputs[0]
	rest := nodes[1:]
	switch n.Op {
	case "Gemm":
		if n.AttrInt("transA", 0) != 0 {
			return nil, c.errorf("Gemm node %q has transA=1; Keras Dense multiplies the input as is", n.Name)
		}
		alpha, beta := n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
		if n.AttrInt("transB", 0) != 0 {
			// ONNX/PyTorch [out, in] -> Keras [in, out].
			in, units = wShape[1], wShape[0]
			kernel = transpose2(w, wShape[0], wShape[1])
		} else {
			kernel = slices.Clone(w)
		}
		if alpha != 1 {
			for i := range kernel {
				kernel[i] *= alpha
			}
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			bShape, b, p, ok := c.tensor(n.Inputs[2])
			if !ok {
				return nil, c.errorf("Gemm node %q: bias %q must be a float param of the layer", n.Name, n.Inputs[2])
			}
			if bias, err = c.vector(b, bShape, units, "bias"); err != nil {
				return nil, err
			}
			for i := range bias {
				bias[i] *= beta
			}
			bp = p
		}
	case "MatMul":
		kernel = slices.Clone(w)
		if len(rest) > 0 && rest[0].Op == "Add" && len(rest[0].Inputs) == 2 && slices.Contains(rest[0].Inputs, y) {
			a := rest[0]
			other := a.Inputs[1]
			if other == y {
				other = a.Inputs[0]
			}
			bShape, b, p, ok := c.tensor(other)
			if !ok {
				return nil, c.errorf("Add node %q: bias %q must be a float param of the layer", a.Name, other)
			}
			if bias, err = c.vector(b, bShape, units, "bias"); err != nil {
				return nil, err
			}
			bp, y, rest = p, a.Outputs[0], rest[1:]
		}
	}
	act, err := c.activation(rest, y)
	if err != nil {
		return nil, err
	}
	cfg := c.baseConfig().Set("units", units).Set("activation", act).Set("use_bias", bias != nil).
		Set("kernel_initializer", initializer(wp, "glorot_uniform")).Set("bias_initializer", initializer(bp, "zeros")).
		Set("kernel_regularizer", nil).Set("bias_regularizer", nil).Set("activity_regularizer", nil).
		Set("kernel_constraint", nil).Set("bias_constraint", nil)
	k := &kLayer{class: "Dense", cfg: cfg, weights: []kWeight{{role: "kernel", shape: []int{in, units}, data: kernel}}}
	if bias != nil {
		k.weights = append(k.weights, kWeight{role: "bias", shape: []int{units}, data: bias})
	}
	return k, nil
}

// vector returns data as a vector of n values: shape [n], [1, n], or a
// single value broadcast.
func (c *nodeConv) vector(data []float32, shape []int, n int, what string) ([]float32, error) {
	switch {
	case len(data) == n && (len(shape) == 1 || len(shape) == 2 && shape[0] == 1):
		return slices.Clone(data), nil
	case len(data) == 1:
		v := make([]float32, n)
		for i := range v {
			v[i] = data[0]
		}
		return v, nil
	}
	return nil, c.errorf("%s of shape %v does not broadcast to [%d] as a Keras per-unit vector", what, shape, n)
}

func transpose2(w []float32, r, cols int) []float32 {
	out := make([]float32, len(w))
	for i := 0; i < r; i++ {
		for j := 0; j < cols; j++ {
			out[j*r+i] = w[i*cols+j]
		}
	}
	return out
}

// activation recognises the nodes that apply a Keras activation to x and
// end at the layer's output; no nodes is "linear".
func (c *nodeConv) activation(nodes []*model.Node, x string) (string, error) {
	out := c.l.Outputs[0]
	if len(nodes) == 0 {
		if x != out {
			return "", c.errorf("value %q, not the layer output %q, ends the recognised nodes", x, out)
		}
		return "linear", nil
	}
	act, y, err := c.matchActivation(nodes, x)
	if err != nil {
		return "", err
	}
	if y != out {
		return "", c.errorf("nodes after the activation (%s) are not convertible", act)
	}
	return act, nil
}

// matchActivation matches all of nodes as one Keras activation string
// applied to x; it returns the name and the output value.
func (c *nodeConv) matchActivation(nodes []*model.Node, x string) (string, string, error) {
	n := nodes[0]
	if len(n.Inputs) == 0 || n.Inputs[0] != x {
		return "", "", c.errorf("node %q (%s) does not read %q", n.Name, n.Op, x)
	}
	y := n.Outputs[0]
	if n.Op == "Sigmoid" && len(nodes) == 2 && nodes[1].Op == "Mul" &&
		len(nodes[1].Inputs) == 2 && slices.Contains(nodes[1].Inputs, x) && slices.Contains(nodes[1].Inputs, y) {
		return "swish", nodes[1].Outputs[0], nil
	}
	if len(nodes) > 1 {
		return "", "", c.errorf("nodes %s after %q are not one Keras activation", opList(nodes), x)
	}
	near := func(a float32, b float64) bool { return math.Abs(float64(a)-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	switch n.Op {
	case "Relu", "Sigmoid", "Tanh", "Softplus", "Softsign":
		return strings.ToLower(n.Op), y, nil
	case "Exp":
		return "exponential", y, nil
	case "Softmax", "LogSoftmax":
		if c.lastAxis(n, x) {
			if n.Op == "Softmax" {
				return "softmax", y, nil
			}
			return "log_softmax", y, nil
		}
		return "", "", c.errorf("%s node %q is not over the last axis; Keras's softmax activation is", n.Op, n.Name)
	case "Selu":
		// SELU constants: Klambauer et al. 2017, as Keras and ONNX define them.
		if near(n.AttrFloat("alpha", 1.67326319217681884765625), 1.6732632423543772) && near(n.AttrFloat("gamma", 1.05070102214813232421875), 1.0507009873554805) {
			return "selu", y, nil
		}
	case "Elu":
		if near(n.AttrFloat("alpha", 1), 1) {
			return "elu", y, nil
		}
	case "HardSigmoid":
		// Keras 2 hard_sigmoid is clip(0.2x + 0.5, 0, 1), ONNX's defaults;
		// Keras 3's is clip(x/6 + 0.5, 0, 1).
		if near(n.AttrFloat("beta", 0.5), 0.5) {
			switch a := n.AttrFloat("alpha", 0.2); {
			case near(a, 0.2):
				c.keras2Only = "hard_sigmoid"
				return "hard_sigmoid", y, nil
			case near(a, 1.0/6):
				c.keras3Only = "hard_sigmoid"
				return "hard_sigmoid", y, nil
			}
		}
	case "HardSwish":
		c.keras3Only = "hard_silu"
		return "hard_silu", y, nil
	}
	return "", "", c.errorf("node %q (%s) is not a Keras activation", n.Name, n.Op)
}

func (c *nodeConv) lastAxis(n *model.Node, x string) bool {
	def := int64(-1)
	if c.opset < 13 {
		def = 1 // Softmax's default axis before opset 13
	}
	axis := n.AttrInt("axis", def)
	if axis == -1 {
		return true
	}
	r := c.rank(x)
	return r > 0 && axis == int64(r-1)
}

func opList(nodes []*model.Node) string {
	var ops []string
	for _, n := range nodes {
		ops = append(ops, n.Op)
	}
	return strings.Join(ops, ", ")
}

// activationLayer converts a layer made only of activation nodes.
func (c *nodeConv) activationLayer() (*kLayer, error) {
	x, err := c.input()
	if err != nil {
		return nil, err
	}
	nodes := c.l.Nodes
	n := nodes[0]
	if len(nodes) == 1 && len(n.Inputs) > 0 && n.Inputs[0] == x && n.Outputs[0] == c.l.Outputs[0] {
		switch n.Op {
		case "LeakyRelu":
			return &kLayer{class: "LeakyReLU", cfg: c.baseConfig().Set("alpha", pyjson.Float(n.AttrFloat("alpha", 0.01)))}, nil
		case "Elu":
			if a := n.AttrFloat("alpha", 1); a != 1 {
				return &kLayer{class: "ELU", cfg: c.baseConfig().Set("alpha", pyjson.Float(a))}, nil
			}
		case "Softmax":
			// From opset 13 ONNX Softmax normalises one axis, as Keras's
			// Softmax layer does; before, it flattened the trailing axes.
			if !c.lastAxis(n, x) && c.opset >= 13 {
				return &kLayer{class: "Softmax", cfg: c.baseConfig().Set("axis", int(n.AttrInt("axis", -1)))}, nil
			}
		}
	}
	if _, ok := knownActivationOps[n.Op]; !ok {
		return nil, c.errorf("ONNX op %s (node %q) has no Keras layer here", n.Op, n.Name)
	}
	act, err := c.activation(nodes, x)
	if err != nil {
		return nil, err
	}
	return &kLayer{class: "Activation", cfg: c.baseConfig().Set("activation", act)}, nil
}

var knownActivationOps = map[string]bool{
	"Relu": true, "Sigmoid": true, "Tanh": true, "Softmax": true, "LogSoftmax": true, "Selu": true, "Elu": true,
	"Softplus": true, "Softsign": true, "Exp": true, "HardSigmoid": true, "HardSwish": true,
}

func (c *nodeConv) single(op string) (*model.Node, string, error) {
	x, err := c.input()
	if err != nil {
		return nil, "", err
	}
	if len(c.l.Nodes) != 1 {
		return nil, "", c.errorf("a %s layer from nodes is one %s node, found %s", op, op, opList(c.l.Nodes))
	}
	n := c.l.Nodes[0]
	if len(n.Inputs) == 0 || n.Inputs[0] != x || len(n.Outputs) == 0 || n.Outputs[0] != c.l.Outputs[0] {
		return nil, "", c.errorf("%s node %q must read the layer input and produce the layer output", op, n.Name)
	}
	return n, x, nil
}

func (c *nodeConv) flatten() (*kLayer, error) {
	n, _, err := c.single("Flatten")
	if err != nil {
		return nil, err
	}
	if a := n.AttrInt("axis", 1); a != 1 {
		return nil, c.errorf("Flatten node %q has axis %d; Keras Flatten keeps only the batch axis (axis 1)", n.Name, a)
	}
	return &kLayer{class: "Flatten", cfg: c.baseConfig().Set("data_format", "channels_last")}, nil
}

func (c *nodeConv) passThrough() (*kLayer, error) {
	n, _, err := c.single(c.l.Nodes[0].Op)
	if err != nil {
		return nil, err
	}
	if n.Op == "Identity" {
		return &kLayer{class: "Activation", cfg: c.baseConfig().Set("activation", "linear")}, nil
	}
	rate := float64(n.AttrFloat("ratio", 0.5)) // ONNX's default ratio
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		if _, v, _, ok := c.tensor(n.Inputs[1]); ok && len(v) == 1 {
			rate = float64(v[0])
		} else {
			return nil, c.errorf("Dropout node %q: ratio %q must be a float const of the layer", n.Name, n.Inputs[1])
		}
	}
	return &kLayer{class: "Dropout", cfg: c.baseConfig().Set("rate", pyjson.Float(rate)).Set("noise_shape", nil).Set("seed", nil)}, nil
}

func (c *nodeConv) batchNorm() (*kLayer, error) {
	n, x, err := c.single("BatchNormalization")
	if err != nil {
		return nil, err
	}
	if len(n.Inputs) != 5 {
		return nil, c.errorf("BatchNormalization node %q needs 5 inputs, has %d", n.Name, len(n.Inputs))
	}
	roles := []string{"gamma", "beta", "moving_mean", "moving_variance"}
	k := &kLayer{class: "BatchNormalization"}
	for i, role := range roles {
		shape, data, _, ok := c.tensor(n.Inputs[i+1])
		if !ok || len(shape) != 1 {
			return nil, c.errorf("BatchNormalization node %q: %s %q must be a 1-D float param of the layer", n.Name, role, n.Inputs[i+1])
		}
		k.weights = append(k.weights, kWeight{role: role, shape: slices.Clone(shape), data: data})
	}
	axis := -1
	switch r := c.rank(x); {
	case r < 0:
		return nil, c.errorf("BatchNormalization node %q: the rank of input %q is unknown, so the Keras axis is too", n.Name, x)
	case r > 2:
		axis = 1 // ONNX normalises the channels-first axis 1
	}
	init := func(class string) *pyjson.Obj {
		return pyjson.NewObj().Set("class_name", class).Set("config", pyjson.NewObj())
	}
	k.cfg = c.baseConfig().Set("axis", axis).
		Set("momentum", pyjson.Float(n.AttrFloat("momentum", 0.9))).Set("epsilon", pyjson.Float(n.AttrFloat("epsilon", 1e-5))).
		Set("center", true).Set("scale", true).
		Set("beta_initializer", init("Zeros")).Set("gamma_initializer", init("Ones")).
		Set("moving_mean_initializer", init("Zeros")).Set("moving_variance_initializer", init("Ones")).
		Set("beta_regularizer", nil).Set("gamma_regularizer", nil).Set("beta_constraint", nil).Set("gamma_constraint", nil)
	return k, nil
}

func (c *nodeConv) merge() (*kLayer, error) {
	if len(c.l.Nodes) != 1 {
		return nil, c.errorf("a merge layer from nodes is one node, found %s", opList(c.l.Nodes))
	}
	n := c.l.Nodes[0]
	if !slices.Equal(n.Inputs, c.l.Inputs) || len(n.Inputs) < 2 || n.Outputs[0] != c.l.Outputs[0] {
		return nil, c.errorf("%s node %q must combine the layer's own inputs %v (at least two)", n.Op, n.Name, c.l.Inputs)
	}
	if n.Op == "Sub" && len(n.Inputs) != 2 {
		return nil, c.errorf("Sub node %q needs two inputs", n.Name)
	}
	if n.Op == "Concat" {
		axis := n.AttrInt("axis", 1)
		if axis == 0 {
			return nil, c.errorf("Concat node %q joins along the batch axis; Keras Concatenate cannot", n.Name)
		}
		if r := c.rank(n.Inputs[0]); axis > 0 && r > 0 && axis == int64(r-1) {
			axis = -1
		}
		return &kLayer{class: "Concatenate", cfg: c.baseConfig().Set("axis", int(axis))}, nil
	}
	return &kLayer{class: mergeOps[n.Op], cfg: c.baseConfig()}, nil
}
