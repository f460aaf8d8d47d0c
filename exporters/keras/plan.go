package keras

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// kLayer is one Keras layer ready to be written in either dialect.
type kLayer struct {
	name    string
	class   string
	cfg     *obj // the layer's inner config, in the dialect it was read or built in
	weights []kWeight
	// inbound names the Keras layers whose outputs feed this one, in order
	// (functional models; empty for an InputLayer).
	inbound []string
	// inShapes are the shapes of the inputs (batch dim -1); nil when unknown.
	inShapes [][]int
	// input marks an InputLayer; inDType is its dtype then.
	input   bool
	inDType model.DType
	// keras3Only / keras2Only name an activation whose meaning exists in
	// only one Keras generation (hard_sigmoid changed in Keras 3), so the
	// layer can be written in that generation's format only.
	keras3Only, keras2Only string
}

// kWeight is one weight in Keras's layout.
type kWeight struct {
	role  string
	shape []int
	data  []float32
}

// plan is a model laid out the way Keras lays it out.
type plan struct {
	name       string
	sequential bool
	// layers holds every layer in order; InputLayers come first for a
	// Sequential model (exactly one) and where the model has them otherwise.
	layers  []*kLayer
	inputs  []*kLayer // the InputLayers, in graph-input order
	outputs []*kLayer // the layers producing the model outputs, in order
	m       *model.Model
}

// mergeKinds take a list of tensors as their one call argument.
var mergeKinds = map[string]bool{
	"Add": true, "Subtract": true, "Multiply": true, "Average": true,
	"Maximum": true, "Minimum": true, "Concatenate": true, "Dot": true,
}

// newPlan lays m out as Keras layers. It validates m first; m is not
// modified.
func newPlan(m *model.Model) (*plan, error) {
	if m == nil {
		return nil, fmt.Errorf("keras: nil model")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("keras: model %q cannot be written: %w", m.Name, err)
	}
	shapes, err := m.InferShapes()
	if err != nil {
		return nil, fmt.Errorf("keras: model %q: %w", m.Name, err)
	}
	for _, v := range m.Inputs {
		if v.DType != model.Float32 && v.DType != model.Int64 {
			return nil, fmt.Errorf("keras: model %q: graph input %q has dtype %v; Keras inputs here are float32 or int64", m.Name, v.Name, v.DType)
		}
	}
	p := &plan{name: modelName(m), m: m}

	// producer maps a value name to the Keras layer that outputs it.
	producer := map[string]*kLayer{}
	used := map[string]bool{}
	for _, l := range m.Layers {
		used[l.Name] = true
	}

	// Graph inputs: an explicit InputLayer layer, or one we add.
	inputLayer := map[string]*model.Layer{}
	for _, l := range m.Layers {
		if l.Kind == "InputLayer" {
			if len(l.Outputs) != 1 || m.Input(l.Outputs[0]) == nil {
				return nil, fmt.Errorf("keras: layer %q: an InputLayer must output exactly one graph input, has outputs %v", l.Name, l.Outputs)
			}
			inputLayer[l.Outputs[0]] = l
		}
	}
	p.sequential = m.Sequential && isChain(m)
	for _, v := range m.Inputs {
		name := ""
		if l := inputLayer[v.Name]; l != nil {
			name = l.Name
		} else {
			name = inputLayerName(v.Name, m, used)
			used[name] = true
		}
		k := &kLayer{name: name, class: "InputLayer", input: true, inDType: v.DType, inShapes: [][]int{slices.Clone(v.Shape)}}
		producer[v.Name] = k
		p.inputs = append(p.inputs, k)
	}
	if p.sequential {
		p.layers = append(p.layers, p.inputs[0])
	}

	for _, l := range m.Layers {
		if l.Kind == "InputLayer" {
			k := producer[l.Outputs[0]]
			if !p.sequential {
				p.layers = append(p.layers, k)
			}
			continue
		}
		if len(l.Outputs) != 1 {
			return nil, fmt.Errorf("keras: layer %q (%s) has %d outputs; Keras layers written here have one", l.Name, l.Kind, len(l.Outputs))
		}
		k, err := convertLayer(l, shapes, m.Opset)
		if err != nil {
			return nil, err
		}
		for _, in := range l.Inputs {
			src := producer[in]
			if src == nil {
				return nil, fmt.Errorf("keras: layer %q reads %q, which no layer or graph input produces", l.Name, in)
			}
			k.inbound = append(k.inbound, src.name)
			var shape []int
			if v := shapes[in]; v != nil {
				shape = slices.Clone(v.Shape)
			}
			k.inShapes = append(k.inShapes, shape)
		}
		if len(k.inbound) == 0 {
			return nil, fmt.Errorf("keras: layer %q (%s) has no inputs", l.Name, l.Kind)
		}
		producer[l.Outputs[0]] = k
		p.layers = append(p.layers, k)
	}
	// Functional models list InputLayers before the layers that use them;
	// when we added them, put them first.
	if !p.sequential {
		var added []*kLayer
		for _, k := range p.inputs {
			if !slices.Contains(p.layers, k) {
				added = append(added, k)
			}
		}
		p.layers = append(added, p.layers...)
	}
	for _, out := range m.Outputs {
		k := producer[out]
		if k == nil {
			return nil, fmt.Errorf("keras: model output %q is not produced by a layer", out)
		}
		p.outputs = append(p.outputs, k)
	}
	return p, nil
}

