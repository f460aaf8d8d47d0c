package finetune

import (
	"fmt"
	"slices"

	"github.com/xferml/xfer/model"
)

// partition splits a model at its frozen boundary. The frozen prefix is
// every node whose output depends on no trainable param and on nothing
// random in training (a Dropout or noise layer that is active): it runs in
// the inference engine, which runs every op the importer accepts, and
// gradients never flow into it. The rest, the trainable part, is lowered to
// gorgonia and reads the prefix's values at the boundary as its inputs.
type partition struct {
	// prefix is the frozen prefix as a model whose outputs are the
	// boundary values, or nil when the trainable part starts at the model
	// input.
	prefix *model.Model
	// boundary names the values the trainable part reads from outside it:
	// the prefix's outputs, or the model input when there is no prefix.
	boundary []string
	// shapes are the boundary values' shapes without the batch dim.
	shapes [][]int
	// engine marks the nodes of the prefix, by node name.
	engine map[string]bool
	// frozenNodes counts the prefix's nodes, for messages.
	frozenNodes int
}

// size is the number of floats per example of boundary value k.
func (p *partition) size(k int) int { return model.NumElements(p.shapes[k]) }

// rowSize is the number of floats per example over the boundary values.
func (p *partition) rowSize() int {
	n := 0
	for _, s := range p.shapes {
		n += model.NumElements(s)
	}
	return n
}

// isRandom reports whether node n of layer l draws random numbers in
// training: a Keras noise layer's nodes or an ONNX Dropout, unless a
// nested model called with training=False holds them.
func isRandom(m *model.Model, l *model.Layer, n *model.Node) bool {
	if m.InferenceOnly(l) {
		return false
	}
	return noiseLayers[l.Kind] || n.Op == "Dropout"
}

// split computes the partition of m for training: params with Trainable
// set train. With whole set, everything is lowered to gorgonia (no
// prefix), as before split execution existed.
func split(m *model.Model, whole bool) (*partition, error) {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return nil, fmt.Errorf("finetune: model %q has %d inputs and %d outputs; training needs one of each", m.Name, len(m.Inputs), len(m.Outputs))
	}
	in := m.Inputs[0]
	shapes, err := m.InferShapes()
	if err != nil {
		return nil, fmt.Errorf("finetune: model %q: %w", m.Name, err)
	}
	p := &partition{engine: map[string]bool{}}
	// frozen marks values computed from frozen params, consts and the
	// input only, through nothing random.
	frozen := map[string]bool{in.Name: true}
	for _, l := range m.Layers {
		for _, c := range l.Consts {
			frozen[c.Name] = true
		}
		for _, q := range l.Params {
			frozen[q.Name] = !q.Trainable
		}
	}
	head := headNode(m)
	if !whole {
		for _, l := range m.Layers {
			for _, n := range l.Nodes {
				ok := n != head && !isRandom(m, l, n)
				for _, v := range n.Inputs {
					if v != "" && !frozen[v] {
						ok = false
					}
				}
				if !ok {
					continue
				}
				p.engine[n.Name] = true
				p.frozenNodes++
				for _, o := range n.Outputs {
					frozen[o] = true
				}
			}
			// A layer's declared outputs equal to its inputs (no nodes) stay
			// as they are.
		}
	}
	// The boundary: frozen node outputs (or the model input) read by a
	// node of the trainable part, or the model output itself.
	// The boundary must be batch-first float32 with fixed other dims; a
	// frozen node whose output is not (a Cast of token ids to int64, a
	// recurrent layer's time-major Transpose of the input) moves to the
	// trainable part, which then reads its inputs instead.
	for {
		p.boundary = nil
		seen := map[string]bool{}
		add := func(v string) {
			if seen[v] {
				return
			}
			if _, isParam := paramOf(m, v); isParam || constOf(m, v) {
				return
			}
			seen[v] = true
			p.boundary = append(p.boundary, v)
		}
		for _, l := range m.Layers {
			for _, n := range l.Nodes {
				if p.engine[n.Name] {
					continue
				}
				for _, v := range n.Inputs {
					if v != "" && frozen[v] {
						add(v)
					}
				}
			}
		}
		if frozen[m.Outputs[0]] && producedByNode(m, m.Outputs[0]) {
			add(m.Outputs[0])
		}
		if len(p.boundary) == 0 {
			// Nothing reads the input: the model output depends on params only.
			p.boundary = []string{in.Name}
		}
		moved := false
		for _, v := range p.boundary {
			s, ok := shapes[v]
			if !ok || v == in.Name || (s.DType == model.Float32 && batchFirst(s.Shape)) {
				continue
			}
			if n := producer(m, v); n != nil && p.engine[n.Name] {
				delete(p.engine, n.Name)
				p.frozenNodes--
				for _, o := range n.Outputs {
					frozen[o] = false
				}
				moved = true
			}
		}
		if !moved {
			break
		}
		// Engine nodes reading a value that moved move too.
		for _, l := range m.Layers {
			for _, n := range l.Nodes {
				if !p.engine[n.Name] {
					continue
				}
				for _, v := range n.Inputs {
					if v != "" && !frozen[v] {
						delete(p.engine, n.Name)
						p.frozenNodes--
						for _, o := range n.Outputs {
							frozen[o] = false
						}
						break
					}
				}
			}
		}
	}
	for _, v := range p.boundary {
		s, ok := shapes[v]
		if !ok || len(s.Shape) == 0 {
			return nil, fmt.Errorf("finetune: model %q: value %q has no inferred shape", m.Name, v)
		}
		if s.DType != model.Float32 && !(v == in.Name && !s.DType.IsFloat()) {
			// (An integer model input, token ids, takes the data set's
			// whole-number float values; its Cast truncates as ONNX's.)
			return nil, fmt.Errorf("finetune: model %q: the trainable part reads %q of type %v; training needs float32 values at the frozen boundary", m.Name, v, s.DType)
		}
		rest := slices.Clone(s.Shape[1:])
		for _, d := range rest {
			if d < 0 {
				return nil, fmt.Errorf("finetune: model %q: value %q has shape %v; training needs fixed shapes apart from the batch", m.Name, v, s.Shape)
			}
		}
		p.shapes = append(p.shapes, rest)
	}
	if !anyEngineOutputUsed(p, m) {
		// Only the input crosses: nothing for the engine to compute (the
		// prefix nodes, if any, feed nothing that trains).
		return p, nil
	}
	if !worthEngine(m, p) {
		// A prefix of reshapes and arithmetic on the input alone (a
		// Flatten, a Rescaling) costs less than a copy of the data set.
		return split(m, true)
	}
	p.prefix = prefixModel(m, p)
	if err := p.prefix.Validate(); err != nil {
		return nil, fmt.Errorf("finetune: model %q: the frozen part: %w", m.Name, err)
	}
	return p, nil
}

