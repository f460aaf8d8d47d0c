package surgery

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// DropHead returns a copy of m without its last n layers: the values that fed
// the removed layers become the model's outputs (for a chain, the output of
// the last kept layer), as Keras's Sequential(model.layers[:-n]) does.
//
// Layers are counted as Keras's model.layers counts them: a nested model is
// one layer (dropped whole), a shared layer goes with all its calls.
//
// A model with one output drops the last n of those layers; output may be
// "" or name that output or its layer. A model with several outputs needs
// output, the output value or the layer producing it: the head is then the
// last n layers (in m.Layers order) among those the output depends on, and
// its replacement takes the dropped output's place in m.Outputs.
//
// It fails with ErrUsage when n < 1, n exceeds the layer count, output is
// missing or unknown, or nothing but the model input would remain; with
// model.ErrUnsupported when a dropped layer feeds a kept layer or another output.
func DropHead(m *model.Model, n int, output string) (*model.Model, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: drop-head: the number of layers to drop must be at least 1, got %d", ErrUsage, n)
	}
	items := m.Items("")
	if n > len(items) {
		return nil, fmt.Errorf("%w: drop-head: model %q has %d layers; cannot drop %d", ErrUsage, m.Name, len(items), n)
	}
	producer := producers(m)
	target, err := outputIndex(m, output, producer)
	if err != nil {
		return nil, err
	}
	var head []int // indexes into m.Layers, ascending
	if len(m.Outputs) == 1 {
		for _, it := range items[len(items)-n:] {
			head = append(head, itemLayers(m, it)...)
		}
		slices.Sort(head)
	} else {
		up := ancestors(m, m.Outputs[target], producer)
		if len(up) < n {
			return nil, fmt.Errorf("%w: drop-head: output %q depends on %d layers; cannot drop %d", ErrUsage, m.Outputs[target], len(up), n)
		}
		head = up[len(up)-n:]
	}
	dropped := map[int]bool{}
	for _, i := range head {
		dropped[i] = true
	}
	for _, sm := range m.Submodels {
		lo, hi := m.SubmodelRange(sm.Name)
		for i := lo; i < hi; i++ {
			if dropped[i] != dropped[lo] {
				return nil, fmt.Errorf("surgery: %w: drop-head: the last %d layers cut into nested model %q; drop it whole (it counts as one layer)", model.ErrUnsupported, n, sm.Name)
			}
		}
	}
	for i, l := range m.Layers {
		if j := m.LayerIndex(l.Shares); l.Shares != "" && dropped[j] != dropped[i] {
			return nil, fmt.Errorf("surgery: %w: drop-head: shared layer %q would lose one of its calls; drop all of its calls or none", model.ErrUnsupported, l.Shares)
		}
	}
	if p, ok := producer[m.Outputs[target]]; !ok || !dropped[p] {
		return nil, fmt.Errorf("surgery: %w: drop-head: the last %d layers do not produce the model output %q", model.ErrUnsupported, n, m.Outputs[target])
	}
	for i, l := range m.Layers {
		if dropped[i] {
			continue
		}
		for _, in := range l.Inputs {
			if p, ok := producer[in]; ok && dropped[p] {
				return nil, fmt.Errorf("surgery: %w: drop-head: layer %q would be dropped but its output %q feeds kept layer %q", model.ErrUnsupported, m.Layers[p].Name, in, l.Name)
			}
		}
	}
	for j, out := range m.Outputs {
		if p, ok := producer[out]; ok && dropped[p] && j != target {
			return nil, fmt.Errorf("surgery: %w: drop-head: layer %q would be dropped but produces model output %q; drop that head separately with its name", model.ErrUnsupported, m.Layers[p].Name, out)
		}
	}

	// The head's inputs from outside the head become outputs.
	var fed []string
	for _, i := range head {
		for _, in := range m.Layers[i].Inputs {
			if p, ok := producer[in]; ok && dropped[p] {
				continue
			}
			if slices.Contains(fed, in) {
				continue
			}
			if p, ok := producer[in]; !ok || m.Layers[p].Kind == "InputLayer" {
				return nil, fmt.Errorf("%w: drop-head: dropping %d of the %d layers of model %q would leave nothing but the model input %q", ErrUsage, n, len(m.Layers), m.Name, in)
			}
			fed = append(fed, in)
		}
	}
	if len(fed) == 0 {
		return nil, fmt.Errorf("surgery: %w: drop-head: the dropped layers read no value of the kept model", model.ErrUnsupported)
	}

	c := m.Clone()
	var outs []string
	for j, out := range c.Outputs {
		if j != target {
			outs = append(outs, out)
			continue
		}
		for _, f := range fed {
			if !slices.Contains(c.Outputs, f) && !slices.Contains(outs, f) {
				outs = append(outs, f)
			}
		}
	}
	c.Outputs = outs
	kept := c.Layers[:0:0]
	for i, l := range c.Layers {
		if !dropped[i] {
			kept = append(kept, l)
		}
	}
	c.Layers = kept
	var subs []*model.Submodel
	for _, sm := range c.Submodels {
		if lo, hi := c.SubmodelRange(sm.Name); lo < hi {
			subs = append(subs, sm)
		}
	}
	c.Submodels = subs
	if len(c.Outputs) > 1 {
		c.Sequential = false
	}
	return c, nil
}

