package keras

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opCall is an operation node's call (a Keras 3 keras.src.ops node or a
// tf.keras 2 TFOpLambda): the operation, the Keras 3 class to write, and
// the positional arguments.
type opCall struct {
	op    layers.Operation
	class string
	args  []opArg
}

// opArg is an input of the layer (input >= 0, an index into kLayer.inbound)
// or a constant (a pyjson.Float or a nested []any of them).
type opArg struct {
	input int
	value any
	num   float32 // the constant when it is one number
	isNum bool
	array bool // a constant of rank >= 1
}

// opLayer converts an operation layer. Its arguments are read back from its
// nodes: a binary operation is one node whose inputs are layer inputs or
// float consts of the layer, in call order; a one-argument one reads the
// layer's input.
func opLayer(l *model.Layer) (*kLayer, error) {
	var op layers.Operation
	var ok bool
	class := strings.TrimPrefix(l.Kind, layers.OperationPrefix)
	if l.Kind == "TFOpLambda" {
		cfg, err := pyjson.ParseObj(l.Config)
		if err != nil {
			return nil, fmt.Errorf("keras: layer %q (TFOpLambda): config: %w", l.Name, err)
		}
		op, ok = layers.LookupOperation(cfg.Str("function"))
		class = op.Keras3
	} else {
		op, ok = layers.LookupOperation(class)
	}
	if !ok {
		return nil, fmt.Errorf("keras: %w: layer %q (%s): not an operation xfer can write (supported: %s)", model.ErrUnsupported, l.Name, l.Kind, strings.Join(layers.Operations(), ", "))
	}
	call := &opCall{op: op, class: class}
	if op.Binary == "" {
		if len(l.Inputs) != 1 {
			return nil, fmt.Errorf("keras: %w: layer %q (%s): a one-argument operation with %d inputs", model.ErrUnsupported, l.Name, l.Kind, len(l.Inputs))
		}
		call.args = []opArg{{input: 0}}
	} else {
		var n *model.Node
		for _, x := range l.Nodes {
			if x.Op == op.Binary {
				n = x
			}
		}
		if n == nil || len(l.Nodes) != 1 || len(n.Inputs) != 2 {
			return nil, fmt.Errorf("keras: %w: layer %q (%s): its nodes are not one %s of two values", model.ErrUnsupported, l.Name, l.Kind, op.Binary)
		}
		for _, in := range n.Inputs {
			if i := slices.Index(l.Inputs, in); i >= 0 {
				call.args = append(call.args, opArg{input: i})
				continue
			}
			i := slices.IndexFunc(l.Consts, func(t *model.Tensor) bool { return t.Name == in })
			var t *model.Tensor
			if i >= 0 {
				t = l.Consts[i]
			}
			if t == nil || t.DType != model.Float32 || len(t.F32) == 0 {
				return nil, fmt.Errorf("keras: %w: layer %q (%s): argument %q is neither an input nor a float constant of the layer", model.ErrUnsupported, l.Name, l.Kind, in)
			}
			a := opArg{input: -1, value: nestedValue(t.F32, t.Shape)}
			if len(t.Shape) == 0 {
				a.num, a.isNum = t.F32[0], true
			} else {
				a.array = true
			}
			call.args = append(call.args, a)
		}
	}
	return &kLayer{name: l.Name, class: l.Kind, cfg: pyjson.NewObj().Set("name", l.Name), call: call}, nil
}

// nestedValue renders float data of a shape as a number or nested lists.
func nestedValue(data []float32, shape []int) any {
	if len(shape) == 0 {
		return f32(data[0])
	}
	n := len(data) / max(shape[0], 1)
	out := make([]any, shape[0])
	for i := range out {
		out[i] = nestedValue(data[i*n:(i+1)*n], shape[1:])
	}
	return out
}

