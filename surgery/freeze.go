package surgery

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// Freeze returns a copy of m whose layers 0..upto (inclusive, in Keras's
// model.layers numbering; negative counts from the end) are not trainable.
// A nested model among them is frozen whole, as Keras's base.trainable =
// False freezes its layers. Trainability of the other layers is unchanged.
// BatchNormalization moving statistics stay non-trainable in every case, so
// parameter counts follow Keras (a frozen BN's gamma and beta count as
// non-trainable).
func Freeze(m *model.Model, upto int) (*model.Model, error) {
	return FreezeAt(m, strconv.Itoa(upto))
}

// Unfreeze returns a copy of m whose layers from.. are trainable; from 0
// unfreezes the whole model.
func Unfreeze(m *model.Model, from int) (*model.Model, error) {
	return UnfreezeAt(m, strconv.Itoa(from))
}

// FreezeAt is Freeze with the last frozen layer given by a reference (see
// Resolve): "3" and "-2" number the model's layers, "dense_2" names one,
// "base:120" is layer 120 of the nested model base ("base/block_16_project"
// names one), and so on at any depth. Freezing inside a nested model also
// freezes every layer before that model.
func FreezeAt(m *model.Model, ref string) (*model.Model, error) {
	return setFrom(m, "freeze", "upto", ref, false)
}

// UnfreezeAt is Unfreeze with the first trainable layer given by a
// reference (see FreezeAt). Unfreezing inside a nested model makes that
// model (and the models holding it) trainable and its layers from the
// reference on, as Keras's transfer-learning guide does (base.trainable =
// True, then its first layers frozen again); the layers after it train too;
// the layers before it keep their flags.
func UnfreezeAt(m *model.Model, ref string) (*model.Model, error) {
	return setFrom(m, "unfreeze", "from", ref, true)
}

// Ref is a resolved layer reference: entry Index of the layers list of the
// model at Scope ("" for the model itself, else a nested model's path).
type Ref struct {
	Scope string
	Index int
	Item  model.Item
}

// FirstLayer returns the index in m.Layers of the first layer of the entry
// r names (a nested model's first layer).
func (r Ref) FirstLayer(m *model.Model) int {
	if r.Item.Sub != nil {
		lo, _ := m.SubmodelRange(r.Item.Sub.Name)
		return lo
	}
	return m.LayerIndex(r.Item.Layer.Name)
}

// Resolve finds the layer a reference names. A reference is a path of
// steps separated by '/' or ':' — a name or an index into the layers list
// (Keras's model.layers, negative from the end) of the level reached so far
// — whose last step may name or number a layer; every earlier step must be
// a nested model: "3", "-1", "dense", "base", "base:120", "base/conv1",
// "base:-20", "outer/inner:4".
func Resolve(m *model.Model, ref string) (Ref, error) {
	r, msg := resolve(m, ref)
	if msg != "" {
		return Ref{}, fmt.Errorf("%w: layer %s", ErrUsage, msg)
	}
	return r, nil
}

// resolve is Resolve with the reason of a failure as a message that starts
// with the reference.
func resolve(m *model.Model, ref string) (Ref, string) {
	if strings.TrimSpace(ref) == "" {
		return Ref{}, `"" is empty (give an index such as 3 or -1, a layer name, or base:120 for layer 120 of nested model base)`
	}
	steps := strings.FieldsFunc(ref, func(r rune) bool { return r == '/' || r == ':' })
	scope := ""
	var r Ref
	for i, step := range steps {
		items := m.Items(scope)
		what := fmt.Sprintf("model %q", m.Name)
		if scope != "" {
			what = fmt.Sprintf("nested model %q", scope)
		}
		if len(items) == 0 {
			return Ref{}, fmt.Sprintf("%s: %s has no layers", ref, what)
		}
		idx := -1
		if n, err := strconv.Atoi(step); err == nil {
			if n < 0 {
				n += len(items)
			}
			if n < 0 || n >= len(items) {
				return Ref{}, fmt.Sprintf("%s is out of range: %s has %d layers, numbered 0 to %d (or -1 to -%d from the end)", ref, what, len(items), len(items)-1, len(items))
			}
			idx = n
		} else {
			for j, it := range items {
				if model.LocalName(it.Name()) == step {
					idx = j
					break
				}
			}
			if idx < 0 {
				return Ref{}, fmt.Sprintf("%s: %s has no layer called %q (its layers: %s)", ref, what, step, itemNames(items))
			}
		}
		r = Ref{Scope: scope, Index: idx, Item: items[idx]}
		if i < len(steps)-1 {
			if r.Item.Sub == nil {
				return Ref{}, fmt.Sprintf("%s: %q is a %s layer, not a nested model", ref, r.Item.Name(), r.Item.Layer.Kind)
			}
			scope = r.Item.Sub.Name
		}
	}
	return r, ""
}

// itemNames lists items for messages, shortened past 12.
func itemNames(items []model.Item) string {
	var names []string
	for i, it := range items {
		if i == 12 {
			names = append(names, fmt.Sprintf("... %d more", len(items)-12))
			break
		}
		names = append(names, model.LocalName(it.Name()))
	}
	return strings.Join(names, ", ")
}

// setFrom freezes (on false) every entry up to ref, or unfreezes (on true)
// every entry from ref on, on ref's level and the levels that hold it.
func setFrom(m *model.Model, op, flag, ref string, on bool) (*model.Model, error) {
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("%w: %s: model %q has no layers", ErrUsage, op, m.Name)
	}
	r, msg := resolve(m, ref)
	if msg != "" {
		return nil, fmt.Errorf("%w: %s: --%s %s", ErrUsage, op, flag, msg)
	}
	c := m.Clone()
	// From ref's level out to the model's own: on each level, the entries up
	// to (freeze) or from (unfreeze) the one on the way to ref.
	scope, idx := r.Scope, r.Index
	for {
		for j, it := range c.Items(scope) {
			if on && j >= idx || !on && j <= idx {
				c.SetItemTrainable(it, on)
			}
		}
		if scope == "" {
			break
		}
		sub := c.Submodel(scope)
		if on {
			// The nested model trains (its own flag), not all of it.
			sub.Trainable = true
			c.SyncTrainable()
		}
		scope = model.ParentScope(scope)
		for j, it := range c.Items(scope) {
			if it.Sub == sub {
				idx = j
			}
		}
		if on {
			idx++ // its neighbours after it train too
		} else {
			idx-- // and before it freeze too
		}
	}
	if err := syncConfigs(c); err != nil {
		return nil, err
	}
	return c, nil
}

// syncConfigs keeps each layer's Keras config "trainable" key in step with
// its flag, so that exporters starting from a config stay right.
func syncConfigs(m *model.Model) error {
	for _, l := range m.Layers {
		cfg, err := layers.TrainableConfig(l)
		if err != nil {
			return fmt.Errorf("surgery: %w", err)
		}
		l.Config = cfg
	}
	return nil
}
