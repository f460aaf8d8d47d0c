package keras

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// kLayer is one Keras layer ready to be written in either dialect: a layer,
// or a nested model (sub set).
type kLayer struct {
	name    string // the Keras name, local to the model that holds the layer
	class   string
	cfg     *pyjson.Obj // the layer's inner config, in the dialect it was read or built in
	weights []kWeight
	// inbound are the tensors the layer's first call reads, in order
	// (functional models; empty for an InputLayer); inShapes their shapes
	// (batch dim -1; nil when unknown).
	inbound  []kRef
	inShapes [][]int
	// more are the further calls of a shared layer, in Keras's node order.
	more []kCall
	// sub is the plan of a nested model, whose call's training argument is
	// training (nil when not given).
	sub      *plan
	training *bool
	// input marks an InputLayer; inDType is its dtype then.
	input   bool
	inDType model.DType
	// keras3Only / keras2Only name an activation whose meaning exists in
	// only one Keras generation (hard_sigmoid changed in Keras 3), so the
	// layer can be written in that generation's format only.
	keras3Only, keras2Only string
	// call is set for an operation node (a Keras 3 ops node or a TFOpLambda
	// read from tf.keras 2), which each dialect writes its own way.
	call *opCall
	// tf2Kwargs are the keyword arguments of the layer's call in a tf.keras
	// 2 config (TFOpLambda's y), nil for none.
	tf2Kwargs *pyjson.Obj
}

// kRef names an output tensor of a layer call: Keras's [layer, node, tensor].
type kRef struct {
	layer        string
	node, tensor int
}

// kCall is one further call of a shared layer.
type kCall struct {
	inbound  []kRef
	inShapes [][]int
}

// kWeight is one weight in Keras's layout.
type kWeight struct {
	role  string
	shape []int
	data  []float32
	// trainable is the weight's effective flag (its layer and every model
	// holding it trainable, and not a BatchNormalization statistic): the
	// legacy .h5 layout lists a nested model's trainable weights first.
	trainable bool
	// integer marks a weight Keras keeps as an integer variable (see
	// layers.KerasIntWeight): written as int64 in .h5 (tf.keras 2) and int32 in .keras
	// (Keras 3), as each writes it.
	integer bool
}

// plan is a model (or a nested model) laid out the way Keras lays it out.
type plan struct {
	name       string
	sequential bool
	trainable  bool
	// layers holds every layer in order; InputLayers come first for a
	// Sequential model (exactly one) and where the model has them otherwise.
	layers  []*kLayer
	inputs  []*kLayer // the InputLayers, in input order
	outputs []kRef    // the tensors the model returns, in order
	m       *model.Model
}

// mergeKinds take a list of tensors as their one call argument.
var mergeKinds = map[string]bool{
	"Add": true, "Subtract": true, "Multiply": true, "Average": true,
	"Maximum": true, "Minimum": true, "Concatenate": true, "Dot": true,
}

// newPlan lays m out as Keras layers, nested models as nested plans. It
// validates m first; m is not modified.
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
		if v.DType != model.Float32 && v.DType != model.Int64 && v.DType != model.Int32 {
			return nil, fmt.Errorf("keras: model %q: graph input %q has dtype %v; Keras inputs here are float32, int32 or int64", m.Name, v.Name, v.DType)
		}
	}
	pl := &planner{m: m, shapes: shapes}
	return pl.level(nil)
}

// planner lays out the levels of one model.
type planner struct {
	m      *model.Model
	shapes map[string]*model.Value
}