// tf2Op returns what a legacy .h5 (tf.keras 2.13 dialect) holds for an
// operation layer. tf.keras 2 writes operations as TFOpLambda layers, which
// Keras 3 cannot read, and Keras 3 writes them as layers with a float
// argument that it cannot read back (keras-apps/README.md); so an operation
// that a built-in layer computes exactly is written as that layer:
// x + c, x - c, c - x and x * c as Rescaling (x*1 + c is x + c bit for bit),
// two tensors added, subtracted, multiplied, or their maximum or minimum as
// the merge layer, and relu, relu6, sigmoid, tanh, exp and silu as an
// activation. Others become TFOpLambda with the tensor first and the second
// argument as keyword y; what TFOpLambda cannot hold is refused.
func tf2Op(k *kLayer) (*kLayer, error) {
	c := k.call
	base := func(class string) *kLayer {
		return &kLayer{name: k.name, class: class, cfg: pyjson.NewObj().Set("name", k.name).Set("trainable", true).Set("dtype", "float32"),
			inbound: k.inbound, inShapes: k.inShapes}
	}
	a := c.args
	if len(a) == 2 {
		tensor, other := a[0], a[1]
		swapped := tensor.input < 0
		if swapped {
			tensor, other = other, tensor
		}
		switch {
		case other.input >= 0:
			merge := map[string]string{"add": "Add", "subtract": "Subtract", "multiply": "Multiply", "maximum": "Maximum", "minimum": "Minimum"}
			if cls, ok := merge[c.op.Name]; ok {
				r := base(cls)
				r.inbound = []kRef{k.inbound[a[0].input], k.inbound[a[1].input]}
				r.inShapes = []([]int){shapeAt(k.inShapes, a[0].input), shapeAt(k.inShapes, a[1].input)}
				return r, nil
			}
		case other.isNum:
			scale, offset := float32(0), float32(0)
			switch {
			case c.op.Name == "add":
				scale, offset = 1, other.num
			case c.op.Name == "subtract" && !swapped:
				scale, offset = 1, -other.num
			case c.op.Name == "subtract":
				scale, offset = -1, other.num
			case c.op.Name == "multiply":
				scale = other.num
			}
			if scale != 0 {
				r := base("Rescaling")
				r.cfg.Set("scale", f32(scale)).Set("offset", f32(offset))
				r.inbound = []kRef{k.inbound[tensor.input]}
				r.inShapes = []([]int){shapeAt(k.inShapes, tensor.input)}
				return r, nil
			}
		}
		if swapped || c.op.TF == "" {
			return nil, fmt.Errorf("keras: %w: layer %q: operation %s(%s) has no tf.keras 2 form for a .h5 file; write a .keras file instead", model.ErrUnsupported, k.name, c.op.Name, argList(a))
		}
		r := base("TFOpLambda")
		r.cfg.Set("function", c.op.TF)
		r.inbound = []kRef{k.inbound[tensor.input]}
		r.inShapes = []([]int){shapeAt(k.inShapes, tensor.input)}
		y := other.value
		if other.input >= 0 {
			in := k.inbound[other.input]
			y = []any{in.layer, in.node, in.tensor}
		}
		r.tf2Kwargs = pyjson.NewObj().Set("y", y).Set("name", nil)
		return r, nil
	}
	acts := map[string]string{"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "exp": "exponential", "silu": "swish"}
	switch act, ok := acts[c.op.Name]; {
	case ok:
		r := base("Activation")
		r.cfg.Set("activation", act)
		return r, nil
	case c.op.Name == "relu6":
		r := base("ReLU")
		r.cfg.Set("max_value", f32(6)).Set("negative_slope", f32(0)).Set("threshold", f32(0))
		return r, nil
	case c.op.TF != "":
		r := base("TFOpLambda")
		r.cfg.Set("function", c.op.TF)
		r.tf2Kwargs = pyjson.NewObj().Set("name", nil)
		return r, nil
	}
	return nil, fmt.Errorf("keras: %w: layer %q: operation %s has its Keras 3 meaning, which tf.keras 2 has no function for; write a .keras file instead", model.ErrUnsupported, k.name, c.op.Name)
}

// f32 renders a float32 with the shortest decimal that reads back as the
// same float32 (0.16666667, not 0.1666666716337204).
func f32(v float32) pyjson.Float {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
	return pyjson.Float(f)
}

func shapeAt(shapes [][]int, i int) []int {
	if i < len(shapes) {
		return shapes[i]
	}
	return nil
}

func argList(a []opArg) string {
	var s []string
	for _, x := range a {
		if x.input >= 0 {
			s = append(s, "tensor")
		} else {
			s = append(s, "constant")
		}
	}
	return strings.Join(s, ", ")
}

// k3OpEntry is config.json's entry for an operation node, as Keras 3's
// serialize writes it: the op's module and class, a config holding only
// the name, and the call's positional arguments with constants in place.
func k3OpEntry(k *kLayer) *pyjson.Obj {
	var args []any
	for _, a := range k.call.args {
		switch {
		case a.input >= 0:
			args = append(args, kerasTensor(k.inbound[a.input], shapeAt(k.inShapes, a.input)))
		case a.array:
			// An array argument, as Keras 3 serializes a tensor constant.
			args = append(args, pyjson.NewObj().Set("class_name", "__tensor__").
				Set("config", pyjson.NewObj().Set("value", a.value).Set("dtype", "float32")))
		default:
			args = append(args, a.value)
		}
	}
	return pyjson.NewObj().Set("module", k.call.op.Module).Set("class_name", k.call.class).
		Set("config", pyjson.NewObj().Set("name", k.name)).Set("registered_name", k.call.class).
		Set("name", k.name).Set("inbound_nodes", []any{pyjson.NewObj().Set("args", args).Set("kwargs", pyjson.NewObj())})
}

// tf2Ops replaces the operation layers of the plan and its nested plans by
// their tf.keras 2 form (tf2Op), for the .h5 writer. Outputs name layers, so
// they stay valid.
func (p *plan) tf2Ops() error {
	for i, k := range p.layers {
		if k.sub != nil {
			if err := k.sub.tf2Ops(); err != nil {
				return err
			}
		}
		if k.call == nil {
			continue
		}
		r, err := tf2Op(k)
		if err != nil {
			return err
		}
		p.layers[i] = r
	}
	return nil
}
