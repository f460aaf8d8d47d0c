package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/xferml/xfer/internal/onnxmeta"
	"github.com/xferml/xfer/model"
)

// group is a run of consecutive nodes that becomes one layer.
type group struct {
	name      string
	kind      string
	nodes     []*model.Node
	roles     map[string]string // initializer name -> role
	state     map[string]bool   // initializer name -> BatchNormalization moving stat
	trainable bool
	config    json.RawMessage
	inputs    []string // from metadata; nil means computed
	outputs   []string
	meta      map[string]onnxmeta.Param
	consts    map[string]bool // initializers the metadata says are consts
	fromMeta  bool
	scope     string // model.Layer.Scope, from metadata
	shares    string // model.Layer.Shares, from metadata
}

// activationOps are the ops folded into a preceding Dense or Conv layer
// (Keras's activation argument).
var activationOps = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Elu": true, "Selu": true, "Sigmoid": true,
	"HardSigmoid": true, "Tanh": true, "Softmax": true, "LogSoftmax": true,
	"Softplus": true, "Softsign": true, "Gelu": true, "HardSwish": true, "Mish": true,
	"Celu": true, "ThresholdedRelu": true,
}

// nonWeightSlots lists, per op, the input positions that hold settings
// rather than weights: a float initializer read only there is a const.
var nonWeightSlots = map[string][]int{
	"Clip": {1, 2}, "Pad": {1, 2, 3}, "Reshape": {1}, "Dropout": {1, 2},
	"Resize": {1, 2, 3}, "Upsample": {1}, "Expand": {1}, "Tile": {1},
	"Slice": {1, 2, 3, 4}, "Squeeze": {1}, "Unsqueeze": {1}, "ReduceMean": {1},
	"ReduceSum": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "Pow": {1},
}

// groupNodes groups r.nodes into layers by pattern (see the package doc).
func (r *reader) groupNodes(graphOutputs []string) []*group {
	consumers := map[string]int{}
	for _, n := range r.nodes {
		for _, in := range n.Inputs {
			consumers[in]++
		}
	}
	for _, o := range graphOutputs {
		consumers[o]++
	}
	isFloatInit := func(name string, rank int) bool {
		t, ok := r.inits[name]
		return ok && t.DType == model.Float32 && (rank < 0 || len(t.Shape) == rank)
	}
	// next reports whether node i+1 exists and reads the sole use of value v.
	next := func(i int, v string) *model.Node {
		if i+1 >= len(r.nodes) || consumers[v] != 1 {
			return nil
		}
		n := r.nodes[i+1]
		for _, in := range n.Inputs {
			if in == v {
				return n
			}
		}
		return nil
	}
	var groups []*group
	for i := 0; i < len(r.nodes); i++ {
		n := r.nodes[i]
		g := &group{kind: n.Op, nodes: []*model.Node{n}, roles: map[string]string{}, state: map[string]bool{}, trainable: true}
		weight := ""
		withAct := false
		switch n.Op {
		case "Gemm":
			if len(n.Inputs) >= 2 && isFloatInit(n.Inputs[1], 2) {
				g.kind, weight, withAct = "Dense", n.Inputs[1], true
				g.roles[n.Inputs[1]] = "kernel"
				if len(n.Inputs) > 2 && isFloatInit(n.Inputs[2], -1) {
					g.roles[n.Inputs[2]] = "bias"
				}
			}
		case "MatMul":
			if len(n.Inputs) == 2 && isFloatInit(n.Inputs[1], 2) {
				g.kind, weight, withAct = "Dense", n.Inputs[1], true
				g.roles[n.Inputs[1]] = "kernel"
				if add := next(i, n.Outputs[0]); add != nil && add.Op == "Add" && len(add.Inputs) == 2 {
					b := add.Inputs[1]
					if b == n.Outputs[0] {
						b = add.Inputs[0]
					}
					if isFloatInit(b, 1) && b != n.Outputs[0] {
						g.roles[b] = "bias"
						g.nodes = append(g.nodes, add)
						i++
					}
				}
			}
		case "Conv":
			if len(n.Inputs) >= 2 && isFloatInit(n.Inputs[1], -1) {
				g.kind, weight, withAct = "Conv", n.Inputs[1], true
				g.roles[n.Inputs[1]] = "kernel"
				if len(n.Inputs) > 2 && isFloatInit(n.Inputs[2], 1) {
					g.roles[n.Inputs[2]] = "bias"
				}
			}
		case "BatchNormalization":
			for k, role := range []string{"gamma", "beta", "moving_mean", "moving_variance"} {
				if k+1 < len(n.Inputs) && isFloatInit(n.Inputs[k+1], 1) {
					g.roles[n.Inputs[k+1]] = role
					g.state[n.Inputs[k+1]] = k >= 2
					if k == 0 {
						weight = n.Inputs[k+1]
					}
				}
			}
		case "PRelu":
			if len(n.Inputs) == 2 && isFloatInit(n.Inputs[1], -1) {
				g.roles[n.Inputs[1]] = "alpha"
				weight = n.Inputs[1]
			}
		}
		if withAct {
			last := g.nodes[len(g.nodes)-1]
			if len(last.Outputs) > 0 {
				if act := next(i, last.Outputs[0]); act != nil && activationOps[act.Op] && act.Inputs[0] == last.Outputs[0] {
					g.nodes = append(g.nodes, act)
					i++
				}
			}
		}
		g.name = layerName(weight, n)
		groups = append(groups, g)
	}
	return groups
}

