package layers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// A builder keeps the Keras config it is given (Common.Config, read from a
// file); given none, it writes the config of what it builds, in tf.keras
// 2.13's get_config key order (exporters/keras renders it in either Keras
// generation's dialect: DTypePolicy objects, build_config, keys one
// generation refuses). So a layer built by xfer (a head added by surgery, a
// layer converted from ONNX) carries the same kind of config as one read
// from Keras, written here from the builder's typed spec, the one place
// that knows the kind.

// baseConfig starts a config: name (the local name of a nested layer),
// trainable, dtype.
func baseConfig(name string, trainable bool) *pyjson.Obj {
	return pyjson.NewObj().Set("name", model.LocalName(name)).Set("trainable", trainable).Set("dtype", "float32")
}

// initConfig renders an initializer as tf.keras 2 serializes it
// ({"class_name", "config"}), def when in is nil; a custom function's name
// stays a bare string (only the user's code resolves it).
func initConfig(in *model.Initializer, def string) any {
	name := def
	var raw json.RawMessage
	if in != nil && in.Name != "" {
		name, raw = in.Name, in.Config
	}
	if _, known := InitializerName(name); !known {
		return name
	}
	cfg := pyjson.NewObj()
	if len(raw) > 0 {
		if o, err := pyjson.ParseObj(raw); err == nil {
			cfg = o
		}
	}
	if _, ok := cfg.Get("seed"); !ok && strings.Contains(name, "_") && name != "zeros" && name != "ones" {
		cfg.Set("seed", nil)
	}
	return pyjson.NewObj().Set("class_name", InitializerClass(name)).Set("config", cfg)
}

// f32 is x as the shortest decimal that reads back as the same float32
// (0.9, not 0.8999999761581421): Keras casts config floats to float32.
func f32(x float32) pyjson.Float {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return pyjson.Float(v)
}

// intList renders sizes as a JSON list.
func intList(v []int) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// activationName is a builder activation as Keras names it ("" is linear).
func activationName(act string) string {
	if act == "" {
		return "linear"
	}
	return act
}

// encodeConfig renders a config written here. Its values are plain (ints,
// floats, strings, bools, nil, lists and objects of those), which pyjson
// always encodes.
func encodeConfig(c *pyjson.Obj) json.RawMessage {
	b, err := pyjson.Encode(c)
	if err != nil {
		panic("layers: encoding a config of plain values: " + err.Error()) // a bug in this package
	}
	return b
}

// TrainableConfig returns layer l's kept Keras config with its "trainable"
// key set to l.Trainable, the other keys in their order (pyjson), so that a
// writer starting from the config stays right after a freeze. A config
// without the key (InputLayer's: Keras refuses unknown keys there) is
// returned as is, as is a nil one (no config to keep in step). A config
// that is not a JSON object is a *ConfigError naming the layer.
func TrainableConfig(l *model.Layer) (json.RawMessage, error) {
	return setConfigKey(l, "trainable", l.Trainable, false)
}

// UseBiasConfig returns layer l's kept Keras config with "use_bias" true
// (added when absent), for an edit that gives a Dense or convolution layer
// a bias; nil for a layer without a config. l is not changed.
func UseBiasConfig(l *model.Layer) (json.RawMessage, error) {
	return setConfigKey(l, "use_bias", true, true)
}

// setConfigKey returns l's config with key set to v; an absent key is
// added only when add is true.
func setConfigKey(l *model.Layer, key string, v any, add bool) (json.RawMessage, error) {
	if len(bytes.TrimSpace(l.Config)) == 0 {
		return l.Config, nil
	}
	o, err := pyjson.ParseObj(l.Config)
	if err != nil {
		return nil, &ConfigError{Layer: l.Name, Class: l.Kind, Key: key, Msg: fmt.Sprintf("cannot be set: the config is not a JSON object (%v)", err)}
	}
	if _, ok := o.Get(key); !ok && !add {
		return l.Config, nil
	}
	b, err := pyjson.Encode(o.Set(key, v))
	if err != nil {
		return nil, &ConfigError{Layer: l.Name, Class: l.Kind, Key: key, Msg: err.Error()}
	}
	return b, nil
}