// isChain reports whether m is a Keras Sequential stack: one input, one
// output, each layer reading exactly the previous layer's output.
func isChain(m *model.Model) bool {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return false
	}
	prev := m.Inputs[0].Name
	for _, l := range m.Layers {
		if l.Kind == "InputLayer" {
			return false
		}
		if len(l.Inputs) != 1 || l.Inputs[0] != prev || len(l.Outputs) != 1 {
			return false
		}
		prev = l.Outputs[0]
	}
	return prev == m.Outputs[0]
}

// inputLayerName names the InputLayer added for graph input v: the input's
// own name when it is a usable Keras layer name, else "input_1", "input_2"...
func inputLayerName(v string, m *model.Model, used map[string]bool) string {
	if validName(v) && !used[v] {
		return v
	}
	for i := 1; ; i++ {
		n := fmt.Sprintf("input_%d", i)
		if !used[n] {
			return n
		}
	}
}

// validName reports whether s can be a Keras layer name and an HDF5 link
// name: non-empty, no '/', no ':' (Keras's weight-name separator), printable
// ASCII.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '/' || r == ':' {
			return false
		}
	}
	return true
}

func modelName(m *model.Model) string {
	if validName(m.Name) {
		return m.Name
	}
	if m.Sequential {
		return "sequential"
	}
	return "model"
}

// kindOrder is the order in which Keras creates (and saves) each kind's
// weights; a layer of a listed kind must hold only these roles.
var kindOrder = map[string][]string{
	"Dense":              {"kernel", "bias"},
	"Conv1D":             {"kernel", "bias"},
	"Conv2D":             {"kernel", "bias"},
	"Conv3D":             {"kernel", "bias"},
	"DepthwiseConv2D":    {"depthwise_kernel", "bias"},
	"BatchNormalization": {"gamma", "beta", "moving_mean", "moving_variance"},
	"PReLU":              {"alpha"},
}

// roleAliases maps a weight name to another generation's name for it:
// Keras 3 calls DepthwiseConv2D's kernel "kernel", tf.keras 2
// "depthwise_kernel" (the name written in .h5 weight_names).
var roleAliases = map[string]string{"depthwise_kernel": "kernel"}