// layerName derives a layer name from the weight initializer (PyTorch
// "dense.weight" -> "dense") or else the node name (PyTorch "/dense/Gemm"
// -> "dense"), else the op type.
func layerName(weight string, n *model.Node) string {
	for _, suf := range []string{".weight", ".bias", "/kernel:0", "/kernel", "_weight", ".W"} {
		if p, ok := strings.CutSuffix(weight, suf); ok && sanitize(p) != "" {
			return sanitize(p)
		}
	}
	name := strings.TrimPrefix(n.Name, "/")
	name = strings.TrimSuffix(name, "/"+n.Op)
	if s := sanitize(name); s != "" {
		return s
	}
	return strings.ToLower(n.Op)
}

// sanitize keeps letters, digits, '_', '.' and '-' (names Keras and HDF5
// accept as layer names) and maps anything else to '_'.
func sanitize(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), "_.")
}

// groupsFromMeta rebuilds the grouping that exporters/onnx recorded. It
// returns nil, nil when there is none, and an error when it does not match
// the graph (the caller then groups by pattern).
func (r *reader) groupsFromMeta(props map[string]string) ([]*group, error) {
	s, ok := props[onnxmeta.KeyLayers]
	if !ok {
		return nil, nil
	}
	var ls []onnxmeta.Layer
	if err := json.Unmarshal([]byte(s), &ls); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", onnxmeta.KeyLayers, err)
	}
	byName := map[string]*model.Node{}
	for _, n := range r.nodes {
		if n.Name == "" {
			return nil, errors.New("a node has no name")
		}
		if _, dup := byName[n.Name]; dup {
			return nil, fmt.Errorf("two nodes are called %q", n.Name)
		}
		byName[n.Name] = n
	}
	used := map[string]bool{}
	var groups []*group
	for _, l := range ls {
		g := &group{name: l.Name, kind: l.Kind, trainable: l.Trainable, config: l.Config,
			inputs: l.Inputs, outputs: l.Outputs, roles: map[string]string{}, state: map[string]bool{},
			meta: map[string]onnxmeta.Param{}, consts: map[string]bool{}, fromMeta: true, scope: l.Scope, shares: l.Shares}
		for _, nn := range l.Nodes {
			n, ok := byName[nn]
			if !ok || used[nn] {
				return nil, fmt.Errorf("layer %q: node %q is missing or listed twice", l.Name, nn)
			}
			used[nn] = true
			g.nodes = append(g.nodes, n)
		}
		for _, p := range l.Params {
			if _, ok := r.inits[p.Name]; !ok {
				return nil, fmt.Errorf("layer %q: param %q is not an initializer", l.Name, p.Name)
			}
			g.meta[p.Name] = p
			g.roles[p.Name] = p.Role
			g.state[p.Name] = p.State
		}
		for _, c := range l.Consts {
			g.consts[c] = true
		}
		groups = append(groups, g)
	}
	if len(used) != len(r.nodes) {
		return nil, fmt.Errorf("%d nodes are in no layer", len(r.nodes)-len(used))
	}
	// Layers must list nodes in graph order for the model to validate.
	pos := map[*model.Node]int{}
	for i, n := range r.nodes {
		pos[n] = i
	}
	last := -1
	for _, g := range groups {
		for _, n := range g.nodes {
			if pos[n] < last {
				return nil, fmt.Errorf("layer %q: node %q is out of graph order", g.name, n.Name)
			}
			last = pos[n]
		}
	}
	return groups, nil
}