// level lays out the model itself (sm nil) or the nested model sm.
func (pl *planner) level(sm *model.Submodel) (*plan, error) {
	m := pl.m
	scope, ins, outs := "", make([]string, len(m.Inputs)), m.Outputs
	for i, v := range m.Inputs {
		ins[i] = v.Name
	}
	p := &plan{name: modelName(m), m: m, trainable: true, sequential: m.Sequential}
	if sm != nil {
		scope, ins, outs = sm.Name, sm.Inputs, sm.Outputs
		p.name, p.trainable, p.sequential = model.LocalName(sm.Name), sm.Trainable, sm.Kind == "Sequential"
		if !validName(p.name) {
			return nil, fmt.Errorf("keras: nested model %q: not a usable Keras model name (printable ASCII without '/' or ':')", sm.Name)
		}
	}
	items := m.Items(scope)
	p.sequential = p.sequential && isChain(m, scope, items, ins, outs)

	// producer maps a value to the layer call that outputs it at this level.
	producer := map[string]kRef{}
	byName := map[string]*kLayer{}
	used := map[string]bool{}
	for _, it := range items {
		used[model.LocalName(it.Name())] = true
	}

	// Inputs: an explicit InputLayer layer, or one we add.
	inputLayer := map[string]*model.Layer{}
	for _, l := range m.Layers {
		if l.Scope == scope && l.Kind == "InputLayer" {
			if len(l.Outputs) != 1 || !slices.Contains(ins, l.Outputs[0]) {
				return nil, fmt.Errorf("keras: layer %q: an InputLayer must output exactly one input of its model, has outputs %v", l.Name, l.Outputs)
			}
			inputLayer[l.Outputs[0]] = l
		}
	}
	for _, v := range ins {
		name := ""
		if l := inputLayer[v]; l != nil {
			name = model.LocalName(l.Name)
		} else {
			name = inputLayerName(v, used)
			used[name] = true
		}
		var shape []int
		dt := model.Float32
		if s := pl.shapes[v]; s != nil {
			shape, dt = slices.Clone(s.Shape), s.DType
		}
		k := &kLayer{name: name, class: "InputLayer", input: true, inDType: dt, inShapes: [][]int{shape}}
		producer[v] = kRef{layer: name}
		byName[name] = k
		p.inputs = append(p.inputs, k)
	}
	if p.sequential {
		p.layers = append(p.layers, p.inputs[0])
	}
	for i := 0; i < len(m.Layers); i++ {
		l := m.Layers[i]
		if l.Scope != scope {
			if scope != "" && !strings.HasPrefix(l.Scope, scope+"/") {
				continue
			}
			// The first layer of a model nested at this level.
			child := l.Scope
			if scope != "" {
				child = strings.TrimPrefix(child, scope+"/")
			}
			child, _, _ = strings.Cut(child, "/")
			if scope != "" {
				child = scope + "/" + child
			}
			sub := m.Submodel(child)
			k, err := pl.nested(sub, producer)
			if err != nil {
				return nil, err
			}
			for t, out := range sub.Outputs {
				producer[out] = kRef{layer: k.name, tensor: t}
			}
			byName[k.name] = k
			p.layers = append(p.layers, k)
			_, hi := m.SubmodelRange(child)
			i = hi - 1
			continue
		}
		if l.Kind == "InputLayer" {
			k := byName[model.LocalName(l.Name)]
			if !p.sequential {
				p.layers = append(p.layers, k)
			}
			continue
		}
		if len(l.Outputs) != 1 {
			return nil, fmt.Errorf("keras: layer %q (%s) has %d outputs; Keras layers written here have one", l.Name, l.Kind, len(l.Outputs))
		}
		refs, inShapes, err := pl.inbound(l.Name, l.Inputs, producer)
		if err != nil {
			return nil, err
		}
		if l.Shares != "" {
			owner := byName[model.LocalName(l.Shares)]
			if owner == nil {
				return nil, fmt.Errorf("keras: layer %q: shares the weights of %q, which is not a layer of the same model", l.Name, l.Shares)
			}
			owner.more = append(owner.more, kCall{inbound: refs, inShapes: inShapes})
			producer[l.Outputs[0]] = kRef{layer: owner.name, node: len(owner.more)}
			continue
		}
		k, err := convertLayer(l, pl.shapes, m.Opset)
		if err != nil {
			return nil, err
		}
		on := m.EffectiveTrainable(l)
		for j := range k.weights {
			k.weights[j].trainable = on && !stateRole(l, k.weights[j].role)
		}
		k.inbound, k.inShapes = refs, inShapes
		if err := reconcile(m, l, k, pl.shapes); err != nil {
			return nil, err
		}
		producer[l.Outputs[0]] = kRef{layer: k.name}
		byName[k.name] = k
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
	for _, out := range outs {
		r, ok := producer[out]
		if !ok {
			return nil, fmt.Errorf("keras: model %q: output %q is not produced by a layer", p.name, out)
		}
		p.outputs = append(p.outputs, r)
	}
	if !p.sequential {
		p.kerasOrder()
	}
	return p, nil
}

// nested lays out nested model sm as one layer of its parent.
func (pl *planner) nested(sm *model.Submodel, producer map[string]kRef) (*kLayer, error) {
	sub, err := pl.level(sm)
	if err != nil {
		return nil, err
	}
	refs, inShapes, err := pl.inbound(sm.Name, sm.Inputs, producer)
	if err != nil {
		return nil, err
	}
	class := "Functional"
	if sub.sequential {
		class = "Sequential"
	}
	return &kLayer{name: sub.name, class: class, sub: sub, training: sm.Training, inbound: refs, inShapes: inShapes}, nil
}

// inbound resolves the values a layer (or nested model) called name reads.
func (pl *planner) inbound(name string, ins []string, producer map[string]kRef) ([]kRef, [][]int, error) {
	if len(ins) == 0 {
		return nil, nil, fmt.Errorf("keras: layer %q has no inputs", name)
	}
	var refs []kRef
	var shapes [][]int
	for _, in := range ins {
		r, ok := producer[in]
		if !ok {
			return nil, nil, fmt.Errorf("keras: layer %q reads %q, which no layer or input of its model produces", name, in)
		}
		refs = append(refs, r)
		var shape []int
		if v := pl.shapes[in]; v != nil {
			shape = slices.Clone(v.Shape)
		}
		shapes = append(shapes, shape)
	}
	return refs, shapes, nil
}

// stateRole reports whether the layer's weight called role is state, not a
// trainable weight (BatchNormalization's moving statistics).
func stateRole(l *model.Layer, role string) bool {
	p := l.Param(role)
	if p == nil {
		p = l.Param(roleAliases[role])
	}
	return p != nil && p.State
}

// kerasOrder puts a functional model's layers in the order Keras's
// model.layers has after loading: Keras rebuilds a Functional model from
// its graph (keras-team/keras:keras/src/ops/function.py map_graph, the same
// as tf.keras 2's _map_graph_network) and orders the layers by depth (a
// node's depth is the longest path from it to an output; a layer's, the
// largest of its nodes'), deepest first, ties by the order a depth-first
// walk from the outputs (inputs in call order) first meets them. Both
// loaders give weights to layers in that order (.h5 by position among the
// layers with weights, .keras by class-name counters), so a file whose
// layers are listed in another order (an ONNX graph's branches in node
// order) loads with weights swapped. Layers from a Keras file are already
// in this order.
func (p *plan) kerasOrder() {
	byName := map[string]*kLayer{}
	for _, k := range p.layers {
		byName[k.name] = k
	}
	type node struct {
		layer string
		index int
	}
	parents := func(n node) []kRef {
		k := byName[n.layer]
		switch {
		case k == nil:
			return nil
		case n.index == 0:
			return k.inbound
		case n.index-1 < len(k.more):
			return k.more[n.index-1].inbound
		}
		return nil
	}
	index := map[string]int{}
	finished := map[node]bool{}
	var post []node
	var visit func(n node)
	visit = func(n node) {
		if finished[n] || byName[n.layer] == nil {
			return
		}
		if _, ok := index[n.layer]; !ok {
			index[n.layer] = len(index)
		}
		for _, r := range parents(n) {
			visit(node{r.layer, r.node})
		}
		finished[n] = true
		post = append(post, n)
	}
	for _, o := range p.outputs {
		visit(node{o.layer, o.node})
	}
	nodeDepth := map[node]int{}
	depth := map[string]int{}
	for i := len(post) - 1; i >= 0; i-- {
		n := post[i]
		d := max(nodeDepth[n], depth[n.layer])
		depth[n.layer], nodeDepth[n] = d, d
		for _, r := range parents(n) {
			pn := node{r.layer, r.node}
			nodeDepth[pn] = max(nodeDepth[pn], d+1)
		}
	}
	// An InputLayer no output depends on has depth 0 and comes first among
	// depth 0 (Keras gives it index -1); other layers no output depends on
	// (Keras would drop them) go last, in their order.
	pos := map[*kLayer]int{}
	for i, k := range p.layers {
		pos[k] = i
	}
	rank := func(k *kLayer) (int, int) {
		if i, ok := index[k.name]; ok {
			return depth[k.name], i
		}
		if k.input {
			return 0, -1
		}
		return -1, len(index) + pos[k]
	}
	slices.SortStableFunc(p.layers, func(a, b *kLayer) int {
		da, ia := rank(a)
		db, ib := rank(b)
		if da != db {
			return db - da
		}
		return ia - ib
	})
}

// isChain reports whether the level scope with these items, inputs and outputs is
// a Keras Sequential stack: one input, one output, each entry reading
// exactly the previous entry's output.
func isChain(m *model.Model, scope string, items []model.Item, ins, outs []string) bool {
	if len(ins) != 1 || len(outs) != 1 {
		return false
	}
	prev := ins[0]
	for _, it := range items {
		var in, out []string
		if it.Sub != nil {
			in, out = it.Sub.Inputs, it.Sub.Outputs
		} else {
			if it.Layer.Kind == "InputLayer" {
				continue
			}
			in, out = it.Layer.Inputs, it.Layer.Outputs
		}
		if len(in) != 1 || in[0] != prev || len(out) != 1 {
			return false
		}
		prev = out[0]
	}
	for _, l := range m.Layers {
		if l.Scope == scope && l.Shares != "" {
			return false // a shared layer called twice is not a chain
		}
	}
	return prev == outs[0]
}

// inputLayerName names the InputLayer added for graph input v: the input's
// own name when it is a usable Keras layer name, else "input_1", "input_2"...
func inputLayerName(v string, used map[string]bool) string {
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

// roleAliases maps a weight name to another generation's name for it:
// Keras 3 calls DepthwiseConv2D's kernel "kernel", tf.keras 2
// "depthwise_kernel" (the name written in .h5 weight_names).
var roleAliases = map[string]string{"depthwise_kernel": "kernel"}

// orderedWeights returns the layer's params in Keras's weight order.
func orderedWeights(l *model.Layer) ([]kWeight, error) {
	order, ok := layers.KerasWeightOrder(l.Kind)
	if !ok {
		// A kind without a table: keep the order the params were read in.
		ws := make([]kWeight, len(l.Params))
		for i, p := range l.Params {
			if p.Role == "" {
				return nil, fmt.Errorf("keras: layer %q (%s): param %q has no Keras weight name (Role)", l.Name, l.Kind, p.Name)
			}
			ws[i] = kWeight{role: p.Role, shape: slices.Clone(p.Shape), data: p.Data, integer: layers.KerasIntWeight(l.Kind, p.Role)}
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
			ws = append(ws, kWeight{role: role, shape: slices.Clone(p.Shape), data: p.Data, integer: layers.KerasIntWeight(l.Kind, role)})
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

// convertLayer turns a model layer into a Keras layer from its Keras
// config; a layer without one (ONNX-origin) is refused: package
// channelslast rewrites such models as Keras layers first.
func convertLayer(l *model.Layer, shapes map[string]*model.Value, opset int) (*kLayer, error) {
	name := model.LocalName(l.Name)
	if !validName(name) {
		return nil, fmt.Errorf("keras: layer %q: not a usable Keras layer name (printable ASCII without '/' or ':')", l.Name)
	}
	if layers.IsOperation(l.Kind) || l.Kind == "TFOpLambda" {
		return opLayer(l)
	}
	if len(l.Config) == 0 {
		kind := l.Kind
		if kind == "" && len(l.Nodes) > 0 {
			kind = l.Nodes[0].Op
		}
		return nil, fmt.Errorf("keras: %w: layer %q (%s) has no Keras config (an ONNX-origin layer): convert the model with channelslast.Convert "+
			"(formats.ToKeras, what xfer export does), which rewrites ONNX layers as Keras layers", model.ErrUnsupported, l.Name, kind)
	}
	cfg, err := pyjson.ParseObj(l.Config)
	if err != nil {
		return nil, fmt.Errorf("keras: layer %q (%s): config: %w", l.Name, l.Kind, err)
	}
	if l.Kind == "" || strings.ContainsAny(l.Kind, "/ ") {
		return nil, fmt.Errorf("keras: layer %q: kind %q is not a Keras class name", l.Name, l.Kind)
	}
	cfg.Set("name", name)
	cfg.SetAfter("name", "trainable", l.Trainable)
	ws, err := orderedWeights(l)
	if err != nil {
		return nil, err
	}
	k := &kLayer{name: name, class: l.Kind, cfg: cfg, weights: ws}
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
	switch act := strings.ToLower(k.cfg.Str("activation")); act {
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
	// Recurrent layers: the HardSigmoid among an ONNX RNN/GRU/LSTM node's
	// activations tells its generation by its alpha.
	for _, n := range l.Nodes {
		for _, a := range recurrentHardSigmoids(n) {
			if math.Abs(float64(a)-1.0/6) < 1e-6 {
				k.keras3Only = "hard_sigmoid"
			} else {
				k.keras2Only = "hard_sigmoid"
			}
		}
	}
}

// recurrentHardSigmoids returns the alphas of the HardSigmoid activations
// of an ONNX RNN, GRU or LSTM node. Its activation_alpha list is consumed
// in order by the functions that take an alpha (ONNX Runtime's reading:
// Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu).
func recurrentHardSigmoids(n *model.Node) []float32 {
	if n.Op != "LSTM" && n.Op != "GRU" && n.Op != "RNN" {
		return nil
	}
	alphas := n.AttrFloats("activation_alpha", nil)
	var out []float32
	i := 0
	for _, f := range n.AttrStrings("activations", nil) {
		switch f {
		case "HardSigmoid":
			a := float32(0.2) // ONNX's default alpha
			if i < len(alphas) {
				a = alphas[i]
			}
			out = append(out, a)
			i++
		case "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "Elu":
			i++
		}
	}
	return out
}

// checkGeneration refuses layers whose activation means something else (or
// nothing) in the Keras generation being written.
func (p *plan) checkGeneration(d dialect) error {
	for _, k := range p.layers {
		if k.sub != nil {
			if err := k.sub.checkGeneration(d); err != nil {
				return err
			}
			continue
		}
		if d == tf2 && k.keras3Only != "" {
			return fmt.Errorf("keras: %w: layer %q: activation %s has its Keras 3 meaning here, which tf.keras 2 does not have; write a .keras file instead", model.ErrUnsupported, k.name, k.keras3Only)
		}
		if d == k3 && k.keras2Only != "" {
			return fmt.Errorf("keras: %w: layer %q: activation %s has its Keras 2 meaning (clip(0.2x + 0.5, 0, 1)) here, which Keras 3 redefined as relu6(x + 3)/6; write a .h5 file instead", model.ErrUnsupported, k.name, k.keras2Only)
		}
	}
	return nil
}
