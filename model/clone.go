package model

import (
	"encoding/json"
	"maps"
	"slices"
)

// Clone returns a deep copy of m that shares no memory with it.
func (m *Model) Clone() *Model {
	c := &Model{
		Name:       m.Name,
		Opset:      m.Opset,
		Outputs:    slices.Clone(m.Outputs),
		Sequential: m.Sequential,
		Meta:       maps.Clone(m.Meta),
		History:    slices.Clone(m.History),
	}
	for _, v := range m.Inputs {
		c.Inputs = append(c.Inputs, v.Clone())
	}
	for _, l := range m.Layers {
		c.Layers = append(c.Layers, l.Clone())
	}
	for _, s := range m.Submodels {
		c.Submodels = append(c.Submodels, s.Clone())
	}
	return c
}

// Clone returns a deep copy of s.
func (s *Submodel) Clone() *Submodel {
	c := *s
	if s.Training != nil {
		t := *s.Training
		c.Training = &t
	}
	c.Inputs = slices.Clone(s.Inputs)
	c.Outputs = slices.Clone(s.Outputs)
	c.Config = cloneRaw(s.Config)
	return &c
}

// Clone returns a deep copy of v.
func (v *Value) Clone() *Value {
	return &Value{Name: v.Name, DType: v.DType, Shape: slices.Clone(v.Shape)}
}

// Clone returns a deep copy of l.
func (l *Layer) Clone() *Layer {
	c := &Layer{
		Name:      l.Name,
		Kind:      l.Kind,
		Inputs:    slices.Clone(l.Inputs),
		Outputs:   slices.Clone(l.Outputs),
		Trainable: l.Trainable,
		Config:    cloneRaw(l.Config),
		Scope:     l.Scope,
		Shares:    l.Shares,
	}
	for _, n := range l.Nodes {
		c.Nodes = append(c.Nodes, n.Clone())
	}
	for _, p := range l.Params {
		c.Params = append(c.Params, p.Clone())
	}
	for _, t := range l.Consts {
		c.Consts = append(c.Consts, t.Clone())
	}
	return c
}

// Clone returns a deep copy of p.
func (p *Param) Clone() *Param {
	c := *p
	c.Shape = slices.Clone(p.Shape)
	c.Data = slices.Clone(p.Data)
	if p.Init != nil {
		c.Init = &Initializer{Name: p.Init.Name, Config: cloneRaw(p.Init.Config)}
	}
	return &c
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	if t == nil {
		return nil
	}
	c := *t
	c.Shape = slices.Clone(t.Shape)
	c.F32 = slices.Clone(t.F32)
	c.I64 = slices.Clone(t.I64)
	return &c
}

// Clone returns a deep copy of n.
func (n *Node) Clone() *Node {
	c := &Node{
		Name:    n.Name,
		Op:      n.Op,
		Inputs:  slices.Clone(n.Inputs),
		Outputs: slices.Clone(n.Outputs),
	}
	if n.Attrs != nil {
		c.Attrs = make(map[string]Attr, len(n.Attrs))
		for k, a := range n.Attrs {
			a.Ints = slices.Clone(a.Ints)
			a.Floats = slices.Clone(a.Floats)
			a.Strings = slices.Clone(a.Strings)
			a.Tensor = a.Tensor.Clone()
			c.Attrs[k] = a
		}
	}
	return c
}

func cloneRaw(r json.RawMessage) json.RawMessage {
	if r == nil {
		return nil
	}
	return slices.Clone(r)
}
