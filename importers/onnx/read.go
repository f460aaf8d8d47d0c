package onnx

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/internal/onnxmeta"
	"github.com/xferml/xfer/model"
)

// Supported range of the default-domain opset (issue 3: opsets 7 to 21;
// issue 11: opsets 1 to 6 too, their ops' old versions in the engine).
const (
	MinOpset = 1
	MaxOpset = 21
	// minIRVersion: IR 3 is the first with opset_import (onnx/docs/Versioning.md).
	minIRVersion = 3
	// maxProto is protobuf's limit on a serialised message, 2 GiB
	// (onnx/docs/ExternalData.md).
	maxProto = 2 << 30
)

// ReadFile reads the ONNX model at path. Meta["source"] is set to path.
func ReadFile(path string) (*model.Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if st.Size() > maxProto {
		return nil, fmt.Errorf("onnx: %s: %w: %d bytes; a protobuf message is at most 2 GiB (models beyond that keep their weights in external data files, which xfer does not read)", path, ErrFormat, st.Size())
	}
	// Decoding holds the file and the tensors decoded from it.
	if err := limits.Check(path, st.Size(), 2); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m, err := Read(data, path)
	if err != nil {
		return nil, err
	}
	m.Meta["source"] = path
	return m, nil
}

// Read decodes a serialised ONNX ModelProto. name (a file name, or any label)
// is used in error messages and as the model name when the graph has none.
// The returned model has been validated (model.Validate).
func Read(data []byte, name string) (*model.Model, error) {
	where := fmt.Sprintf("onnx: %s", name)
	var mp pb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("%s: %w: the bytes do not decode as an ONNX ModelProto (truncated, or another format?): %w", where, ErrFormat, err)
	}
	if mp.GetIrVersion() < minIRVersion {
		return nil, fmt.Errorf("%s: %w ONNX feature: IR version %d; xfer reads IR version %d or later (is this an ONNX file?)", where, model.ErrUnsupported, mp.GetIrVersion(), minIRVersion)
	}
	opset := int64(-1)
	for _, o := range mp.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			opset = o.GetVersion()
		}
	}
	if opset < 0 {
		return nil, fmt.Errorf("%s: %w: no opset for the default ONNX domain in opset_import", where, ErrFormat)
	}
	g := mp.GetGraph()
	if opset < 1 || opset > MaxOpset {
		return nil, fmt.Errorf("%s: %w ONNX feature: opset %d; xfer reads opsets %d to %d (convert it with onnx.version_converter)", where, model.ErrUnsupported, opset, MinOpset, MaxOpset)
	}
	if g == nil {
		return nil, fmt.Errorf("%s: %w: model has no graph", where, ErrFormat)
	}
	props := map[string]string{}
	for _, p := range mp.GetMetadataProps() {
		props[p.GetKey()] = p.GetValue()
	}
	r := &reader{where: where, opset: int(opset), inits: map[string]*model.Tensor{}}
	m, err := r.graph(g, props)
	if err != nil {
		return nil, err
	}
	if m.Name == "" {
		m.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	if m.Meta["producer"] == "" && mp.GetProducerName() != "" {
		m.Meta["producer"] = strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion())
	}
	m.Meta["format"] = "onnx"
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return m, nil
}

// reader holds the state of one import.
type reader struct {
	where string
	opset int
	inits map[string]*model.Tensor // initializers and folded Constant outputs
	// constant marks r.inits entries that came from Constant nodes: they
	// are consts, never (trainable) params.
	constant map[string]bool
	// graphOut holds the graph's output names (an Identity producing one
	// stays a node).
	graphOut map[string]bool
	nodes    []*model.Node
}

