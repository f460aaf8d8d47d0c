package keras

import (
	"encoding/json"

	"github.com/xferml/xfer/layers"
)

// lctx is what an operation node's reader sees (layer classes are read by
// package layers: layers.ReadKeras).
type lctx struct {
	e         *layerEntry
	inputs    []string
	inShapes  [][]int
	trainable bool
}

func (c *lctx) common() layers.Common {
	return layers.Common{Name: c.e.name, Inputs: c.inputs, Trainable: c.trainable, Config: c.e.config}
}

// str reads a string config value.
func (c *lctx) str(key, def string) (string, error) {
	raw, ok := c.e.cfg[key]
	if !ok || string(raw) == "null" {
		return def, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", &layers.ConfigError{Layer: c.e.name, Class: c.e.class, Key: key, Msg: "not a string: " + clip(raw)}
	}
	return v, nil
}
