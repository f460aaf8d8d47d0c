package model

import (
	"fmt"
	"slices"
)

// InferShapes computes the dtype and shape of every value of m, in graph
// order, using the per-op rules of shapeRules. Unknown dims are -1. Int64
// values whose contents can be computed from consts (ONNX shape arithmetic:
// Shape, Gather, Concat, Unsqueeze feeding Reshape) are folded so that later
// shapes stay known.
func (m *Model) InferShapes() (map[string]*Value, error) {
	vals, _, err := m.InferShapesKnown()
	return vals, err
}

// InferShapesKnown is InferShapes that also returns the int64 values whose
// contents it knows, by value name: int64 consts and the shape arithmetic
// folded from them and from known shapes. Passes that rewrite a model (a
// layout conversion) read Reshape targets and Slice bounds from it.
func (m *Model) InferShapesKnown() (map[string]*Value, map[string]*Tensor, error) {
	vals := map[string]*Value{}
	known := map[string]*Tensor{} // int64 values with known contents
	for _, v := range m.Inputs {
		vals[v.Name] = v.Clone()
	}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			vals[p.Name] = &Value{Name: p.Name, DType: Float32, Shape: slices.Clone(p.Shape)}
		}
		for _, t := range l.Consts {
			vals[t.Name] = &Value{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape)}
			known[t.Name] = t
		}
		for _, n := range l.Nodes {
			rule, ok := shapeRules[n.Op]
			if !ok {
				return nil, nil, fmt.Errorf("%w: layer %q: node %q: op %s is not supported: xfer has no shape rule for it (supported ops: %v)", ErrInvalid, l.Name, n.Name, n.Op, SupportedOps())
			}
			ins := make([]*Value, len(n.Inputs))
			for i, name := range n.Inputs {
				if name == "" {
					continue
				}
				v, ok := vals[name]
				if !ok {
					return nil, nil, fmt.Errorf("%w: layer %q: node %q: input %q is undefined", ErrInvalid, l.Name, n.Name, name)
				}
				ins[i] = v
			}
			ctx := &inferCtx{node: n, ins: ins, known: known, opset: m.Opset}
			outs, err := rule(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: layer %q: node %q (%s): %v", ErrShape, l.Name, n.Name, n.Op, err)
			}
			for i, name := range n.Outputs {
				if name == "" || i >= len(outs) {
					continue
				}
				outs[i].Name = name
				vals[name] = outs[i]
			}
			for i, t := range ctx.folded {
				if i < len(n.Outputs) && t != nil {
					t.Name = n.Outputs[i]
					known[n.Outputs[i]] = t
				}
			}
		}
	}
	return vals, known, nil
}

// SupportedOps lists the ONNX op types the model package can reason about,
// sorted.
func SupportedOps() []string {
	ops := make([]string, 0, len(shapeRules))
	for k := range shapeRules {
		ops = append(ops, k)
	}
	slices.Sort(ops)
	return ops
}

// inferCtx is what a shape rule sees.
type inferCtx struct {
	node   *Node
	ins    []*Value // nil for omitted optional inputs
	known  map[string]*Tensor
	opset  int
	folded []*Tensor // per output, int64 contents when computable
}

// in returns input i, or nil when absent.
func (c *inferCtx) in(i int) *Value {
	if i < len(c.ins) {
		return c.ins[i]
	}
	return nil
}

// constInts returns the contents of integer input i (int64, or int32
// where ONNX allows it) when known.
func (c *inferCtx) constInts(i int) ([]int64, bool) {
	if i >= len(c.node.Inputs) || c.node.Inputs[i] == "" {
		return nil, false
	}
	t, ok := c.known[c.node.Inputs[i]]
	if !ok || t.DType.IsFloat() || t.DType == Bool {
		return nil, false
	}
	return t.I64, true
}

// constTensor returns input i's contents when known (a const of any
// dtype, or folded shape arithmetic).
func (c *inferCtx) constTensor(i int) (*Tensor, bool) {
	if i >= len(c.node.Inputs) || c.node.Inputs[i] == "" {
		return nil, false
	}
	t, ok := c.known[c.node.Inputs[i]]
	return t, ok
}

// fold records int64 contents for output i.
func (c *inferCtx) fold(i int, t *Tensor) {
	for len(c.folded) <= i {
		c.folded = append(c.folded, nil)
	}
	c.folded[i] = t
}

type shapeRule func(c *inferCtx) ([]*Value, error)