// orderedWeights returns the layer's params in Keras's weight order.
func orderedWeights(l *model.Layer) ([]kWeight, error) {
	order, ok := kindOrder[l.Kind]
	if !ok {
		// A kind without a table: keep the order the params were read in.
		ws := make([]kWeight, len(l.Params))
		for i, p := range l.Params {
			if p.Role == "" {
				return nil, fmt.Errorf("keras: layer %q (%s): param %q has no Keras weight name (Role)", l.Name, l.Kind, p.Name)
			}
			ws[i] = kWeight{role: p.Role, shape: slices.Clone(p.Shape), data: p.Data}
		}
		return ws, nil
	}
	var ws []kWeight
	for _, role := range order {
		p := l.Param(role)
		if p == nil {
			p = l.Param(roleAliases[role])
		}
		if p != nil {
			ws = append(ws, kWeight{role: role, shape: slices.Clone(p.Shape), data: p.Data})
		}
	}
	if len(ws) != len(l.Params) {
		var roles []string
		for _, p := range l.Params {
			roles = append(roles, p.Role)
		}
		return nil, fmt.Errorf("keras: %w: layer %q (%s): weights %v do not fit Keras's %s weights %v", model.ErrUnsupported, l.Name, l.Kind, roles, l.Kind, order)
	}
	return ws, nil
}

// convertLayer turns a model layer into a Keras layer: from its Keras config
// when it has one, else from its ONNX nodes.
func convertLayer(l *model.Layer, shapes map[string]*model.Value, opset int) (*kLayer, error) {
	if !validName(l.Name) {
		return nil, fmt.Errorf("keras: layer %q: not a usable Keras layer name (printable ASCII without '/' or ':')", l.Name)
	}
	if len(l.Config) == 0 {
		return fromNodes(l, shapes, opset)
	}
	cfg, err := parseObj(l.Config)
	if err != nil {
		return nil, fmt.Errorf("keras: layer %q (%s): config: %w", l.Name, l.Kind, err)
	}
	if l.Kind == "" || strings.ContainsAny(l.Kind, "/ ") {
		return nil, fmt.Errorf("keras: layer %q: kind %q is not a Keras class name", l.Name, l.Kind)
	}
	cfg.set("name", l.Name)
	cfg.setAfter("name", "trainable", l.Trainable)
	ws, err := orderedWeights(l)
	if err != nil {
		return nil, err
	}
	k := &kLayer{name: l.Name, class: l.Kind, cfg: cfg, weights: ws}
	activationGeneration(k, l)
	return k, nil
}

// activationGeneration records activations whose meaning depends on the
// Keras generation, telling them apart by the nodes the importer built:
// hard_sigmoid is clip(0.2x + 0.5, 0, 1) in Keras 2 and relu6(x + 3)/6 =
// clip(x/6 + 0.5, 0, 1) in Keras 3 (keras-team/keras:
// keras/src/activations/activations.py); hard_silu/hard_swish exist in
// Keras 3 only.
func activationGeneration(k *kLayer, l *model.Layer) {
	switch act := strings.ToLower(k.cfg.str("activation")); act {
	case "hard_sigmoid":
		for _, n := range l.Nodes {
			if n.Op == "HardSigmoid" {
				if a := n.AttrFloat("alpha", 0.2); math.Abs(float64(a)-1.0/6) < 1e-6 {
					k.keras3Only = act
				} else {
					k.keras2Only = act
				}
			}
		}
	case "hard_silu", "hard_swish":
		k.keras3Only = act
	}
}

// checkGeneration refuses layers whose activation means something else (or
// nothing) in the Keras generation being written.
func (p *plan) checkGeneration(d dialect) error {
	for _, k := range p.layers {
		if d == tf2 && k.keras3Only != "" {
			return fmt.Errorf("keras: %w: layer %q: activation %s has its Keras 3 meaning here, which tf.keras 2 does not have; write a .keras file instead", model.ErrUnsupported, k.name, k.keras3Only)
		}
		if d == k3 && k.keras2Only != "" {
			return fmt.Errorf("keras: %w: layer %q: activation %s has its Keras 2 meaning (clip(0.2x + 0.5, 0, 1)) here, which Keras 3 redefined as relu6(x + 3)/6; write a .h5 file instead", model.ErrUnsupported, k.name, k.keras2Only)
		}
	}
	return nil
}
