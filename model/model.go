package model

import (
	"encoding/json"
	"errors"
	"fmt"
)

// DefaultOpset is the ONNX opset (default domain) whose semantics the nodes of
// Keras-origin and xfer-built models follow.
const DefaultOpset = 17

// Sentinel errors, for errors.Is.
var (
	// ErrInvalid reports a model that breaks an invariant of this package.
	ErrInvalid = errors.New("model: invalid")
	// ErrShape reports a shape that does not fit an operator.
	ErrShape = errors.New("model: shape mismatch")
	// ErrUnsupported reports valid input that uses something xfer does not
	// implement: a layer class, an ONNX op, opset or attribute value, an
	// element type, an HDF5 feature, a model structure an operation cannot
	// handle. It is the one such sentinel: every package (importers,
	// exporters, engine, finetune, surgery, tensorio, hdf5, dataset) wraps it
	// after its own prefix ("engine: unsupported: op Foo ..."), so that
	// errors.Is(err, model.ErrUnsupported) holds whichever reported it.
	ErrUnsupported = errors.New("unsupported")
)

// Model is a network: graph inputs, layers in order, graph outputs.
type Model struct {
	Name   string
	Opset  int      // ONNX default-domain opset of the nodes' semantics
	Inputs []*Value // graph inputs, batch first
	// Outputs names the values the model returns, in order.
	Outputs []string
	Layers  []*Layer
	// Sequential is true when the model came from (or will be written as) a
	// Keras Sequential model: one input, one output, a chain of layers.
	Sequential bool
	// Submodels are the Keras models nested in this one (a keras.applications
	// base inside a transfer model, a Sequential block inside a Functional
	// model), outer ones before the models they hold. Their layers are in
	// Layers, marked by Layer.Scope.
	Submodels []*Submodel
	// Meta holds free key/value metadata: provenance ("source", "format",
	// "keras_version", "producer"), kept across import and export.
	Meta map[string]string
	// History is the journal of operations applied to the model.
	History []Event
}

// Value describes a named tensor flowing through the graph.
type Value struct {
	Name  string
	DType DType
	Shape []int // -1 for an unknown dim (the batch dim of a graph input)
}

// Event is one entry of a model's history.
type Event struct {
	Op     string `json:"op"`               // e.g. "import", "drop-head"
	Args   string `json:"args,omitempty"`   // the command's arguments as typed
	Time   string `json:"time"`             // RFC 3339, UTC
	Before string `json:"before,omitempty"` // digest of the model before
	After  string `json:"after,omitempty"`  // digest of the model after
}

// Layer is a named group of nodes with the params they own.
type Layer struct {
	Name string
	// Kind is the Keras class name ("Dense", "Conv2D", "BatchNormalization")
	// or, for ONNX-origin groups with no Keras equivalent, the ONNX op type.
	Kind      string
	Inputs    []string
	Outputs   []string
	Nodes     []*Node
	Params    []*Param
	Consts    []*Tensor
	Trainable bool
	// Config is the layer's Keras config as read from the file (the "config"
	// object of the layer entry), or nil. Exporters start from it.
	Config json.RawMessage
	// Scope is the Name of the Submodel that holds the layer, "" for a layer
	// of the model itself. A scoped layer's Name is Scope + "/" + its name
	// inside that Keras model (Keras layer names never hold '/').
	Scope string
	// Shares names the layer that owns the params this layer's nodes read:
	// the layer is a further call of a Keras shared layer (one set of weights,
	// several call sites). It has no Params and no Config of its own; its
	// Kind, Scope and Trainable are its owner's. "" for an ordinary layer.
	// Call sites are named Owner + "@" + the call's index (1, 2, ...).
	Shares string
}

