package channelslast

import (
	"encoding/json"
	"strconv"

	"github.com/xferml/xfer/internal/pyjson"
)

// Keras configs of the layers the conversion builds, in tf.keras 2.13's
// get_config key order (exporters/keras converts them to Keras 3's dialect
// for .keras files: DTypePolicy objects, build_config, dropped keys). Only
// keys both generations' constructors accept are written.

// cfg is a Keras config under construction (an ordered JSON object).
type cfg = pyjson.Obj

// raw returns the config's JSON. The values are ints, floats, strings,
// bools, nil, lists of those and objects, so encoding cannot fail.
func raw(c *cfg) json.RawMessage {
	b, err := pyjson.Encode(c)
	if err != nil {
		panic("channelslast: config encoding: " + err.Error()) // a bug: values are plain
	}
	return b
}

// f32 is x as the shortest decimal that reads back as the same float32
// (0.9, not 0.8999999761581421): Keras casts config floats to float32.
func f32(x float32) pyjson.Float {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return pyjson.Float(v)
}

func base(name string, trainable bool) *cfg {
	return pyjson.NewObj().Set("name", name).Set("trainable", trainable).Set("dtype", "float32")
}

func initializer(class string) *cfg {
	c := pyjson.NewObj()
	switch class {
	case "GlorotUniform":
		c.Set("seed", nil)
	}
	return pyjson.NewObj().Set("module", "keras.initializers").Set("class_name", class).Set("config", c).Set("registered_name", nil)
}

func ints(v []int) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

func convConfig(name string, trainable bool, filters int, kernel, strides, dil []int, padding string, groups int, act string, bias bool) *cfg {
	return base(name, trainable).Set("filters", filters).Set("kernel_size", ints(kernel)).Set("strides", ints(strides)).
		Set("padding", padding).Set("data_format", "channels_last").Set("dilation_rate", ints(dil)).Set("groups", groups).
		Set("activation", act).Set("use_bias", bias).
		Set("kernel_initializer", initializer("GlorotUniform")).Set("bias_initializer", initializer("Zeros")).
		Set("kernel_regularizer", nil).Set("bias_regularizer", nil).Set("activity_regularizer", nil).
		Set("kernel_constraint", nil).Set("bias_constraint", nil)
}

func depthwiseConfig(name string, trainable bool, kernel, strides, dil []int, padding string, mult int, act string, bias bool) *cfg {
	return base(name, trainable).Set("kernel_size", ints(kernel)).Set("strides", ints(strides)).
		Set("padding", padding).Set("data_format", "channels_last").Set("dilation_rate", ints(dil)).Set("groups", 1).
		Set("activation", act).Set("use_bias", bias).
		Set("bias_initializer", initializer("Zeros")).Set("bias_regularizer", nil).Set("activity_regularizer", nil).
		Set("bias_constraint", nil).Set("depth_multiplier", mult).
		Set("depthwise_initializer", initializer("GlorotUniform")).Set("depthwise_regularizer", nil).Set("depthwise_constraint", nil)
}

func batchNormConfig(name string, trainable bool, axis int, momentum, epsilon float32) *cfg {
	return base(name, trainable).Set("axis", []any{axis}).Set("momentum", f32(momentum)).Set("epsilon", f32(epsilon)).
		Set("center", true).Set("scale", true).
		Set("beta_initializer", initializer("Zeros")).Set("gamma_initializer", initializer("Ones")).
		Set("moving_mean_initializer", initializer("Zeros")).Set("moving_variance_initializer", initializer("Ones")).
		Set("beta_regularizer", nil).Set("gamma_regularizer", nil).Set("beta_constraint", nil).Set("gamma_constraint", nil)
}

func activationConfig(name string, trainable bool, act string) *cfg {
	return base(name, trainable).Set("activation", act)
}

func reluConfig(name string, trainable bool, maxValue *float32) *cfg {
	var mv any
	if maxValue != nil {
		mv = f32(*maxValue)
	}
	return base(name, trainable).Set("max_value", mv).Set("negative_slope", pyjson.Float(0)).Set("threshold", pyjson.Float(0))
}

func leakyReLUConfig(name string, trainable bool, alpha float32) *cfg {
	return base(name, trainable).Set("alpha", f32(alpha))
}

func poolConfig(name string, trainable bool, size, strides []int, padding string) *cfg {
	return base(name, trainable).Set("pool_size", ints(size)).Set("padding", padding).Set("strides", ints(strides)).
		Set("data_format", "channels_last")
}

func globalPoolConfig(name string, trainable, keepdims bool) *cfg {
	return base(name, trainable).Set("data_format", "channels_last").Set("keepdims", keepdims)
}

func zeroPaddingConfig(name string, trainable bool, pads [][2]int) *cfg {
	p := make([]any, len(pads))
	for i, v := range pads {
		p[i] = []any{v[0], v[1]}
	}
	c := base(name, trainable)
	if len(pads) == 1 {
		return c.Set("padding", p[0])
	}
	return c.Set("padding", p).Set("data_format", "channels_last")
}

func plainConfig(name string, trainable bool) *cfg { return base(name, trainable) }

func concatenateConfig(name string, trainable bool, axis int) *cfg {
	return base(name, trainable).Set("axis", axis)
}

func reshapeConfig(name string, trainable bool, target []int) *cfg {
	return base(name, trainable).Set("target_shape", ints(target))
}

func permuteConfig(name string, trainable bool, dims []int) *cfg {
	return base(name, trainable).Set("dims", ints(dims))
}

func flattenConfig(name string, trainable bool) *cfg {
	return base(name, trainable).Set("data_format", "channels_last")
}

func softmaxConfig(name string, trainable bool, axis int) *cfg {
	return base(name, trainable).Set("axis", axis)
}

// rescalingConfig writes scale and offset as one float each, or as lists
// (one value per channel, broadcast over the last axis).
func rescalingConfig(name string, trainable bool, scale, offset []float32) *cfg {
	v := func(x []float32) any {
		if len(x) == 1 {
			return f32(x[0])
		}
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = f32(f)
		}
		return out
	}
	return base(name, trainable).Set("scale", v(scale)).Set("offset", v(offset))
}
