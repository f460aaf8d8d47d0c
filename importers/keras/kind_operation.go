package keras

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// isOperation reports whether a Keras 3 config entry is an operation node
// (a keras.src.ops function applied to tensors), not a layer.
func isOperation(e *layerEntry) bool { return layers.IsKerasOperation(e.module) }

// operation reads a Keras 3 operation node: its positional arguments are
// Keras tensors (the layer inputs, in order) and numbers or nested lists of
// numbers (constants).
func operation(c *lctx) (*model.Layer, []int, error) {
	op, ok := layers.LookupOperation(c.e.class)
	if !ok {
		return nil, nil, fmt.Errorf("keras: %w: layer %q: Keras operation %s.%s (supported: %s)", model.ErrUnsupported, c.e.name, c.e.module, c.e.class, strings.Join(layers.Operations(), ", "))
	}
	cl, err := c.onlyCall()
	if err != nil {
		return nil, nil, err
	}
	for k, v := range cl.kwargs {
		if string(v) != "null" {
			return nil, nil, fmt.Errorf("keras: %w: layer %q (%s): keyword argument %q of the call", model.ErrUnsupported, c.e.name, c.e.class, k)
		}
	}
	var args []layers.OpArg
	next := 0
	for i, raw := range cl.args {
		if isKerasTensor(raw) {
			args = append(args, layers.OpArg{Input: next})
			next++
			continue
		}
		a, err := constArg(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("keras: %w: layer %q (%s): argument %d: %v", model.ErrUnsupported, c.e.name, c.e.class, i, err)
		}
		args = append(args, a)
	}
	return buildOperation(c, layers.OperationPrefix+c.e.class, op, args)
}

// tfOpLambdaLayer reads tf.keras 2's TFOpLambda: the function named by the
// config's "function" applied to its first argument (the inbound tensor, or
// a constant saved as _CONSTANT_VALUE) and, for two-argument functions, the
// keyword argument "y" (a number, a list or another layer's tensor), as
// tf_keras's Node.serialize writes them.
func tfOpLambdaLayer(c *lctx) (*model.Layer, []int, error) {
	fn, err := c.str("function", "")
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.onlyCall()
	if err != nil {
		return nil, nil, err
	}
	op, ok := layers.LookupOperation(fn)
	if !ok || op.TF == "" {
		var tf []string
		for _, n := range layers.Operations() {
			if o, _ := layers.LookupOperation(n); o.TF != "" {
				tf = append(tf, o.TF)
			}
		}
		return nil, nil, fmt.Errorf("keras: %w: layer %q (TFOpLambda): TensorFlow function %q (supported: %s)", model.ErrUnsupported, c.e.name, fn, strings.Join(tf, ", "))
	}
	var args []layers.OpArg
	next := 0
	for i, raw := range cl.args {
		if string(raw) == string(inboundMarker) {
			args = append(args, layers.OpArg{Input: next})
			next++
			continue
		}
		a, err := constArg(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("keras: %w: layer %q (TFOpLambda %s): argument %d: %v", model.ErrUnsupported, c.e.name, fn, i, err)
		}
		args = append(args, a)
	}
	for k, v := range cl.kwargs {
		switch {
		case k == "name" || string(v) == "null":
		case k == "y" && op.Binary != "":
			if isRefList(v) {
				args = append(args, layers.OpArg{Input: next})
				next++
				continue
			}
			a, err := constArg(v)
			if err != nil {
				return nil, nil, fmt.Errorf("keras: %w: layer %q (TFOpLambda %s): argument y: %v", model.ErrUnsupported, c.e.name, fn, err)
			}
			args = append(args, a)
		default:
			return nil, nil, fmt.Errorf("keras: %w: layer %q (TFOpLambda %s): keyword argument %q", model.ErrUnsupported, c.e.name, fn, k)
		}
	}
	return buildOperation(c, "TFOpLambda", op, args)
}

// onlyCall returns the call of an operation: Keras makes a new operation
// node (or TFOpLambda layer) for every call.
func (c *lctx) onlyCall() (call, error) {
	if len(c.e.calls) != 1 {
		return call{}, fmt.Errorf("%w: layer %q (%s): an operation with %d calls", ErrFormat, c.e.name, c.e.class, len(c.e.calls))
	}
	return c.e.calls[0], nil
}

func buildOperation(c *lctx, kind string, op layers.Operation, args []layers.OpArg) (*model.Layer, []int, error) {
	var out []int
	for i, a := range args {
		s := a.Shape
		if a.Input >= 0 {
			if a.Input >= len(c.inShapes) || c.inShapes[a.Input] == nil {
				return nil, nil, fmt.Errorf("keras: %w: layer %q (%s): argument %d reads a tensor the layer does not have", ErrFormat, c.e.name, c.e.class, i)
			}
			s = c.inShapes[a.Input]
		}
		var err error
		if out, err = broadcastShapes(out, s); err != nil {
			return nil, nil, fmt.Errorf("keras: %w: layer %q (%s): %v", ErrFormat, c.e.name, c.e.class, err)
		}
	}
	l, err := layers.OperationLayer(layers.OperationSpec{Common: c.common(), Kind: kind, Op: op, Args: args})
	return l, out, err
}

// broadcastShapes is numpy's broadcast of two Keras shapes (-1 unknown).
func broadcastShapes(a, b []int) ([]int, error) {
	if len(a) < len(b) {
		a, b = b, a
	}
	out := append([]int(nil), a...)
	for i := range b {
		j := len(a) - len(b) + i
		x, y := out[j], b[i]
		switch {
		case x == y || y == 1:
		case x == 1 || x < 0 && y > 1:
			out[j] = y
		case y < 0:
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func isKerasTensor(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	var obj struct {
		ClassName string `json:"class_name"`
	}
	return json.Unmarshal(t, &obj) == nil && obj.ClassName == "__keras_tensor__"
}

// constArg reads a number, a rectangular nested list of numbers, or Keras
// 3's serialized array {"class_name": "__tensor__" or "__numpy__",
// "config": {"value": ..., "dtype": ...}} of a float or integer dtype.
func constArg(raw json.RawMessage) (layers.OpArg, error) {
	a := layers.OpArg{Input: -1, Shape: []int{}}
	var obj struct {
		ClassName string `json:"class_name"`
		Config    struct {
			Value json.RawMessage `json:"value"`
			DType string          `json:"dtype"`
		} `json:"config"`
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		if json.Unmarshal(t, &obj) != nil || (obj.ClassName != "__tensor__" && obj.ClassName != "__numpy__") ||
			!(strings.HasPrefix(obj.Config.DType, "float") || strings.HasPrefix(obj.Config.DType, "int") || strings.HasPrefix(obj.Config.DType, "uint")) {
			return a, fmt.Errorf("not a tensor, a number or an array of numbers: %s", clip(raw))
		}
		raw = obj.Config.Value
	}
	if err := layers.FlattenNumbers(raw, 0, &a.Const, &a.Shape); err != nil || len(a.Const) == 0 {
		return a, fmt.Errorf("not a tensor, a number or a list of numbers: %s", clip(raw))
	}
	return a, nil
}
