package model

import (
	"fmt"
	"strings"
)

// Item is one entry of a Keras model's layers list at some nesting level
// (Keras's model.layers): a layer, or a nested model shown as one layer.
// Exactly one of Layer and Sub is set.
type Item struct {
	Layer *Layer
	Sub   *Submodel
}

// Name returns the item's full name (a layer's or a nested model's path).
func (it Item) Name() string {
	if it.Sub != nil {
		return it.Sub.Name
	}
	return it.Layer.Name
}

// LocalName returns the last element of a layer or nested-model path: the
// name Keras shows inside the enclosing model.
func LocalName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// ParentScope returns the path of the nested model that holds path ("" for
// a top-level name).
func ParentScope(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return ""
}

// within reports whether scope is sub or lies inside sub.
func within(scope, sub string) bool {
	return scope == sub || strings.HasPrefix(scope, sub+"/")
}

// Submodel returns the nested model called name (its path), or nil.
func (m *Model) Submodel(name string) *Submodel {
	for _, s := range m.Submodels {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SubmodelRange returns the half-open range [lo, hi) of m.Layers that holds
// the layers of the nested model name and of the models nested in it;
// lo == hi when it has none.
func (m *Model) SubmodelRange(name string) (lo, hi int) {
	lo = -1
	for i, l := range m.Layers {
		if within(l.Scope, name) {
			if lo < 0 {
				lo = i
			}
			hi = i + 1
		}
	}
	if lo < 0 {
		return 0, 0
	}
	return lo, hi
}

// Items returns the entries of the model at nesting level scope ("" for the
// model itself, else a Submodel's Name) in Keras's order: each layer of that
// level, and each model nested directly in it at the place of its first
// layer. Further call sites of shared layers are not entries (Keras lists a
// shared layer once), nor is a nested Sequential model's InputLayer
// (Keras's Sequential.layers omits it).
func (m *Model) Items(scope string) []Item {
	var out []Item
	seen := map[string]bool{}
	seqSub := false
	if s := m.Submodel(scope); s != nil {
		seqSub = s.Kind == "Sequential"
	}
	for _, l := range m.Layers {
		if l.Scope == scope {
			if l.Shares != "" || seqSub && l.Kind == "InputLayer" {
				continue
			}
			out = append(out, Item{Layer: l})
			continue
		}
		if !within(l.Scope, scope) && scope != "" {
			continue
		}
		// l is deeper: find the child of scope on its path.
		rest := l.Scope
		if scope != "" {
			rest = strings.TrimPrefix(l.Scope, scope+"/")
		}
		child := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			child = rest[:i]
		}
		if scope != "" {
			child = scope + "/" + child
		}
		if seen[child] {
			continue
		}
		seen[child] = true
		if s := m.Submodel(child); s != nil {
			out = append(out, Item{Sub: s})
		}
	}
	return out
}

// enclosing returns the nested models that hold a layer of scope, innermost
// first.
func (m *Model) enclosing(scope string) []*Submodel {
	var out []*Submodel
	for s := scope; s != ""; s = ParentScope(s) {
		if sub := m.Submodel(s); sub != nil {
			out = append(out, sub)
		}
	}
	return out
}

// EffectiveTrainable reports whether l's params may train: l is trainable
// and so is every nested model that holds it (Keras: a model's
// trainable_weights is empty when the model is frozen).
func (m *Model) EffectiveTrainable(l *Layer) bool {
	if !l.Trainable {
		return false
	}
	for _, s := range m.enclosing(l.Scope) {
		if !s.Trainable {
			return false
		}
	}
	return true
}

// InferenceOnly reports whether a nested model that holds l is called with
// training=False, so that l runs in inference mode even while it trains
// (BatchNormalization on its moving statistics, Dropout off).
func (m *Model) InferenceOnly(l *Layer) bool {
	for _, s := range m.enclosing(l.Scope) {
		if s.Training != nil && !*s.Training {
			return true
		}
	}
	return false
}

// SyncTrainable sets every param's Trainable from the flags of its layer and
// of the nested models that hold it, and every shared-layer call site's
// Trainable from its owner's. It modifies m.
func (m *Model) SyncTrainable() {
	owners := map[string]*Layer{}
	for _, l := range m.Layers {
		if l.Shares == "" {
			owners[l.Name] = l
		} else if o := owners[l.Shares]; o != nil {
			l.Trainable = o.Trainable
		}
		on := m.EffectiveTrainable(l)
		for _, p := range l.Params {
			p.Trainable = on && !p.State
		}
	}
}

// SubmodelParamCounts returns the element counts of the params held by the
// nested model name and the models nested in it, as Keras's summary counts
// the nested model's row.
func (m *Model) SubmodelParamCounts(name string) (total, trainable, nonTrainable int) {
	lo, hi := m.SubmodelRange(name)
	for _, l := range m.Layers[lo:hi] {
		t, tr, nt := l.ParamCounts()
		total += t
		trainable += tr
		nonTrainable += nt
	}
	return total, trainable, nonTrainable
}

// checkNesting checks the invariants of Submodels and shared layers (see
// package doc). It runs after structure, so names are unique and every value
// is produced once, before it is read.
func (m *Model) checkNesting() error {
	// producer maps a value to the name of the layer whose node, param or
	// const makes it, or to "graph input".
	producer := map[string]string{}
	for _, v := range m.Inputs {
		producer[v.Name] = "graph input"
	}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			producer[p.Name] = l.Name
		}
		for _, t := range l.Consts {
			producer[t.Name] = l.Name
		}
		for _, n := range l.Nodes {
			for _, out := range n.Outputs {
				producer[out] = l.Name
			}
		}
	}
	subs := map[string]*Submodel{}
	for _, s := range m.Submodels {
		if s == nil || s.Name == "" {
			return fmt.Errorf("%w: a nested model has no name", ErrInvalid)
		}
		if subs[s.Name] != nil {
			return fmt.Errorf("%w: two nested models are called %q", ErrInvalid, s.Name)
		}
		if s.Kind != "Functional" && s.Kind != "Sequential" {
			return fmt.Errorf("%w: nested model %q: kind %q (want Functional or Sequential)", ErrInvalid, s.Name, s.Kind)
		}
		if p := ParentScope(s.Name); p != "" && subs[p] == nil {
			return fmt.Errorf("%w: nested model %q: its parent %q is not listed before it", ErrInvalid, s.Name, p)
		}
		if len(s.Inputs) == 0 || len(s.Outputs) == 0 {
			return fmt.Errorf("%w: nested model %q needs inputs and outputs, has %d and %d", ErrInvalid, s.Name, len(s.Inputs), len(s.Outputs))
		}
		subs[s.Name] = s
	}
	// Contiguity: once a nested model's layers end, none of them follows.
	closed := map[string]bool{}
	prev := ""
	layerIdx := map[string]int{}
	for i, l := range m.Layers {
		layerIdx[l.Name] = i
		if l.Scope != "" {
			if subs[l.Scope] == nil {
				return fmt.Errorf("%w: layer %q: scope %q names no nested model", ErrInvalid, l.Name, l.Scope)
			}
			if l.Name != l.Scope+"/"+LocalName(l.Name) || LocalName(l.Name) == "" {
				return fmt.Errorf("%w: layer %q: a layer of nested model %q must be called %q", ErrInvalid, l.Name, l.Scope, l.Scope+"/"+LocalName(l.Name))
			}
		} else if strings.ContainsRune(l.Name, '/') {
			return fmt.Errorf("%w: layer %q: a '/' in a layer name marks a nested model's layer, and the layer has no scope", ErrInvalid, l.Name)
		}
		// Close every model on prev's path that is not on this layer's path.
		for s := prev; s != ""; s = ParentScope(s) {
			if !within(l.Scope, s) {
				closed[s] = true
			}
		}
		for s := l.Scope; s != ""; s = ParentScope(s) {
			if closed[s] {
				return fmt.Errorf("%w: layer %q: the layers of nested model %q must be contiguous", ErrInvalid, l.Name, s)
			}
		}
		prev = l.Scope
	}
	for _, s := range m.Submodels {
		lo, hi := m.SubmodelRange(s.Name)
		if lo == hi {
			return fmt.Errorf("%w: nested model %q has no layers", ErrInvalid, s.Name)
		}
		for _, in := range s.Inputs {
			if j, ok := layerIdx[producer[in]]; ok && j >= lo {
				return fmt.Errorf("%w: nested model %q: input %q is not produced before its layers", ErrInvalid, s.Name, in)
			} else if !ok && producer[in] != "graph input" {
				return fmt.Errorf("%w: nested model %q: input %q is not defined", ErrInvalid, s.Name, in)
			}
		}
		for _, out := range s.Outputs {
			j, ok := layerIdx[producer[out]]
			if !ok || j < lo || j >= hi {
				return fmt.Errorf("%w: nested model %q: output %q is not produced by its layers", ErrInvalid, s.Name, out)
			}
		}
	}
	// Encapsulation: a nested model's layers read its inputs and its own
	// values; other layers read its values only through its outputs.
	for _, l := range m.Layers {
		for _, in := range l.Inputs {
			by := producer[in]
			src := ""
			if j, ok := layerIdx[by]; ok {
				src = m.Layers[j].Scope
			}
			if err := m.checkCrossing(l, in, src, subs); err != nil {
				return err
			}
		}
	}
	// Shared layers.
	for _, l := range m.Layers {
		if l.Shares == "" {
			continue
		}
		j, ok := layerIdx[l.Shares]
		if !ok || j >= layerIdx[l.Name] {
			return fmt.Errorf("%w: layer %q shares the weights of %q, which is not an earlier layer", ErrInvalid, l.Name, l.Shares)
		}
		o := m.Layers[j]
		switch {
		case o.Shares != "":
			return fmt.Errorf("%w: layer %q shares the weights of %q, itself a call site of %q", ErrInvalid, l.Name, o.Name, o.Shares)
		case o.Kind != l.Kind || o.Scope != l.Scope || o.Trainable != l.Trainable:
			return fmt.Errorf("%w: layer %q: a call site of %q must have its kind, scope and trainable flag", ErrInvalid, l.Name, o.Name)
		case len(l.Params) > 0 || l.Config != nil:
			return fmt.Errorf("%w: layer %q: a call site of %q has no params or config of its own", ErrInvalid, l.Name, o.Name)
		}
	}
	return nil
}

