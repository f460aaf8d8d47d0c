package surgery

import (
	"encoding/json"
	"testing"
)

func TestSetConfigKey(t *testing.T) {
	tests := []struct {
		cfg   string
		key   string
		value any
		add   bool
		want  string
	}{
		{`{"name":"d","trainable":true,"units":3}`, "trainable", false, false, `{"name": "d", "trainable": false, "units": 3}`},
		{`{ "name": "d", "use_bias": false }`, "use_bias", true, true, `{"name": "d", "use_bias": true}`},
		{`{"name":"d"}`, "use_bias", true, true, `{"name": "d", "use_bias": true}`},
		{`{"name":"input_1","dtype":"float32"}`, "trainable", false, false, `{"name":"input_1","dtype":"float32"}`}, // InputLayer: no key, not added
		{`{}`, "use_bias", true, true, `{"use_bias": true}`},
		{``, "trainable", false, false, ``},
	}
	for _, tt := range tests {
		got, err := setConfigKey(json.RawMessage(tt.cfg), tt.key, tt.value, tt.add)
		if err != nil || string(got) != tt.want {
			t.Errorf("setConfigKey(%s, %s, %v, %v) = %s, %v; want %s", tt.cfg, tt.key, tt.value, tt.add, got, err, tt.want)
		}
	}
	for _, bad := range []string{`[1]`, `{"a":`, `"s"`} {
		if _, err := setConfigKey(json.RawMessage(bad), "trainable", true, true); err == nil {
			t.Errorf("setConfigKey(%s) = nil error; want one", bad)
		}
	}
}
