package surgery

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// setConfigKey returns cfg, a JSON object, with key set to value, keeping
// the order of the other keys; an absent key is appended only when add is
// true (Keras's InputLayer has no "trainable" and refuses unknown keys). A
// nil cfg is returned as nil: the layer has no Keras config to keep in step.
func setConfigKey(cfg json.RawMessage, key string, value any, add bool) (json.RawMessage, error) {
	if len(bytes.TrimSpace(cfg)) == 0 {
		return cfg, nil
	}
	dec := json.NewDecoder(bytes.NewReader(cfg))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("config is not a JSON object")
	}
	val, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
		k, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("config: key %v is not a string", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("config: key %q: %v", k, err)
		}
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		out.Write(kb)
		out.WriteByte(':')
		if k == key {
			out.Write(val)
			found = true
		} else {
			out.Write(raw)
		}
	}
	if !found && !add {
		return cfg, nil
	}
	if !found {
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		kb, _ := json.Marshal(key)
		out.Write(kb)
		out.WriteByte(':')
		out.Write(val)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// configString returns the string value of key in the JSON object cfg, or "".
func configString(cfg json.RawMessage, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(cfg, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}