// checkCrossing checks that layer l may read value in, produced by a layer
// of scope src ("" also for graph inputs).
func (m *Model) checkCrossing(l *Layer, in, src string, subs map[string]*Submodel) error {
	// Leaving nested models: every model on src's path that does not hold l
	// must return in.
	for s := src; s != "" && !within(l.Scope, s); s = ParentScope(s) {
		if !contains(subs[s].Outputs, in) {
			return fmt.Errorf("%w: layer %q reads %q from inside nested model %q, which does not return it", ErrInvalid, l.Name, in, s)
		}
	}
	// Entering nested models: every model on l's path that does not hold src
	// must be called on in.
	for s := l.Scope; s != "" && !within(src, s); s = ParentScope(s) {
		if !contains(subs[s].Inputs, in) {
			return fmt.Errorf("%w: layer %q of nested model %q reads %q, which is not an input of %q", ErrInvalid, l.Name, s, in, s)
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// SetItemTrainable sets the trainable flag of a layer, or of a nested model
// and everything it holds (Keras's trainable setter recurses into
// sublayers), then recomputes the params' effective flags. A shared layer's
// call sites follow it. It modifies m.
func (m *Model) SetItemTrainable(it Item, on bool) {
	if it.Sub != nil {
		it.Sub.Trainable = on
		for _, s := range m.Submodels {
			if within(s.Name, it.Sub.Name) {
				s.Trainable = on
			}
		}
		lo, hi := m.SubmodelRange(it.Sub.Name)
		for _, l := range m.Layers[lo:hi] {
			l.Trainable = on
		}
	} else if it.Layer != nil {
		it.Layer.Trainable = on
	}
	m.SyncTrainable()
}
