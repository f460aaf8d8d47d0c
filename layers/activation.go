package layers

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// Activations lists the activation names Activation understands: Keras's
// built-in activation names (Keras 2 semantics) plus the "keras3." names that
// KerasActivation returns where Keras 3 changed a definition.
func Activations() []string {
	names := make([]string, 0, len(activations))
	for k := range activations {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// KerasActivation returns the name this package uses for the activation
// called name in a file written by Keras major version major. Keras 3
// redefined hard_sigmoid as relu6(x+3)/6 (Keras 2: clip(0.2x+0.5, 0, 1))
// and the hard_silu/hard_swish pair on top of it
// (keras-team/keras:keras/src/activations/activations.py); for those names
// and major >= 3 the result is "keras3.<name>". Other names are returned in
// lower case.
func KerasActivation(name string, major int) string {
	n := strings.ToLower(name)
	if major >= 3 {
		if _, ok := activations["keras3."+n]; ok {
			return "keras3." + n
		}
	}
	return n
}

// activation appends nodes computing act(x) to a layer under construction.
// Each function returns the output value name.
type activationFn func(b *builder, x string) string

// SELU's constants: Klambauer et al. 2017, as in Keras and ONNX.
const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

// activations maps an activation name to its ONNX (opset 17) lowering.
// Semantics follow Keras 2.x (tf.keras) for plain names and Keras 3 for the
// "keras3." ones; where both agree the plain name serves both.
var activations = map[string]activationFn{
	"linear":      func(b *builder, x string) string { return x },
	"relu":        unary("Relu", nil),
	"sigmoid":     unary("Sigmoid", nil),
	"tanh":        unary("Tanh", nil),
	"softmax":     unary("Softmax", map[string]model.Attr{"axis": model.Int(-1)}),
	"log_softmax": unary("LogSoftmax", map[string]model.Attr{"axis": model.Int(-1)}),
	"selu":        unary("Selu", map[string]model.Attr{"alpha": model.Float(seluAlpha), "gamma": model.Float(seluScale)}),
	"elu":         unary("Elu", map[string]model.Attr{"alpha": model.Float(1)}),
	"softplus":    unary("Softplus", nil),
	"softsign":    unary("Softsign", nil),
	"exponential": unary("Exp", nil),
	// Keras 2 hard_sigmoid: clip(0.2*x + 0.5, 0, 1), ONNX HardSigmoid defaults.
	"hard_sigmoid": unary("HardSigmoid", map[string]model.Attr{"alpha": model.Float(0.2), "beta": model.Float(0.5)}),
	// Keras 3 hard_sigmoid: relu6(x + 3) / 6 = clip(x/6 + 0.5, 0, 1).
	"keras3.hard_sigmoid": unary("HardSigmoid", map[string]model.Attr{"alpha": model.Float(1.0 / 6), "beta": model.Float(0.5)}),
	// Keras 3 hard_silu / hard_swish: x * relu6(x + 3) / 6 = ONNX HardSwish.
	"keras3.hard_silu":  unary("HardSwish", nil),
	"keras3.hard_swish": unary("HardSwish", nil),
	"hard_silu":         unary("HardSwish", nil),
	"hard_swish":        unary("HardSwish", nil),
	// swish / silu: x * sigmoid(x).
	"swish": swish,
	"silu":  swish,
	// gelu: Keras 2 (tf.keras.activations.gelu) and Keras 3 both default to
	// approximate=False, the exact 0.5*x*(1 + erf(x/sqrt(2))). ONNX Gelu is
	// opset 20, so opset 17 spells it out.
	"gelu":  gelu,
	"relu6": relu6,
	// leaky_relu as an activation function: tf.nn.leaky_relu and Keras 3's
	// activations.leaky_relu both default to a slope of 0.2.
	"leaky_relu": unary("LeakyRelu", map[string]model.Attr{"alpha": model.Float(0.2)}),
	// mish: x * tanh(softplus(x)); ONNX Mish is opset 18.
	"mish": mish,
	// Keras 3 log_sigmoid: -softplus(-x).
	"log_sigmoid": logSigmoid,
	// Keras 3 additions, with the defaults of keras/src/activations/activations.py:
	// hard_tanh clip(x, -1, 1); celu(alpha=1); tanh_shrink x - tanh(x);
	// squareplus (x + sqrt(x^2 + b)) / 2 with b = 4; soft_shrink and
	// hard_shrink with threshold 0.5; sparse_plus 0 / (x+1)^2/4 / x.
	"hard_tanh": func(b *builder, x string) string { return b.clip(x, -1, 1) },
	"celu":      unary("Celu", map[string]model.Attr{"alpha": model.Float(1)}),
	"tanh_shrink": func(b *builder, x string) string {
		return b.node("Sub", []string{x, b.node("Tanh", []string{x}, nil)}, nil)
	},
	"squareplus":  squareplus,
	"soft_shrink": softShrink,
	"hard_shrink": hardShrink,
	"sparse_plus": sparsePlus,
}

func squareplus(b *builder, x string) string {
	sq := b.node("Mul", []string{x, x}, nil)
	r := b.node("Sqrt", []string{b.node("Add", []string{sq, b.constScalar("squareplus_b", 4)}, nil)}, nil)
	return b.node("Mul", []string{b.node("Add", []string{x, r}, nil), b.constScalar("squareplus_half", 0.5)}, nil)
}

// softShrink is relu(x - 0.5) - relu(-x - 0.5).
func softShrink(b *builder, x string) string {
	t := b.constScalar("shrink_threshold", 0.5)
	pos := b.node("Relu", []string{b.node("Sub", []string{x, t}, nil)}, nil)
	neg := b.node("Relu", []string{b.node("Sub", []string{b.node("Neg", []string{x}, nil), t}, nil)}, nil)
	return b.node("Sub", []string{pos, neg}, nil)
}

// hardShrink keeps x where |x| > 0.5: ThresholdedRelu(x) - ThresholdedRelu(-x).
func hardShrink(b *builder, x string) string {
	at := map[string]model.Attr{"alpha": model.Float(0.5)}
	pos := b.node("ThresholdedRelu", []string{x}, at)
	neg := b.node("ThresholdedRelu", []string{b.node("Neg", []string{x}, nil)}, at)
	return b.node("Sub", []string{pos, neg}, nil)
}

// sparsePlus is (clip(x, -1, 1) + 1)^2 / 4 + relu(x - 1).
func sparsePlus(b *builder, x string) string {
	c := b.node("Add", []string{b.clip(x, -1, 1), b.constScalar("sparse_plus_one", 1)}, nil)
	q := b.node("Mul", []string{b.node("Mul", []string{c, c}, nil), b.constScalar("sparse_plus_quarter", 0.25)}, nil)
	r := b.node("Relu", []string{b.node("Sub", []string{x, b.constScalar("sparse_plus_one", 1)}, nil)}, nil)
	return b.node("Add", []string{q, r}, nil)
}

// Activation appends the nodes of activation name applied to x and returns
// the value holding the result.
func (b *builder) activation(name, x string) (string, error) {
	fn, ok := activations[strings.ToLower(name)]
	if !ok {
		return "", fmt.Errorf("layers: layer %q: unknown activation %q (supported: %s)", b.layer.Name, name, strings.Join(Activations(), ", "))
	}
	return fn(b, x), nil
}

func unary(op string, attrs map[string]model.Attr) activationFn {
	return func(b *builder, x string) string {
		return b.node(op, []string{x}, attrs)
	}
}

func swish(b *builder, x string) string {
	s := b.node("Sigmoid", []string{x}, nil)
	return b.node("Mul", []string{x, s}, nil)
}

func gelu(b *builder, x string) string {
	c := b.constScalar("gelu_inv_sqrt2", float32(1/math.Sqrt2))
	half := b.constScalar("gelu_half", 0.5)
	one := b.constScalar("gelu_one", 1)
	e := b.node("Erf", []string{b.node("Mul", []string{x, c}, nil)}, nil)
	return b.node("Mul", []string{b.node("Mul", []string{x, half}, nil), b.node("Add", []string{e, one}, nil)}, nil)
}

func relu6(b *builder, x string) string {
	return b.clip(b.node("Relu", []string{x}, nil), 0, 6)
}

func mish(b *builder, x string) string {
	t := b.node("Tanh", []string{b.node("Softplus", []string{x}, nil)}, nil)
	return b.node("Mul", []string{x, t}, nil)
}

func logSigmoid(b *builder, x string) string {
	sp := b.node("Softplus", []string{b.node("Neg", []string{x}, nil)}, nil)
	return b.node("Neg", []string{sp}, nil)
}

// ConfigActivation returns the activation layer l's Keras config names
// under "activation", as written (not mapped by KerasActivation, not
// checked against Activations): the name, or a serialized activation
// object's config name, else its class name. It is "" when the config has
// none (no config, no key, or null). Another value is a *ConfigError naming
// the layer.
func ConfigActivation(l *model.Layer) (string, error) {
	c, err := layerKctx(l)
	if err != nil || !c.has("activation") {
		return "", err
	}
	raw := c.cfg["activation"]
	var name string
	if json.Unmarshal(raw, &name) == nil {
		return name, nil
	}
	var obj struct {
		ClassName string `json:"class_name"`
		Config    struct {
			Name string `json:"name"`
		} `json:"config"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.ClassName == "" {
		return "", c.errf("activation", "not an activation name or object: %s", clip(raw))
	}
	if obj.Config.Name != "" {
		return obj.Config.Name, nil
	}
	return obj.ClassName, nil
}