func (r *reader) graph(g *pb.GraphProto, props map[string]string) (*model.Model, error) {
	m := &model.Model{Name: g.GetName(), Opset: r.opset, Meta: map[string]string{}}
	if len(g.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("%s: %w ONNX feature: sparse initializers (%q) are not supported", r.where, model.ErrUnsupported, g.GetSparseInitializer()[0].GetValues().GetName())
	}
	for _, tp := range g.GetInitializer() {
		t, err := TensorFromProto(tp)
		if err != nil {
			return nil, fmt.Errorf("%s: initializer: %w", r.where, err)
		}
		if t.Name == "" {
			return nil, fmt.Errorf("%s: %w: an initializer has no name", r.where, ErrFormat)
		}
		if _, dup := r.inits[t.Name]; dup {
			return nil, fmt.Errorf("%s: %w: two initializers are called %q", r.where, ErrFormat, t.Name)
		}
		r.inits[t.Name] = t
	}
	for _, vi := range g.GetInput() {
		if _, ok := r.inits[vi.GetName()]; ok {
			continue // an initializer listed as input (IR < 4) or overridable: not a model input
		}
		v, err := r.value(vi)
		if err != nil {
			return nil, err
		}
		m.Inputs = append(m.Inputs, v)
	}
	r.graphOut = map[string]bool{}
	for _, vi := range g.GetOutput() {
		r.graphOut[vi.GetName()] = true
	}
	if r.constant == nil {
		r.constant = map[string]bool{}
	}
	for i, np := range g.GetNode() {
		n, err := r.node(i, np)
		if err != nil {
			return nil, err
		}
		if n != nil {
			r.nodes = append(r.nodes, n)
		}
	}
	for _, vi := range g.GetOutput() {
		if vi.GetName() == "" {
			return nil, fmt.Errorf("%s: %w: a graph output has no name", r.where, ErrFormat)
		}
		if _, ok := r.inits[vi.GetName()]; ok {
			return nil, fmt.Errorf("%s: %w ONNX feature: graph output %q is a constant; xfer needs outputs computed by nodes", r.where, model.ErrUnsupported, vi.GetName())
		}
		m.Outputs = append(m.Outputs, vi.GetName())
	}
	if err := r.sort(m); err != nil {
		return nil, err
	}
	groups, err := r.groupsFromMeta(props)
	if err != nil {
		m.Meta["xfer.layers_ignored"] = err.Error()
		groups = nil
	}
	if groups == nil {
		groups = r.groupNodes(m.Outputs)
		// Nesting and sharing are recorded against the recorded layers.
		delete(props, onnxmeta.KeySubmodels)
	}
	if err := r.build(m, groups); err != nil {
		return nil, err
	}
	if err := applyProps(m, props); err != nil {
		return nil, fmt.Errorf("%s: %w", r.where, err)
	}
	if _, ok := props[onnxmeta.KeyLayers]; !ok {
		// A foreign file: a plain chain of layers is what Keras calls a
		// Sequential model, so a Keras export keeps its layer numbering.
		m.Sequential = isChain(m)
	}
	return m, nil
}

// isChain reports whether m has one input and one output and each layer
// reads exactly the previous layer's single output (the first, the input).
func isChain(m *model.Model) bool {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 || len(m.Layers) == 0 {
		return false
	}
	prev := m.Inputs[0].Name
	for _, l := range m.Layers {
		if len(l.Inputs) != 1 || l.Inputs[0] != prev || len(l.Outputs) != 1 || len(l.Nodes) == 0 {
			return false
		}
		prev = l.Outputs[0]
	}
	return prev == m.Outputs[0]
}

// value converts a graph input's ValueInfo.
func (r *reader) value(vi *pb.ValueInfoProto) (*model.Value, error) {
	name := vi.GetName()
	if name == "" {
		return nil, fmt.Errorf("%s: %w: a graph input has no name", r.where, ErrFormat)
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return nil, fmt.Errorf("%s: graph input %q: %w ONNX feature: not a tensor (sequences, maps and optionals are not supported)", r.where, name, model.ErrUnsupported)
	}
	v := &model.Value{Name: name}
	dt, ok := model.DTypeFromONNX(int64(tt.GetElemType()))
	if !ok {
		return nil, fmt.Errorf("%s: graph input %q: %w ONNX feature: element type %s (xfer holds %s)", r.where, name, model.ErrUnsupported, dtypeName(tt.GetElemType()), model.DTypeNames())
	}
	v.DType = dt
	if tt.GetShape() == nil {
		return nil, fmt.Errorf("%s: graph input %q: %w ONNX feature: no shape (xfer needs the rank of every input)", r.where, name, model.ErrUnsupported)
	}
	for _, d := range tt.GetShape().GetDim() {
		switch x := d.GetValue().(type) {
		case *pb.TensorShapeProto_Dimension_DimValue:
			if x.DimValue < 0 || x.DimValue > 1<<31 {
				return nil, fmt.Errorf("%s: graph input %q: %w: dim %d", r.where, name, ErrFormat, x.DimValue)
			}
			v.Shape = append(v.Shape, int(x.DimValue))
		default:
			v.Shape = append(v.Shape, -1)
		}
	}
	return v, nil
}

