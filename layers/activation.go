package layers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// Activations lists the Keras activation names Activation understands.
func Activations() []string {
	names := make([]string, 0, len(activations))
	for k := range activations {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// activation appends nodes computing act(x) to a layer under construction.
// Each function returns the output value name.
type activationFn func(b *builder, x string) string

// activations maps a Keras activation name to its ONNX lowering. Semantics
// follow Keras 2.x (tf.keras) unless the name says otherwise.
var activations = map[string]activationFn{
	"linear":      func(b *builder, x string) string { return x },
	"relu":        unary("Relu", nil),
	"sigmoid":     unary("Sigmoid", nil),
	"tanh":        unary("Tanh", nil),
	"softmax":     unary("Softmax", map[string]model.Attr{"axis": model.Int(-1)}),
	"log_softmax": unary("LogSoftmax", map[string]model.Attr{"axis": model.Int(-1)}),
	// SELU's constants: Klambauer et al. 2017, as in Keras and ONNX.
	"selu":        unary("Selu", map[string]model.Attr{"alpha": model.Float(1.6732632423543772848170429916717), "gamma": model.Float(1.0507009873554804934193349852946)}),
	"elu":         unary("Elu", map[string]model.Attr{"alpha": model.Float(1)}),
	"softplus":    unary("Softplus", nil),
	"softsign":    unary("Softsign", nil),
	"exponential": unary("Exp", nil),
	// Keras 2 hard_sigmoid: clip(0.2*x + 0.5, 0, 1), ONNX HardSigmoid defaults.
	"hard_sigmoid": unary("HardSigmoid", map[string]model.Attr{"alpha": model.Float(0.2), "beta": model.Float(0.5)}),
	// swish / silu: x * sigmoid(x).
	"swish": swish,
	"silu":  swish,
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
