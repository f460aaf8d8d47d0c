package layers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// OperationPrefix starts the Kind of a Keras 3 operation node: a
// keras.src.ops function applied to tensors in a Functional model
// (MobileNetV3's x + 3.0 and x * (1/6)), which Keras saves in the config's
// layer list but does not count in model.layers. The rest of the Kind is
// the operation's class ("ops.Add", "ops.Multiply", "ops.Relu6").
const OperationPrefix = "ops."

// IsOperation reports whether kind is a Keras 3 operation node rather than
// a layer. tf.keras 2's TFOpLambda and SlicingOpLambda are layers there.
func IsOperation(kind string) bool { return strings.HasPrefix(kind, OperationPrefix) }

// Operation describes one element-wise operation xfer reads from Keras 3
// operation nodes and tf.keras 2 TFOpLambda layers and writes back: its
// Keras 3 class and module, its TensorFlow function (TFOpLambda's
// "function"), and its lowering: an ONNX binary op, an ONNX unary op, or an
// activation of this package.
type Operation struct {
	Name       string // this package's name: "add", "relu6"...
	Keras3     string // class in Module ("Add", "Relu6")
	Module     string // "keras.src.ops.numpy" or "keras.src.ops.nn"
	TF         string // TFOpLambda function ("__operators__.add")
	Binary     string // ONNX op of two-argument operations
	Unary      string // ONNX op of one-argument operations ("Square": Mul(x, x))
	Activation string // or the activation of a one-argument operation
}

// operations is the registry of operations, by Name.
var operations = map[string]Operation{
	"add":      {Name: "add", Keras3: "Add", Module: opsNumpy, TF: "__operators__.add", Binary: "Add"},
	"subtract": {Name: "subtract", Keras3: "Subtract", Module: opsNumpy, TF: "math.subtract", Binary: "Sub"},
	"multiply": {Name: "multiply", Keras3: "Multiply", Module: opsNumpy, TF: "math.multiply", Binary: "Mul"},
	"divide":   {Name: "divide", Keras3: "Divide", Module: opsNumpy, TF: "math.truediv", Binary: "Div"},
	"maximum":  {Name: "maximum", Keras3: "Maximum", Module: opsNumpy, TF: "math.maximum", Binary: "Max"},
	"minimum":  {Name: "minimum", Keras3: "Minimum", Module: opsNumpy, TF: "math.minimum", Binary: "Min"},
	"power":    {Name: "power", Keras3: "Power", Module: opsNumpy, TF: "math.pow", Binary: "Pow"},
	"negative": {Name: "negative", Keras3: "Negative", Module: opsNumpy, TF: "math.negative", Unary: "Neg"},
	"sqrt":     {Name: "sqrt", Keras3: "Sqrt", Module: opsNumpy, TF: "math.sqrt", Unary: "Sqrt"},
	"square":   {Name: "square", Keras3: "Square", Module: opsNumpy, TF: "math.square", Unary: "Square"},
	"abs":      {Name: "abs", Keras3: "Absolute", Module: opsNumpy, TF: "math.abs", Unary: "Abs"},
	"exp":      {Name: "exp", Keras3: "Exp", Module: opsNumpy, TF: "math.exp", Unary: "Exp"},
	"tanh":     {Name: "tanh", Keras3: "Tanh", Module: opsNumpy, TF: "math.tanh", Unary: "Tanh"},
	"relu":     {Name: "relu", Keras3: "Relu", Module: opsNN, TF: "nn.relu", Activation: "relu"},
	"relu6":    {Name: "relu6", Keras3: "Relu6", Module: opsNN, TF: "nn.relu6", Activation: "relu6"},
	"sigmoid":  {Name: "sigmoid", Keras3: "Sigmoid", Module: opsNN, TF: "math.sigmoid", Activation: "sigmoid"},
	"silu":     {Name: "silu", Keras3: "Silu", Module: opsNN, TF: "nn.silu", Activation: "silu"},
	// Keras 3's ops.hard_sigmoid is relu6(x + 3)/6; TensorFlow has none.
	"hard_sigmoid": {Name: "hard_sigmoid", Keras3: "HardSigmoid", Module: opsNN, Activation: "keras3.hard_sigmoid"},
	"hard_silu":    {Name: "hard_silu", Keras3: "HardSilu", Module: opsNN, Activation: "keras3.hard_silu"},
}