// Submodel is a Keras model nested in another and called as one layer. Its
// layers are the layers whose Scope is its Name or starts with its Name and
// "/"; they are contiguous in Model.Layers, so the nested model runs as one
// step of its parent, as Keras calls it.
type Submodel struct {
	// Name is the path of the nested model: its Keras layer name, prefixed by
	// its parent's Name and "/" when it is nested in another Submodel.
	Name string
	// Kind is the Keras class: "Functional" or "Sequential".
	Kind string
	// Trainable is the nested model's own flag (Keras's base.trainable). A
	// param trains only when its layer and every enclosing Submodel are
	// trainable.
	Trainable bool
	// Training is the training argument of the call, nil when the call does
	// not give one. A call with training=False runs every layer inside in
	// inference mode, even while the layers train: BatchNormalization uses its
	// moving statistics and does not update them, Dropout and noise layers
	// pass their input through (Keras's transfer-learning recipe).
	Training *bool
	// Inputs are the values the nested model is called on, in its input
	// order; Outputs the values the call returns, produced by its layers.
	Inputs  []string
	Outputs []string
	// Config is the nested model's Keras config without its "layers" list
	// (name, trainable, input and output layers, dtype...), or nil.
	Config json.RawMessage
}

// Param is a named float32 tensor owned by a layer.
type Param struct {
	Name  string // unique among values, e.g. "dense/kernel"
	Role  string // Keras weight name: kernel, bias, gamma, beta, moving_mean, moving_variance, alpha
	Shape []int
	Data  []float32
	// Trainable is the effective flag: Layer.Trainable && !State.
	Trainable bool
	// State marks non-trainable state that training updates (BatchNormalization
	// moving statistics).
	State bool
	// Init says how to draw the param anew; nil when unknown.
	Init *Initializer
}

// Initializer names a Keras initializer and its config.
type Initializer struct {
	// Name is the Keras name in snake case ("glorot_uniform", "zeros") or, for a
	// custom function, the name the file gives.
	Name string
	// Config is the initializer's config object (seed, scale, mode, ...), or nil.
	Config json.RawMessage
}

// Tensor is data with a shape. Its values live in F32 when DType.IsFloat()
// (float32, and float16, bfloat16 and float64 held as float32) and in I64
// otherwise (every integer type and bool, held as int64); the other field
// is nil. See dtype.go.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	F32   []float32
	I64   []int64
}

// Node is one ONNX operator.
type Node struct {
	Name    string
	Op      string // ONNX op type, e.g. "Gemm"
	Inputs  []string
	Outputs []string
	Attrs   map[string]Attr
}

// AttrKind tells which field of an Attr is set.
type AttrKind int

// Attribute kinds, as in ONNX's AttributeProto.
const (
	AttrInt AttrKind = iota + 1
	AttrFloat
	AttrString
	AttrInts
	AttrFloats
	AttrTensor
	AttrStrings // RNN/GRU/LSTM activations
)

// Attr is an ONNX attribute value.
type Attr struct {
	Kind    AttrKind
	Int     int64
	Float   float32
	String  string
	Ints    []int64
	Floats  []float32
	Tensor  *Tensor
	Strings []string
}

// Int returns an integer attribute.
func Int(v int64) Attr { return Attr{Kind: AttrInt, Int: v} }

// Float returns a float attribute.
func Float(v float32) Attr { return Attr{Kind: AttrFloat, Float: v} }

// String returns a string attribute.
func String(v string) Attr { return Attr{Kind: AttrString, String: v} }

// Ints returns an integer-list attribute.
func Ints(v ...int64) Attr { return Attr{Kind: AttrInts, Ints: v} }

// Floats returns a float-list attribute.
func Floats(v ...float32) Attr { return Attr{Kind: AttrFloats, Floats: v} }

// Strings returns a string-list attribute.
func Strings(v ...string) Attr { return Attr{Kind: AttrStrings, Strings: v} }

// AttrInt returns attribute name as an int, or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrInt {
		return a.Int
	}
	return def
}

// AttrFloat returns attribute name as a float, or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloat {
		return a.Float
	}
	return def
}

// AttrString returns attribute name as a string, or def when absent.
func (n *Node) AttrString(name, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrString {
		return a.String
	}
	return def
}

