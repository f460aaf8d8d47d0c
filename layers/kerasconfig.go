package layers

import (
	"encoding/json"
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
