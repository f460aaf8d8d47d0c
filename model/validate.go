package model

import (
	"fmt"
)

// Validate checks the invariants listed in the package documentation and
// runs shape inference. It returns the first violation found, wrapping
// ErrInvalid or ErrShape and naming the layer, node or tensor.
func (m *Model) Validate() error {
	if _, err := m.structure(); err != nil {
		return err
	}
	if err := m.checkNesting(); err != nil {
		return err
	}
	if _, err := m.InferShapes(); err != nil {
		return err
	}
	return nil
}

// structure checks names, ordering and ownership; it returns the producer of
// every value ("input", "layer/<name>").
func (m *Model) structure() (map[string]string, error) {
	if len(m.Inputs) == 0 {
		return nil, fmt.Errorf("%w: model %q has no inputs", ErrInvalid, m.Name)
	}
	if len(m.Outputs) == 0 {
		return nil, fmt.Errorf("%w: model %q has no outputs", ErrInvalid, m.Name)
	}
	producer := map[string]string{}
	define := func(name, by string) error {
		if name == "" {
			return fmt.Errorf("%w: %s defines a value with an empty name", ErrInvalid, by)
		}
		if prev, ok := producer[name]; ok {
			return fmt.Errorf("%w: value %q is defined twice (by %s and by %s)", ErrInvalid, name, prev, by)
		}
		producer[name] = by
		return nil
	}
	for _, v := range m.Inputs {
		if err := define(v.Name, "graph input"); err != nil {
			return nil, err
		}
		if !v.DType.Valid() {
			return nil, fmt.Errorf("%w: graph input %q has dtype %v", ErrInvalid, v.Name, v.DType)
		}
	}
	layerNames := map[string]bool{}
	for li, l := range m.Layers {
		where := fmt.Sprintf("layer %q", l.Name)
		if l.Name == "" {
			return nil, fmt.Errorf("%w: layer %d has no name", ErrInvalid, li)
		}
		if layerNames[l.Name] {
			return nil, fmt.Errorf("%w: two layers are called %q", ErrInvalid, l.Name)
		}
		layerNames[l.Name] = true
		for _, in := range l.Inputs {
			if _, ok := producer[in]; !ok {
				return nil, fmt.Errorf("%w: %s: input %q is not produced by a graph input or an earlier layer (dangling input or cycle)", ErrInvalid, where, in)
			}
		}
		local := map[string]bool{}
		for _, in := range l.Inputs {
			local[in] = true
		}
		if l.Shares != "" {
			// A call site of a shared layer reads its owner's weights.
			j := m.LayerIndex(l.Shares)
			if j < 0 || j >= li {
				return nil, fmt.Errorf("%w: %s shares the weights of %q, which is not an earlier layer", ErrInvalid, where, l.Shares)
			}
			if o := m.Layers[j]; o != nil {
				for _, p := range o.Params {
					local[p.Name] = true
				}
				for _, t := range o.Consts {
					local[t.Name] = true
				}
			}
		}
		for _, p := range l.Params {
			if err := define(p.Name, where); err != nil {
				return nil, err
			}
			local[p.Name] = true
			n := NumElements(p.Shape)
			if n < 0 || n != len(p.Data) {
				return nil, fmt.Errorf("%w: %s: param %q: shape %v needs %d values, has %d", ErrInvalid, where, p.Name, p.Shape, n, len(p.Data))
			}
			if want := m.EffectiveTrainable(l) && !p.State; p.Trainable != want {
				return nil, fmt.Errorf("%w: %s: param %q: trainable is %v but layer trainable %v (nested in a frozen model: %v), state %v", ErrInvalid, where, p.Name, p.Trainable, l.Trainable, l.Trainable && !m.EffectiveTrainable(l), p.State)
			}
		}
		for _, t := range l.Consts {
			if err := define(t.Name, where); err != nil {
				return nil, err
			}
			local[t.Name] = true
			n := NumElements(t.Shape)
			switch {
			case t.DType.Valid() && t.DType.IsFloat() && n == len(t.F32) && t.I64 == nil:
			case t.DType.Valid() && !t.DType.IsFloat() && n == len(t.I64) && t.F32 == nil:
			default:
				return nil, fmt.Errorf("%w: %s: const %q: dtype %v shape %v does not match its data", ErrInvalid, where, t.Name, t.DType, t.Shape)
			}
		}
		for _, nd := range l.Nodes {
			if nd.Op == "" {
				return nil, fmt.Errorf("%w: %s: node %q has no op", ErrInvalid, where, nd.Name)
			}
			for _, in := range nd.Inputs {
				if in == "" {
					continue
				}
				if !local[in] {
					if _, ok := producer[in]; ok {
						return nil, fmt.Errorf("%w: %s: node %q reads %q, which is neither an input of the layer nor its own", ErrInvalid, where, nd.Name, in)
					}
					return nil, fmt.Errorf("%w: %s: node %q reads %q, which is not produced before it (dangling input or cycle)", ErrInvalid, where, nd.Name, in)
				}
			}
			for _, out := range nd.Outputs {
				if out == "" {
					continue
				}
				if err := define(out, where); err != nil {
					return nil, err
				}
				local[out] = true
			}
		}
		for _, out := range l.Outputs {
			if !local[out] {
				return nil, fmt.Errorf("%w: %s: output %q is not produced by the layer", ErrInvalid, where, out)
			}
			if _, ok := producer[out]; !ok {
				return nil, fmt.Errorf("%w: %s: output %q is not defined", ErrInvalid, where, out)
			}
		}
	}
	for _, out := range m.Outputs {
		if _, ok := producer[out]; !ok {
			return nil, fmt.Errorf("%w: model output %q is not produced by any layer", ErrInvalid, out)
		}
	}
	return producer, nil
}
