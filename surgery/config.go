package surgery

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"
)

// setConfigKey returns cfg, a JSON object, with key set to value, keeping
// the order of the other keys; an absent key is appended only when add is
// true (Keras's InputLayer has no "trainable" and refuses unknown keys). A
// nil cfg is returned as nil: the layer has no Keras config to keep in step.
// The result is written as Keras writes configs (pyjson).
func setConfigKey(cfg json.RawMessage, key string, value any, add bool) (json.RawMessage, error) {
	if len(bytes.TrimSpace(cfg)) == 0 {
		return cfg, nil
	}
	o, err := pyjson.ParseObj(cfg)
	if err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	if _, ok := o.Get(key); !ok && !add {
		return cfg, nil
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("config: key %q: %v", key, err)
	}
	v, err := pyjson.ParseAny(raw)
	if err != nil {
		return nil, fmt.Errorf("config: key %q: %v", key, err)
	}
	o.Set(key, v)
	return pyjson.Encode(o)
}
