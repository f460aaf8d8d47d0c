package keras

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// ref names output tensor of a layer call: Keras's [layer, node, tensor].
type ref struct {
	layer        string
	node, tensor int
}

// layerEntry is one layer of a model config, version differences removed.
type layerEntry struct {
	class  string
	module string // Keras 3 serialisation only
	name   string
	config json.RawMessage            // the layer's config object, as read
	cfg    map[string]json.RawMessage // the same, parsed one level
	// calls are the layer's calls in a Functional model, in Keras's node
	// order: more than one for a shared layer. Empty for an InputLayer and
	// in a Sequential model.
	calls []call
	// buildShape is the Keras 3 build_config input_shape, nil when absent.
	buildShape json.RawMessage
	// sub is the config of a nested model (class Sequential, Functional or
	// Model), nil for a layer.
	sub *graphConfig
}

// call is one call of a layer: the tensors it reads and its training
// argument (nil when the call does not give one). args and kwargs are the
// call's positional arguments (Keras 3: "args", Keras tensors and
// constants; tf.keras 2: inboundMarker per inbound tensor, or the constant
// of a _CONSTANT_VALUE entry) and keyword arguments (Keras 3: "kwargs";
// tf.keras 2: the dict of the first inbound entry), which operation nodes
// and TFOpLambda layers need.
type call struct {
	refs     []ref
	training *bool
	args     []json.RawMessage
	kwargs   map[string]json.RawMessage
}

// maxNesting bounds how deep models may nest in a config.
const maxNesting = 16

// nestedClass reports whether a layer entry of this class is a model.
func nestedClass(class string) bool {
	return class == "Sequential" || class == "Functional" || class == "Model"
}

// graphConfig is a parsed model config.
type graphConfig struct {
	class           string // Sequential, Functional or Model
	name            string
	trainable       bool
	layers          []layerEntry
	inputs          []ref // Functional only
	outputs         []ref
	buildInputShape json.RawMessage // Sequential: Keras 3 build_input_shape
}