// build turns groups into layers: unique names, initializers owned by the
// first layer that reads them, params renamed "<layer>/<role>", inputs and
// outputs computed from the values that cross layer boundaries.
func (r *reader) build(m *model.Model, groups []*group) error {
	// Which float initializers are params.
	weightUse := map[string]bool{}
	for _, n := range r.nodes {
		skip := map[int]bool{}
		for _, k := range nonWeightSlots[n.Op] {
			skip[k] = true
		}
		for k, in := range n.Inputs {
			if !skip[k] {
				weightUse[in] = true
			}
		}
	}
	taken := map[string]bool{}
	rename := map[string]string{}
	owned := map[string]bool{}
	for _, g := range groups {
		if !g.fromMeta {
			base := g.name
			for k := 1; taken[g.name]; k++ {
				g.name = fmt.Sprintf("%s_%d", base, k)
			}
		} else if taken[g.name] {
			return fmt.Errorf("%s: %w: metadata lists layer %q twice", r.where, ErrFormat, g.name)
		}
		taken[g.name] = true
		l := &model.Layer{Name: g.name, Kind: g.kind, Trainable: g.trainable, Config: g.config, Scope: g.scope, Shares: g.shares}
		for _, n := range g.nodes {
			for _, in := range n.Inputs {
				t, ok := r.inits[in]
				if !ok || owned[in] {
					continue
				}
				owned[in] = true
				isParam := t.DType == model.Float32 && !g.consts[in] && !r.constant[in] &&
					(g.roles[in] != "" || (weightUse[in] && len(t.F32) > 1) || g.fromMeta && g.meta[in].Name != "")
				if !isParam {
					l.Consts = append(l.Consts, t)
					continue
				}
				p := &model.Param{Name: in, Role: g.roles[in], Shape: t.Shape, Data: t.F32, State: g.state[in]}
				if mp, ok := g.meta[in]; ok {
					p.Init = mp.Init
				}
				if !g.fromMeta {
					if p.Role == "" {
						p.Role = roleFromName(in)
					} else if _, clash := r.inits[g.name+"/"+p.Role]; !clash {
						p.Name = g.name + "/" + p.Role
						rename[in] = p.Name
					}
				}
				p.Trainable = l.Trainable && !p.State
				l.Params = append(l.Params, p)
			}
		}
		l.Nodes = g.nodes
		m.Layers = append(m.Layers, l)
	}
	for k, v := range rename {
		if _, clash := r.inits[v]; clash {
			return fmt.Errorf("%s: %w: cannot rename param %q to %q", r.where, ErrFormat, k, v)
		}
	}
	// Apply renames and name unnamed nodes "<layer>/<Op>".
	for _, l := range m.Layers {
		names := map[string]bool{}
		for _, n := range l.Nodes {
			for k, in := range n.Inputs {
				if v, ok := rename[in]; ok {
					n.Inputs[k] = v
				}
			}
			if n.Name == "" {
				base := l.Name + "/" + n.Op
				n.Name = base
				for k := 1; names[n.Name]; k++ {
					n.Name = fmt.Sprintf("%s_%d", base, k)
				}
			}
			names[n.Name] = true
		}
	}
	// Layer boundaries.
	producedIn := map[string]int{} // value -> layer index producing or owning it
	for i, l := range m.Layers {
		for _, p := range l.Params {
			producedIn[p.Name] = i
		}
		for _, t := range l.Consts {
			producedIn[t.Name] = i
		}
		for _, n := range l.Nodes {
			for _, o := range n.Outputs {
				if o != "" {
					producedIn[o] = i
				}
			}
		}
	}
	usedLater := map[string]bool{}
	for _, o := range m.Outputs {
		usedLater[o] = true
	}
	for i, l := range m.Layers {
		seen := map[string]bool{}
		for _, n := range l.Nodes {
			for _, in := range n.Inputs {
				if in == "" || seen[in] {
					continue
				}
				seen[in] = true
				if l.Shares != "" && ownedBy(m.Layers, in, l.Shares) {
					continue // a shared layer's call site reads its owner's params
				}
				if p, ok := producedIn[in]; !ok || p != i {
					l.Inputs = append(l.Inputs, in)
					usedLater[in] = true
				}
			}
		}
	}
	for i, l := range m.Layers {
		g := groups[i]
		if g.fromMeta && len(g.nodes) == 0 {
			l.Inputs, l.Outputs = g.inputs, g.outputs
			continue
		}
		for _, n := range l.Nodes {
			for _, o := range n.Outputs {
				if o != "" && usedLater[o] {
					l.Outputs = append(l.Outputs, o)
				}
			}
		}
		if len(l.Outputs) == 0 && len(l.Nodes) > 0 {
			last := l.Nodes[len(l.Nodes)-1]
			if len(last.Outputs) > 0 && last.Outputs[0] != "" {
				l.Outputs = []string{last.Outputs[0]}
			}
		}
	}
	return nil
}

// ownedBy reports whether value v is a param or const of the layer called
// owner.
func ownedBy(ls []*model.Layer, v, owner string) bool {
	for _, l := range ls {
		if l.Name != owner {
			continue
		}
		for _, p := range l.Params {
			if p.Name == v {
				return true
			}
		}
		for _, t := range l.Consts {
			if t.Name == v {
				return true
			}
		}
	}
	return false
}

// roleFromName is the last component of an initializer name
// ("features.0.weight" -> "weight").
func roleFromName(name string) string {
	if i := strings.LastIndexAny(name, "./:"); i >= 0 && i+1 < len(name) {
		name = name[i+1:]
	}
	if s := sanitize(name); s != "" {
		return s
	}
	return "weight"
}
