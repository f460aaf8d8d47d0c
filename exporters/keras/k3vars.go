package keras

import (
	"strings"

	"github.com/xferml/xfer/internal/pyjson"
)

// k3Group is one vars group Keras 3 saves for a layer: at path below the
// layer's own group ("" for the layer itself), with the name attribute of
// the (sub)layer that owns it.
type k3Group struct {
	path, name string
	weights    []kWeight
}

// recurrentCells names the cell of each recurrent class.
var recurrentCells = map[string]string{"SimpleRNN": "simple_rnn_cell", "LSTM": "lstm_cell", "GRU": "gru_cell"}

// k3Groups lays a layer's weights out as Keras 3's saving_lib does: a
// recurrent layer's weights belong to its cell (<layer>/cell/vars), a
// Bidirectional's to its forward and backward layers' cells (backward
// first, as Keras walks attributes in sorted order), a TimeDistributed's
// to the wrapped layer (<layer>/layer/vars); other layers own theirs.
func k3Groups(k *kLayer) []k3Group {
	own := k3Group{name: k.name}
	switch {
	case recurrentCells[k.class] != "":
		return []k3Group{own, {path: "cell", name: recurrentCells[k.class], weights: k.weights}}
	case k.class == "Bidirectional":
		fwd, bwd := innerName(k.cfg, "layer", "forward"), innerName(k.cfg, "backward_layer", "backward")
		cell := recurrentCells[innerClass(k.cfg, "layer")]
		half := len(k.weights) / 2
		return []k3Group{own,
			{path: "backward_layer", name: bwd}, {path: "backward_layer/cell", name: cell, weights: k.weights[half:]},
			{path: "forward_layer", name: fwd}, {path: "forward_layer/cell", name: cell, weights: k.weights[:half]},
		}
	case k.class == "MultiHeadAttention":
		// Its EinsumDense sublayers own the weights; the dropout and
		// softmax sublayers have empty groups, as Keras 3.16 saves them.
		sub := func(path, name string) k3Group {
			g := k3Group{path: path, name: name}
			for _, w := range k.weights {
				if strings.HasPrefix(w.role, name+"/") {
					g.weights = append(g.weights, w)
				}
			}
			return g
		}
		return []k3Group{own, {path: "_dropout_layer", name: "dropout"}, {path: "_softmax", name: "softmax"},
			sub("key_dense", "key"), sub("output_dense", "attention_output"), sub("query_dense", "query"), sub("value_dense", "value")}
	case k.class == "TimeDistributed":
		inner := &kLayer{name: innerName(k.cfg, "layer", k.name), class: innerClass(k.cfg, "layer"), weights: k.weights}
		if c, ok := k.cfg.Value("layer").(*pyjson.Obj); ok {
			inner.cfg, _ = c.Value("config").(*pyjson.Obj)
		}
		out := []k3Group{own}
		for _, g := range k3Groups(inner) {
			g.path = strings.TrimSuffix("layer/"+g.path, "/")
			out = append(out, g)
		}
		return out
	}
	own.weights = k.weights
	return []k3Group{own}
}

// innerClass and innerName read the class and name of the serialized
// layer a wrapper's config holds under key.
func innerClass(cfg *pyjson.Obj, key string) string {
	if cfg == nil {
		return ""
	}
	if o, ok := cfg.Value(key).(*pyjson.Obj); ok {
		return o.Str("class_name")
	}
	return ""
}

func innerName(cfg *pyjson.Obj, key, prefix string) string {
	if cfg != nil {
		if o, ok := cfg.Value(key).(*pyjson.Obj); ok {
			if c, ok := o.Value("config").(*pyjson.Obj); ok && c.Str("name") != "" {
				return c.Str("name")
			}
		}
		if key == "backward_layer" {
			return "backward_" + innerName(cfg, "layer", "")
		}
	}
	return prefix
}