// itemLayers returns the indexes into m.Layers of an entry of Keras's
// model.layers: a nested model's layers, or a layer with the further calls
// of a shared layer.
func itemLayers(m *model.Model, it model.Item) []int {
	if it.Sub != nil {
		lo, hi := m.SubmodelRange(it.Sub.Name)
		out := make([]int, 0, hi-lo)
		for i := lo; i < hi; i++ {
			out = append(out, i)
		}
		return out
	}
	var out []int
	for i, l := range m.Layers {
		if l == it.Layer || l.Shares == it.Layer.Name {
			out = append(out, i)
		}
	}
	return out
}

// producers maps each layer output value to its layer's index.
func producers(m *model.Model) map[string]int {
	p := map[string]int{}
	for i, l := range m.Layers {
		for _, out := range l.Outputs {
			if _, ok := p[out]; !ok || l.Kind != "InputLayer" {
				p[out] = i
			}
		}
	}
	return p
}

// outputIndex finds the output called name (a value or its layer's name);
// with one output, name may be empty.
func outputIndex(m *model.Model, name string, producer map[string]int) (int, error) {
	if len(m.Outputs) == 0 {
		return 0, fmt.Errorf("surgery: %w: model %q has no outputs", model.ErrUnsupported, m.Name)
	}
	if name == "" && len(m.Outputs) == 1 {
		return 0, nil
	}
	var list []string
	for j, out := range m.Outputs {
		layer := ""
		if p, ok := producer[out]; ok {
			layer = m.Layers[p].Name
		}
		if name == out || (name == layer && layer != "") {
			return j, nil
		}
		if layer != "" && layer != out {
			list = append(list, fmt.Sprintf("%s (layer %s)", out, layer))
		} else {
			list = append(list, out)
		}
	}
	if name == "" {
		return 0, fmt.Errorf("%w: model %q has %d outputs: %s; name the one whose head to drop", ErrUsage, m.Name, len(m.Outputs), strings.Join(list, ", "))
	}
	return 0, fmt.Errorf("%w: model %q has no output or output layer %q; its outputs are %s", ErrUsage, m.Name, name, strings.Join(list, ", "))
}

// ancestors returns the ascending indexes of the layers value depends on,
// including its producer.
func ancestors(m *model.Model, value string, producer map[string]int) []int {
	seen := map[int]bool{}
	stack := []string{value}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p, ok := producer[v]
		if !ok || seen[p] {
			continue
		}
		seen[p] = true
		stack = append(stack, m.Layers[p].Inputs...)
	}
	var out []int
	for i := range seen {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}