// parseConfig parses a model_config / config.json / model.to_json() text.
func parseConfig(data []byte) (*graphConfig, error) {
	var top struct {
		ClassName string          `json:"class_name"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: model config is not JSON: %v", ErrFormat, err)
	}
	switch top.ClassName {
	case "Sequential", "Functional", "Model":
	case "":
		return nil, fmt.Errorf("%w: model config has no class_name", ErrFormat)
	default:
		return nil, fmt.Errorf("keras: %w: model class %q (a subclassed or custom model): only Sequential, Functional and Model configs can be read", model.ErrUnsupported, top.ClassName)
	}
	return parseModel(top.ClassName, top.Config, 0)
}

// parseModel parses the config object of a model of class (Sequential,
// Functional or Model) at nesting depth.
func parseModel(class string, config json.RawMessage, depth int) (*graphConfig, error) {
	top := struct{ Config json.RawMessage }{config}
	g := &graphConfig{class: class, trainable: true}
	var rawLayers []json.RawMessage
	if t := bytes.TrimSpace(top.Config); len(t) > 0 && t[0] == '[' {
		// Keras <= 2.1 Sequential: config is the list of layers.
		if err := json.Unmarshal(t, &rawLayers); err != nil {
			return nil, fmt.Errorf("%w: model config layers: %v", ErrFormat, err)
		}
	} else {
		var c struct {
			Name            string            `json:"name"`
			Trainable       *bool             `json:"trainable"`
			Layers          []json.RawMessage `json:"layers"`
			InputLayers     json.RawMessage   `json:"input_layers"`
			OutputLayers    json.RawMessage   `json:"output_layers"`
			BuildInputShape json.RawMessage   `json:"build_input_shape"`
		}
		if err := json.Unmarshal(top.Config, &c); err != nil {
			return nil, fmt.Errorf("%w: model config: %v", ErrFormat, err)
		}
		g.name = c.Name
		if c.Trainable != nil {
			g.trainable = *c.Trainable
		}
		rawLayers = c.Layers
		g.buildInputShape = c.BuildInputShape
		if g.class != "Sequential" {
			var err error
			if g.inputs, err = parseRefList(c.InputLayers); err != nil {
				return nil, fmt.Errorf("%w: model config input_layers: %v", ErrFormat, err)
			}
			if g.outputs, err = parseRefList(c.OutputLayers); err != nil {
				return nil, fmt.Errorf("%w: model config output_layers: %v", ErrFormat, err)
			}
		}
	}
	if len(rawLayers) == 0 {
		return nil, fmt.Errorf("%w: model config has no layers", ErrFormat)
	}
	seen := map[string]bool{}
	for i, rl := range rawLayers {
		e, err := parseLayer(rl, g.class != "Sequential", depth)
		if err != nil {
			if errors.Is(err, model.ErrUnsupported) {
				return nil, fmt.Errorf("keras: %w: model config layer %d: %v", model.ErrUnsupported, i, err)
			}
			return nil, fmt.Errorf("%w: model config layer %d: %v", ErrFormat, i, err)
		}
		if seen[e.name] {
			return nil, fmt.Errorf("%w: model config has two layers called %q", ErrFormat, e.name)
		}
		seen[e.name] = true
		g.layers = append(g.layers, e)
	}
	return g, nil
}

func parseLayer(rl json.RawMessage, functional bool, depth int) (layerEntry, error) {
	var l struct {
		ClassName    string          `json:"class_name"`
		Module       string          `json:"module"`
		Name         string          `json:"name"`
		Config       json.RawMessage `json:"config"`
		InboundNodes json.RawMessage `json:"inbound_nodes"`
		BuildConfig  *struct {
			InputShape json.RawMessage `json:"input_shape"`
		} `json:"build_config"`
	}
	if err := json.Unmarshal(rl, &l); err != nil {
		return layerEntry{}, err
	}
	e := layerEntry{class: l.ClassName, module: l.Module, config: l.Config}
	if e.class == "" {
		return e, fmt.Errorf("layer without class_name")
	}
	if err := json.Unmarshal(l.Config, &e.cfg); err != nil || e.cfg == nil {
		return e, fmt.Errorf("layer of class %q: config is not an object", e.class)
	}
	e.name = l.Name
	if e.name == "" {
		_ = json.Unmarshal(e.cfg["name"], &e.name)
	}
	if e.name == "" {
		return e, fmt.Errorf("layer of class %q has no name", e.class)
	}
	if strings.ContainsAny(e.name, "/\x00") || e.name == "." || e.name == ".." {
		return e, fmt.Errorf("layer name %q is not a valid Keras layer name", e.name)
	}
	if l.BuildConfig != nil {
		e.buildShape = l.BuildConfig.InputShape
	}
	if functional {
		var err error
		if e.calls, err = parseInbound(l.InboundNodes); err != nil {
			return e, fmt.Errorf("layer %q: inbound_nodes: %w", e.name, err)
		}
		if e.class == "MultiHeadAttention" {
			// tf.keras 2 passes the value and key tensors of
			// mha(query, value, key) as keyword arguments.
			for i := range e.calls {
				c := &e.calls[i]
				for _, k := range []string{"value", "key"} {
					if raw, ok := c.kwargs[k]; ok && isRefList(raw) {
						r, err := parseRef(raw)
						if err != nil {
							return e, fmt.Errorf("layer %q: inbound_nodes: %w", e.name, err)
						}
						c.refs = append(c.refs, r)
						delete(c.kwargs, k)
					}
				}
			}
		}
		if tfOpLambda[e.class] {
			// tf.keras 2 passes the further tensors of a TFOpLambda call
			// as ["layer", node, tensor] keyword argument values.
			for i := range e.calls {
				c := &e.calls[i]
				for _, k := range sortedKeys(c.kwargs) {
					if isRefList(c.kwargs[k]) {
						r, err := parseRef(c.kwargs[k])
						if err != nil {
							return e, fmt.Errorf("layer %q: inbound_nodes: %w", e.name, err)
						}
						c.refs = append(c.refs, r)
					}
				}
			}
		}
	}
	if nestedClass(e.class) {
		if depth+1 >= maxNesting {
			return e, unsupportedf("layer %q: models nested more than %d deep", e.name, maxNesting)
		}
		sub, err := parseModel(e.class, l.Config, depth+1)
		if err != nil {
			return e, fmt.Errorf("nested model %q: %w", e.name, err)
		}
		if sub.name == "" {
			sub.name = e.name
		}
		e.sub = sub
	}
	return e, nil
}

// parseInbound reads inbound_nodes, one call per node, in the Keras 2 list
// form [[["input_1", 0, 0, {kwargs}], ...], ...] or the Keras 3 form
// [{"args": [...keras tensors with keras_history...], "kwargs": {...}}, ...].
func parseInbound(raw json.RawMessage) ([]call, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var nodes []json.RawMessage
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return nil, err
	}
	calls := make([]call, 0, len(nodes))
	for _, node := range nodes {
		n := bytes.TrimSpace(node)
		var c call
		if len(n) > 0 && n[0] == '{' {
			var kc struct {
				Args   json.RawMessage `json:"args"`
				Kwargs struct {
					Training *bool `json:"training"`
				} `json:"kwargs"`
			}
			if err := json.Unmarshal(n, &kc); err != nil {
				return nil, err
			}
			if err := collectHistory(kc.Args, &c.refs, 0); err != nil {
				return nil, err
			}
			c.training = kc.Kwargs.Training
			var raw struct {
				Args   []json.RawMessage          `json:"args"`
				Kwargs map[string]json.RawMessage `json:"kwargs"`
			}
			if json.Unmarshal(n, &raw) == nil {
				c.args, c.kwargs = raw.Args, raw.Kwargs
			}
		} else {
			var items []json.RawMessage
			if err := json.Unmarshal(n, &items); err != nil {
				return nil, err
			}
			for i, it := range items {
				var parts []json.RawMessage
				if err := json.Unmarshal(it, &parts); err != nil {
					return nil, fmt.Errorf("bad tensor reference %s", clip(it))
				}
				if i == 0 && len(parts) > 3 {
					_ = json.Unmarshal(parts[3], &c.kwargs)
				}
				if isConstantValue(parts) {
					// A constant first argument of a TFOpLambda:
					// ["_CONSTANT_VALUE", -1, value, kwargs] (tf_keras's
					// Node.serialize).
					c.args = append(c.args, parts[2])
					continue
				}
				r, err := parseRef(it)
				if err != nil {
					return nil, err
				}
				c.refs = append(c.refs, r)
				c.args = append(c.args, inboundMarker)
				if c.training == nil {
					c.training = refTraining(it)
				}
			}
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// tfOpLambda lists tf.keras 2's layers that wrap a TensorFlow function.
var tfOpLambda = map[string]bool{"TFOpLambda": true, "SlicingOpLambda": true}

// inboundMarker stands for an inbound tensor among a tf.keras 2 layer's
// call arguments (call.args).
var inboundMarker = json.RawMessage(`"__inbound__"`)

// isConstantValue reports whether the parts of a tf.keras 2 inbound entry
// are a constant first argument, ["_CONSTANT_VALUE", -1, value, ...].
func isConstantValue(parts []json.RawMessage) bool {
	var s string
	return len(parts) > 2 && json.Unmarshal(parts[0], &s) == nil && s == "_CONSTANT_VALUE"
}

// isRefList reports whether raw is a ["layer", node, tensor] triple.
func isRefList(raw json.RawMessage) bool {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil || len(items) != 3 {
		return false
	}
	var s string
	var a, b int
	return json.Unmarshal(items[0], &s) == nil && json.Unmarshal(items[1], &a) == nil && json.Unmarshal(items[2], &b) == nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// refTraining reads the training kwarg of a Keras 2 reference
// ["name", node, tensor, {"training": false}], nil when absent.
func refTraining(raw json.RawMessage) *bool {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil || len(items) < 4 {
		return nil
	}
	var kw struct {
		Training *bool `json:"training"`
	}
	if json.Unmarshal(items[3], &kw) != nil {
		return nil
	}
	return kw.Training
}

// collectHistory finds Keras 3 keras tensors (keras_history) in call args,
// depth first, in order.
func collectHistory(raw json.RawMessage, refs *[]ref, depth int) error {
	if depth > 16 {
		return fmt.Errorf("call arguments nest too deep")
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return nil
	}
	switch t[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return err
		}
		for _, it := range items {
			if err := collectHistory(it, refs, depth+1); err != nil {
				return err
			}
		}
	case '{':
		var obj struct {
			ClassName string `json:"class_name"`
			Config    struct {
				KerasHistory json.RawMessage `json:"keras_history"`
			} `json:"config"`
		}
		if err := json.Unmarshal(t, &obj); err != nil {
			return err
		}
		if obj.ClassName == "__keras_tensor__" {
			r, err := parseRef(obj.Config.KerasHistory)
			if err != nil {
				return err
			}
			*refs = append(*refs, r)
		}
	}
	return nil
}

// parseRef reads ["name", node, tensor, ...].
func parseRef(raw json.RawMessage) (ref, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || len(items) < 3 {
		return ref{}, fmt.Errorf("bad tensor reference %s", clip(raw))
	}
	var r ref
	if err := json.Unmarshal(items[0], &r.layer); err != nil || r.layer == "" {
		return ref{}, fmt.Errorf("bad tensor reference %s", clip(raw))
	}
	if json.Unmarshal(items[1], &r.node) != nil || json.Unmarshal(items[2], &r.tensor) != nil || r.node < 0 || r.tensor < 0 {
		return ref{}, fmt.Errorf("bad tensor reference %s", clip(raw))
	}
	return r, nil
}

// parseRefList reads input_layers / output_layers: a list of references, or
// (Keras 3, one tensor) a single reference.
func parseRefList(raw json.RawMessage) ([]ref, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("not a list: %s", clip(raw))
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("empty")
	}
	if t := bytes.TrimSpace(items[0]); len(t) > 0 && t[0] == '"' {
		r, err := parseRef(raw)
		if err != nil {
			return nil, err
		}
		return []ref{r}, nil
	}
	out := make([]ref, 0, len(items))
	for _, it := range items {
		r, err := parseRef(it)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// unsupported is an model.ErrUnsupported whose message has no package prefix, for
// errors that callers wrap with their own location.
type unsupported struct{ msg string }

func (e *unsupported) Error() string { return e.msg }
func (e *unsupported) Unwrap() error { return model.ErrUnsupported }

func unsupportedf(format string, args ...any) error {
	return &unsupported{fmt.Sprintf(format, args...)}
}

// clip shortens JSON for messages.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
