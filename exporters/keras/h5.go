package keras

import (
	"encoding/json"
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/internal/hdf5"
	"github.com/xferml/xfer/model"
)

// H5KerasVersion and H5Backend are the root attributes WriteH5 writes: the
// tf.keras release whose legacy full-save layout the file copies.
const (
	H5KerasVersion = "2.13.1"
	H5Backend      = "tensorflow"
)

// HistoryKey names the root attribute (.h5) and metadata.json key (.keras)
// that carry the model's history as a JSON array of model.Event.
const HistoryKey = "xfer_history"

// WriteH5 writes m to path as a tf.keras 2.13 legacy full save (what
// model.save("x.h5") writes): root attributes keras_version, backend,
// model_config and xfer_history; group model_weights with attributes
// backend, keras_version, layer_names; one group per layer with attribute
// weight_names and the weights at model_weights/<layer>/<weight name>.
// The write is atomic (a failure leaves no file) and deterministic (the same
// model gives the same bytes). m is not modified.
//
// libhdf5 writes the file directly (its default driver), each dataset from
// the param's own memory: no image of the file is held.
func WriteH5(path string, m *model.Model) error {
	root, name, err := h5Spec(m)
	if err != nil {
		return err
	}
	err = atomicfile.Write(path, func(tmp string) error {
		if err := hdf5.WriteFile(tmp, root); err != nil {
			return fmt.Errorf("keras: model %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keras: write %s: %w", path, err)
	}
	return nil
}

// MarshalH5 returns the bytes WriteH5 would write.
func MarshalH5(m *model.Model) ([]byte, error) { return encodeH5(m) }

func encodeH5(m *model.Model) ([]byte, error) {
	root, name, err := h5Spec(m)
	if err != nil {
		return nil, err
	}
	data, err := hdf5.Encode(root)
	if err != nil {
		return nil, fmt.Errorf("keras: model %q: %w", name, err)
	}
	return data, nil
}

// h5Spec describes the legacy .h5 file of m, and returns the model's name
// for messages.
func h5Spec(m *model.Model) (*hdf5.GroupSpec, string, error) {
	p, err := newPlan(m)
	if err != nil {
		return nil, "", err
	}
	if err := p.checkGeneration(tf2); err != nil {
		return nil, "", err
	}
	if err := p.tf2Ops(); err != nil {
		return nil, "", err
	}
	cfg, err := pyjson.Encode(tf2ModelConfig(p))
	if err != nil {
		return nil, "", fmt.Errorf("keras: model %q: model_config: %w", p.name, err)
	}
	hist, err := historyJSON(m.History)
	if err != nil {
		return nil, "", err
	}
	root := &hdf5.GroupSpec{Attrs: []hdf5.AttrSpec{
		// Character sets as tf.keras 2.13 (through h5py) writes them: the
		// version strings are UTF-8, model_config ASCII (json.dumps output).
		hdf5.StringAttr("backend", H5Backend, true),
		hdf5.StringAttr("keras_version", H5KerasVersion, true),
		hdf5.StringAttr("model_config", string(cfg), false),
		hdf5.StringAttr(HistoryKey, string(hist), false),
	}}
	mw := root.Group("model_weights")
	var names []string
	for _, k := range p.layers {
		if p.sequential && k.input {
			continue // Sequential.layers omits the InputLayer, and so does layer_names
		}
		names = append(names, k.name)
	}
	mw.Attrs = []hdf5.AttrSpec{
		hdf5.StringAttr("backend", H5Backend, false),
		hdf5.StringAttr("keras_version", H5KerasVersion, false),
	}
	if len(names) > 0 {
		mw.Attrs = append(mw.Attrs, hdf5.StringsAttr("layer_names", names))
	} else {
		mw.Attrs = append(mw.Attrs, hdf5.FloatsAttr("layer_names", nil))
	}
	for _, k := range p.layers {
		if p.sequential && k.input {
			continue
		}
		g := mw.Group(k.name)
		ws := legacyWeights(k)
		if len(ws) == 0 {
			// Keras writes an empty float64 array here (h5py's np.array([])).
			g.Attrs = []hdf5.AttrSpec{hdf5.FloatsAttr("weight_names", nil)}
			continue
		}
		wn := make([]string, len(ws))
		for i, w := range ws {
			wn[i] = w.path + ":0"
		}
		g.Attrs = []hdf5.AttrSpec{hdf5.StringsAttr("weight_names", wn)}
		for i, w := range ws {
			if d := g.AddDataset(wn[i], w.shape, w.data); w.integer {
				d.IntBits = 64 // tf.keras 2 keeps counts as int64
			}
		}
	}
	// tf.keras >= 2.11 adds this group for weights tracked by the model
	// object itself; it is not in layer_names.
	mw.Group("top_level_model_weights").Attrs = []hdf5.AttrSpec{hdf5.FloatsAttr("weight_names", nil)}
	return root, p.name, nil
}

// historyJSON renders the history as an ASCII JSON array ("[]" when empty).
func historyJSON(h []model.Event) ([]byte, error) {
	if h == nil {
		h = []model.Event{}
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("keras: history: %w", err)
	}
	o, err := pyjson.ParseAny(raw)
	if err != nil {
		return nil, fmt.Errorf("keras: history: %w", err)
	}
	return pyjson.Encode(o)
}

// namedWeight is a weight with its legacy .h5 name (without ":0").
type namedWeight struct {
	kWeight
	path string
}

// legacyWeights returns the weights of top-level layer k as the legacy
// .h5 layout stores them: a layer's in its weight order, named
// "<layer>/<weight>"; a nested model's all together, trainable ones first
// and then the others, each in layer order (Keras's trainable_weights +
// non_trainable_weights), named by their path inside it ("conv1/kernel",
// "inner/conv1/kernel" for a model nested deeper).
func legacyWeights(k *kLayer) []namedWeight {
	if k.sub == nil {
		out := make([]namedWeight, len(k.weights))
		for i, w := range k.weights {
			out[i] = namedWeight{w, k.name + "/" + w.role}
		}
		return out
	}
	var all []namedWeight
	var walk func(p *plan, prefix string)
	walk = func(p *plan, prefix string) {
		for _, c := range p.layers {
			if c.sub != nil {
				walk(c.sub, prefix+c.name+"/")
				continue
			}
			for _, w := range c.weights {
				all = append(all, namedWeight{w, prefix + c.name + "/" + w.role})
			}
		}
	}
	walk(k.sub, "")
	// A frozen model's weights are all non-trainable: the order is the
	// layers' order then.
	out := make([]namedWeight, 0, len(all))
	for _, w := range all {
		if w.trainable {
			out = append(out, w)
		}
	}
	for _, w := range all {
		if !w.trainable {
			out = append(out, w)
		}
	}
	return out
}

// tf2ModelConfig is the model_config object tf.keras 2.13 writes.
func tf2ModelConfig(p *plan) *pyjson.Obj {
	class, c := tf2Config(p, true)
	return pyjson.NewObj().Set("class_name", class).Set("config", c)
}

// tf2Config returns the class name and config of the model (top) or nested
// model p, as tf.keras 2.13's get_config writes them.
func tf2Config(p *plan, top bool) (string, *pyjson.Obj) {
	var layers []any
	for _, k := range p.layers {
		var e *pyjson.Obj
		if k.sub != nil {
			class, c := tf2Config(k.sub, false)
			e = pyjson.NewObj().Set("class_name", class).Set("config", c)
		} else {
			e = pyjson.NewObj().Set("class_name", k.class).Set("config", layerConfig(k, tf2))
		}
		if !p.sequential {
			e.Set("name", k.name)
			inbound := []any{}
			if !k.input {
				if k.class == "MultiHeadAttention" {
					// tf.keras 2 passes value and key as keyword arguments
					// ([[query, 0, 0, {"value": [...]}]]), which Keras 3's
					// legacy loader leaves unresolved; the call is written
					// in Keras 3's form, which that loader reads in .h5 too
					// (tf.keras 2 does not).
					inbound = append(inbound, k3Node(k, k.inbound, k.inShapes))
				} else {
					inbound = append(inbound, tf2Node(k.inbound, k.training, k.tf2Kwargs))
				}
				for _, c := range k.more {
					inbound = append(inbound, tf2Node(c.inbound, nil, nil))
				}
			}
			e.Set("inbound_nodes", inbound)
		}
		layers = append(layers, e)
	}
	c := pyjson.NewObj().Set("name", p.name)
	if !top {
		c.Set("trainable", p.trainable)
	}
	c.Set("layers", layers)
	if p.sequential {
		return "Sequential", c
	}
	var ins []any
	for _, k := range p.inputs {
		ins = append(ins, []any{k.name, 0, 0})
	}
	c.Set("input_layers", ins).Set("output_layers", refList(p.outputs))
	return "Functional", c
}

// tf2Node is one inbound node in tf.keras 2's list form; a call's training
// argument, or the given kwargs (TFOpLambda's), go into the kwargs of each
// reference.
func tf2Node(refs []kRef, training *bool, kwargs *pyjson.Obj) []any {
	kw := pyjson.NewObj()
	if kwargs != nil {
		kw = kwargs
	}
	if training != nil {
		kw.Set("training", *training)
	}
	var node []any
	for _, r := range refs {
		node = append(node, []any{r.layer, r.node, r.tensor, kw})
	}
	return node
}

// refList renders references as [[name, node, tensor], ...].
func refList(rs []kRef) []any {
	var out []any
	for _, r := range rs {
		out = append(out, []any{r.layer, r.node, r.tensor})
	}
	return out
}