// AttrInts returns attribute name as an int list, or def when absent.
func (n *Node) AttrInts(name string, def []int64) []int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrInts {
		return a.Ints
	}
	return def
}

// AttrIntsTo fills dst with int-list attribute name, or with def when n
// has none (window attributes: strides, dilations, pads). The list must
// have len(dst) entries, each within ±2^31.
func (n *Node) AttrIntsTo(name string, def int, dst []int) error {
	v := n.AttrInts(name, nil)
	if v == nil {
		for i := range dst {
			dst[i] = def
		}
		return nil
	}
	if len(v) != len(dst) {
		return fmt.Errorf("%s %v has %d entries, want %d", name, v, len(v), len(dst))
	}
	for i, x := range v {
		if x < -(1<<31) || x > 1<<31 {
			return fmt.Errorf("%s %v: value out of range", name, v)
		}
		dst[i] = int(x)
	}
	return nil
}

// AttrStrings returns attribute name as a string list, or def when absent.
func (n *Node) AttrStrings(name string, def []string) []string {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrStrings {
		return a.Strings
	}
	return def
}

// AttrFloats returns attribute name as a float list, or def when absent.
func (n *Node) AttrFloats(name string, def []float32) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloats {
		return a.Floats
	}
	return def
}

// NumElements returns the product of shape, or -1 when a dim is negative or
// the product overflows an int.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > (1<<62)/d {
			return -1
		}
		n *= d
	}
	return n
}

// Layer returns the layer called name, or nil.
func (m *Model) Layer(name string) *Layer {
	for _, l := range m.Layers {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// LayerIndex returns the index of the layer called name, or -1.
func (m *Model) LayerIndex(name string) int {
	for i, l := range m.Layers {
		if l.Name == name {
			return i
		}
	}
	return -1
}

// Param returns the param called name and its layer, or nils.
func (m *Model) Param(name string) (*Layer, *Param) {
	for _, l := range m.Layers {
		for _, p := range l.Params {
			if p.Name == name {
				return l, p
			}
		}
	}
	return nil, nil
}

// Node returns the node called name, or nil.
func (m *Model) Node(name string) *Node {
	for _, l := range m.Layers {
		for _, n := range l.Nodes {
			if n.Name == name {
				return n
			}
		}
	}
	return nil
}

// Const returns the constant tensor called name, or nil.
func (m *Model) Const(name string) *Tensor {
	for _, l := range m.Layers {
		for _, c := range l.Consts {
			if c.Name == name {
				return c
			}
		}
	}
	return nil
}

// Param returns the layer's param with the given role, or nil.
func (l *Layer) Param(role string) *Param {
	for _, p := range l.Params {
		if p.Role == role {
			return p
		}
	}
	return nil
}

// SetTrainable sets the layer's flag and the effective flag of each of its
// params (State params stay non-trainable), for a layer no frozen nested
// model holds; Model.SyncTrainable accounts for nesting. It modifies l.
func (l *Layer) SetTrainable(on bool) {
	l.Trainable = on
	for _, p := range l.Params {
		p.Trainable = on && !p.State
	}
}

// ParamCounts returns total, trainable and non-trainable element counts, as
// Keras's model.summary() counts them.
func (m *Model) ParamCounts() (total, trainable, nonTrainable int) {
	for _, l := range m.Layers {
		t, tr, nt := l.ParamCounts()
		total += t
		trainable += tr
		nonTrainable += nt
	}
	return total, trainable, nonTrainable
}

// ParamCounts returns the layer's total, trainable and non-trainable counts.
func (l *Layer) ParamCounts() (total, trainable, nonTrainable int) {
	for _, p := range l.Params {
		n := len(p.Data)
		total += n
		if p.Trainable {
			trainable += n
		} else {
			nonTrainable += n
		}
	}
	return total, trainable, nonTrainable
}

// Input returns the graph input called name, or nil.
func (m *Model) Input(name string) *Value {
	for _, v := range m.Inputs {
		if v.Name == name {
			return v
		}
	}
	return nil
}