// worthEngine reports whether the prefix computes something: it reads a
// param, or it has an op the training lowering cannot run.
func worthEngine(m *model.Model, p *partition) bool {
	for _, l := range m.Layers {
		for _, n := range l.Nodes {
			if !p.engine[n.Name] {
				continue
			}
			if _, ok := lowering(n.Op); !ok {
				return true
			}
			for _, v := range n.Inputs {
				if _, ok := paramOf(m, v); ok {
					return true
				}
			}
		}
	}
	return false
}

// anyEngineOutputUsed reports whether the trainable part reads a value the
// prefix computes (rather than only the model input).
func anyEngineOutputUsed(p *partition, m *model.Model) bool {
	for _, v := range p.boundary {
		if v != m.Inputs[0].Name {
			return true
		}
	}
	return false
}

// prefixModel returns the frozen prefix as a one-layer model sharing m's
// params and consts, with the boundary values as outputs: the nodes keep
// their names and order (topological), and nesting does not matter to the
// engine.
func prefixModel(m *model.Model, p *partition) *model.Model {
	l := &model.Layer{Name: "frozen", Kind: "Frozen", Inputs: []string{m.Inputs[0].Name}, Outputs: slices.Clone(p.boundary)}
	have := map[string]bool{}
	for _, ml := range m.Layers {
		for _, q := range ml.Params {
			have[q.Name] = false
		}
		for _, c := range ml.Consts {
			have[c.Name] = false
		}
	}
	for _, ml := range m.Layers {
		for _, n := range ml.Nodes {
			if !p.engine[n.Name] {
				continue
			}
			l.Nodes = append(l.Nodes, n)
			for _, v := range n.Inputs {
				if done, ok := have[v]; !ok || done {
					continue
				}
				have[v] = true
				if q, ok := paramOf(m, v); ok {
					l.Params = append(l.Params, q)
				} else if c := m.Const(v); c != nil {
					l.Consts = append(l.Consts, c)
				}
			}
		}
	}
	return &model.Model{Name: m.Name + "/frozen", Opset: m.Opset, Inputs: m.Inputs, Outputs: slices.Clone(p.boundary), Layers: []*model.Layer{l}}
}

func paramOf(m *model.Model, name string) (*model.Param, bool) {
	_, q := m.Param(name)
	return q, q != nil
}

func constOf(m *model.Model, name string) bool { return m.Const(name) != nil }

func producedByNode(m *model.Model, name string) bool { return producer(m, name) != nil }

// batchFirst reports whether shape is [batch, fixed dims...]: an unknown
// first dim and known others.
func batchFirst(shape []int) bool {
	if len(shape) == 0 || shape[0] >= 0 {
		return false
	}
	for _, d := range shape[1:] {
		if d < 0 {
			return false
		}
	}
	return true
}