const (
	opsNumpy = "keras.src.ops.numpy"
	opsNN    = "keras.src.ops.nn"
)

// operationAliases maps other spellings to registry names: TensorFlow's
// (TFOpLambda "function" values) and Keras 3's classes.
var operationAliases = map[string]string{
	"math.add": "add", "__operators__.sub": "subtract", "math.divide": "divide",
	"__operators__.truediv": "divide", "TrueDivide": "divide", "math.negative": "negative",
	"nn.silu": "silu", "nn.swish": "silu", "math.pow": "power", "nn.sigmoid": "sigmoid", "nn.tanh": "tanh",
}

// LookupOperation returns the operation that a Keras 3 class (with its
// module), a TFOpLambda function or a registry name names.
func LookupOperation(name string) (Operation, bool) {
	if op, ok := operations[name]; ok {
		return op, true
	}
	for _, op := range operations {
		if op.Keras3 == name || (op.TF != "" && op.TF == name) {
			return op, true
		}
	}
	if a, ok := operationAliases[name]; ok {
		return operations[a], true
	}
	return Operation{}, false
}

// Operations lists the registry names, sorted, for messages.
func Operations() []string {
	names := make([]string, 0, len(operations))
	for k := range operations {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// OpArg is one positional argument of an operation call: the layer input
// Input (an index into Common.Inputs) or, when Input < 0, a constant.
type OpArg struct {
	Input int
	Const []float32
	Shape []int // the constant's shape ([] for a number)
}

// OperationSpec is one operation node (Kind "ops.<class>") or TFOpLambda
// layer (Kind "TFOpLambda") applying Op to Args.
type OperationSpec struct {
	Common
	Kind string
	Op   Operation
	Args []OpArg
}

// OperationLayer returns the layer: one ONNX binary op (with broadcasting,
// constants as consts of the layer) or the nodes of the activation. Each
// layer input must be used.
func OperationLayer(s OperationSpec) (*model.Layer, error) {
	b, err := s.builder(s.Kind, -1)
	if err != nil {
		return nil, err
	}
	want := 1
	if s.Op.Binary != "" {
		want = 2
	}
	if len(s.Args) != want {
		return nil, fmt.Errorf("layers: layer %q: operation %s takes %d argument(s), got %d", s.Name, s.Op.Name, want, len(s.Args))
	}
	used := make([]bool, len(s.Inputs))
	var vals []string
	for i, a := range s.Args {
		switch {
		case a.Input >= len(s.Inputs):
			return nil, fmt.Errorf("layers: layer %q: argument %d reads input %d of %d", s.Name, i, a.Input, len(s.Inputs))
		case a.Input >= 0:
			used[a.Input] = true
			vals = append(vals, s.Inputs[a.Input])
		default:
			if model.NumElements(a.Shape) != len(a.Const) || len(a.Const) == 0 {
				return nil, fmt.Errorf("layers: layer %q: constant argument %d has %d values for shape %v", s.Name, i, len(a.Const), a.Shape)
			}
			vals = append(vals, b.constFloats(fmt.Sprintf("arg%d", i), a.Shape, a.Const))
		}
	}
	if slices.Contains(used, false) {
		return nil, fmt.Errorf("layers: layer %q: operation %s does not use all of its inputs %v", s.Name, s.Op.Name, s.Inputs)
	}
	if s.Op.Binary != "" {
		return s.done(b, b.node(s.Op.Binary, vals, nil)), nil
	}
	if s.Args[0].Input < 0 {
		return nil, fmt.Errorf("layers: layer %q: operation %s on a constant", s.Name, s.Op.Name)
	}
	switch s.Op.Unary {
	case "":
	case "Square":
		return s.done(b, b.node("Mul", []string{vals[0], vals[0]}, nil)), nil
	default:
		return s.done(b, b.node(s.Op.Unary, vals, nil)), nil
	}
	y, err := b.activation(s.Op.Activation, vals[0])
	if err != nil {
		return nil, err
	}
	return s.done(b, y), nil
}