// node converts a NodeProto; a Constant node is folded into r.inits and
// yields nil.
func (r *reader) node(i int, np *pb.NodeProto) (*model.Node, error) {
	where := fmt.Sprintf("%s: node %d %q (%s)", r.where, i, np.GetName(), np.GetOpType())
	if d := np.GetDomain(); d != "" && d != "ai.onnx" {
		return nil, fmt.Errorf("%s: %w ONNX feature: domain %q; xfer reads the default ONNX domain only", where, model.ErrUnsupported, d)
	}
	if np.GetOpType() == "" {
		return nil, fmt.Errorf("%s: %w: node has no op_type", where, ErrFormat)
	}
	// Optional outputs may be "" (an RNN asked only for Y_h), but a node
	// must produce something.
	if !slices.ContainsFunc(np.GetOutput(), func(o string) bool { return o != "" }) {
		return nil, fmt.Errorf("%s: %w: node has no output", where, ErrFormat)
	}
	n := &model.Node{Name: np.GetName(), Op: np.GetOpType(), Inputs: append([]string(nil), np.GetInput()...), Outputs: append([]string(nil), np.GetOutput()...)}
	for _, ap := range np.GetAttribute() {
		a, err := attr(ap)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if n.Attrs == nil {
			n.Attrs = map[string]model.Attr{}
		}
		n.Attrs[ap.GetName()] = a
	}
	if n.Op == "Identity" && len(n.Inputs) == 1 && len(n.Outputs) == 1 && !r.graphOut[n.Outputs[0]] {
		// torch.onnx.export deduplicates equal constants and gives each
		// further use an Identity of the first: fold it into a copy, so the
		// value is an initializer of the layer that reads it.
		if t, ok := r.inits[n.Inputs[0]]; ok {
			if _, dup := r.inits[n.Outputs[0]]; dup {
				return nil, fmt.Errorf("%s: %w: value %q is defined twice", where, ErrFormat, n.Outputs[0])
			}
			c := &model.Tensor{Name: n.Outputs[0], DType: t.DType, Shape: slices.Clone(t.Shape), F32: slices.Clone(t.F32), I64: slices.Clone(t.I64)}
			r.inits[c.Name] = c
			if r.constant[t.Name] {
				r.constant[c.Name] = true
			}
			return nil, nil
		}
	}
	if n.Op != "Constant" {
		return n, nil
	}
	if len(n.Outputs) != 1 || n.Outputs[0] == "" {
		return nil, fmt.Errorf("%s: %w: Constant needs one output", where, ErrFormat)
	}
	t, err := constantValue(n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	t.Name = n.Outputs[0]
	if _, dup := r.inits[t.Name]; dup {
		return nil, fmt.Errorf("%s: %w: value %q is defined twice", where, ErrFormat, t.Name)
	}
	r.inits[t.Name] = t
	if r.constant == nil {
		r.constant = map[string]bool{}
	}
	r.constant[t.Name] = true
	return nil, nil
}

// constantValue returns the tensor a Constant node produces.
func constantValue(n *model.Node) (*model.Tensor, error) {
	if len(n.Attrs) != 1 {
		return nil, fmt.Errorf("%w: Constant needs exactly one value attribute, has %d", ErrFormat, len(n.Attrs))
	}
	for k, a := range n.Attrs {
		switch {
		case k == "value" && a.Kind == model.AttrTensor:
			return a.Tensor, nil
		case k == "value_float" && a.Kind == model.AttrFloat:
			return &model.Tensor{DType: model.Float32, Shape: []int{}, F32: []float32{a.Float}}, nil
		case k == "value_floats" && a.Kind == model.AttrFloats:
			return &model.Tensor{DType: model.Float32, Shape: []int{len(a.Floats)}, F32: append([]float32{}, a.Floats...)}, nil
		case k == "value_int" && a.Kind == model.AttrInt:
			return &model.Tensor{DType: model.Int64, Shape: []int{}, I64: []int64{a.Int}}, nil
		case k == "value_ints" && a.Kind == model.AttrInts:
			return &model.Tensor{DType: model.Int64, Shape: []int{len(a.Ints)}, I64: append([]int64{}, a.Ints...)}, nil
		}
		return nil, fmt.Errorf("%w ONNX feature: Constant attribute %q (xfer reads value, value_float(s), value_int(s))", model.ErrUnsupported, k)
	}
	panic("unreachable")
}

// attr converts an attribute. Graphs and sparse tensors are refused.
func attr(ap *pb.AttributeProto) (model.Attr, error) {
	name := ap.GetName()
	switch ap.GetType() {
	case pb.AttributeProto_FLOAT:
		return model.Float(ap.GetF()), nil
	case pb.AttributeProto_INT:
		return model.Int(ap.GetI()), nil
	case pb.AttributeProto_STRING:
		return model.String(string(ap.GetS())), nil
	case pb.AttributeProto_FLOATS:
		return model.Floats(append([]float32{}, ap.GetFloats()...)...), nil
	case pb.AttributeProto_INTS:
		return model.Ints(append([]int64{}, ap.GetInts()...)...), nil
	case pb.AttributeProto_STRINGS:
		var ss []string
		for _, s := range ap.GetStrings() {
			ss = append(ss, string(s))
		}
		return model.Strings(ss...), nil
	case pb.AttributeProto_TENSOR:
		if ap.GetT() == nil {
			return model.Attr{}, fmt.Errorf("attribute %q: %w: tensor attribute without a tensor", name, ErrFormat)
		}
		t, err := TensorFromProto(ap.GetT())
		if err != nil {
			return model.Attr{}, fmt.Errorf("attribute %q: %w", name, err)
		}
		return model.Attr{Kind: model.AttrTensor, Tensor: t}, nil
	}
	if ap.GetRefAttrName() != "" {
		return model.Attr{}, fmt.Errorf("attribute %q: %w ONNX feature: reference attributes belong to functions", name, model.ErrUnsupported)
	}
	return model.Attr{}, fmt.Errorf("attribute %q: %w ONNX feature: type %s (xfer reads float, int, string, floats, ints, strings and tensor attributes)", name, model.ErrUnsupported, ap.GetType())
}

// sort orders r.nodes topologically, keeping the file's order where it is
// already valid (ONNX requires it; some writers do not comply).
func (r *reader) sort(m *model.Model) error {
	defined := map[string]bool{"": true}
	for _, v := range m.Inputs {
		defined[v.Name] = true
	}
	for k := range r.inits {
		defined[k] = true
	}
	done := make([]bool, len(r.nodes))
	out := make([]*model.Node, 0, len(r.nodes))
	for len(out) < len(r.nodes) {
		progress := false
		for i, n := range r.nodes {
			if done[i] {
				continue
			}
			ready := true
			for _, in := range n.Inputs {
				if !defined[in] {
					ready = false
					break
				}
			}
			if !ready {
				continue
			}
			done[i], progress = true, true
			out = append(out, n)
			for _, o := range n.Outputs {
				defined[o] = true
			}
		}
		if !progress {
			for i, n := range r.nodes {
				if done[i] {
					continue
				}
				for _, in := range n.Inputs {
					if !defined[in] {
						return fmt.Errorf("%s: %w: node %q (%s) reads %q, which no input, initializer or node produces (or the graph has a cycle)", r.where, ErrFormat, n.Name, n.Op, in)
					}
				}
			}
		}
	}
	r.nodes = out
	return nil
}

// applyProps restores trainable flags, history and metadata written by
// exporters/onnx.
func applyProps(m *model.Model, props map[string]string) error {
	if s, ok := props[onnxmeta.KeyMeta]; ok {
		var meta map[string]string
		if err := json.Unmarshal([]byte(s), &meta); err != nil {
			return fmt.Errorf("%w: metadata %s: %w", ErrFormat, onnxmeta.KeyMeta, err)
		}
		for k, v := range meta {
			if k == "source" || k == "format" {
				continue // this file's own; the first source is in "origin"
			}
			if _, set := m.Meta[k]; !set {
				m.Meta[k] = v
			}
		}
	}
	if s, ok := props[onnxmeta.KeySource]; ok {
		m.Meta["origin"] = s
	}
	if s, ok := props[onnxmeta.KeyHistory]; ok {
		if err := json.Unmarshal([]byte(s), &m.History); err != nil {
			return fmt.Errorf("%w: metadata %s: %w", ErrFormat, onnxmeta.KeyHistory, err)
		}
	}
	if props[onnxmeta.KeySequential] == "true" {
		m.Sequential = true
	}
	if s, ok := props[onnxmeta.KeyTrainable]; ok {
		var tr map[string]bool
		if err := json.Unmarshal([]byte(s), &tr); err != nil {
			return fmt.Errorf("%w: metadata %s: %w", ErrFormat, onnxmeta.KeyTrainable, err)
		}
		for _, l := range m.Layers {
			if on, ok := tr[l.Name]; ok {
				l.SetTrainable(on)
			}
		}
	}
	if s, ok := props[onnxmeta.KeySubmodels]; ok {
		var subs []onnxmeta.Submodel
		if err := json.Unmarshal([]byte(s), &subs); err != nil {
			return fmt.Errorf("%w: metadata %s: %w", ErrFormat, onnxmeta.KeySubmodels, err)
		}
		for _, s := range subs {
			m.Submodels = append(m.Submodels, &model.Submodel{Name: s.Name, Kind: s.Kind, Trainable: s.Trainable,
				Training: s.Training, Inputs: s.Inputs, Outputs: s.Outputs, Config: s.Config})
		}
	}
	m.SyncTrainable()
	return nil
}
