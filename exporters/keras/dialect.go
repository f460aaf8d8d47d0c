package keras

import (
	"strings"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// tf2Keys lists, per layer class, the config keys tf.keras 2.13's
// get_config writes after the base keys (name, trainable, dtype); its
// from_config passes every key to the constructor, which refuses unknown
// keyword arguments, so keys that only Keras 3 writes (quantization_config,
// lora_rank, optional, ...) must go. Classes not listed keep every key.
// DepthwiseConv2D's "groups" (always 1, inherited from tf.keras 2's Conv
// base) is left out: Keras 3's legacy .h5 loader passes it on and its
// DepthwiseConv2D refuses it, while tf.keras 2 defaults it to 1.
var tf2Keys = map[string][]string{
	"Dense":                  {"units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"},
	"Conv1D":                 convKeys,
	"Conv2D":                 convKeys,
	"Conv3D":                 convKeys,
	"DepthwiseConv2D":        {"kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias", "bias_initializer", "bias_regularizer", "activity_regularizer", "bias_constraint", "depth_multiplier", "depthwise_initializer", "depthwise_regularizer", "depthwise_constraint"},
	"BatchNormalization":     {"axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint", "synchronized", "renorm", "renorm_clipping", "renorm_momentum"},
	"Activation":             {"activation"},
	"ReLU":                   {"max_value", "negative_slope", "threshold"},
	"LeakyReLU":              {"alpha"},
	"ELU":                    {"alpha"},
	"Softmax":                {"axis"},
	"PReLU":                  {"alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"},
	"Dropout":                {"rate", "noise_shape", "seed"},
	"AlphaDropout":           {"rate", "noise_shape", "seed"},
	"GaussianNoise":          {"stddev", "seed"},
	"Flatten":                {"data_format"},
	"Reshape":                {"target_shape"},
	"Permute":                {"dims"},
	"MaxPooling1D":           poolKeys,
	"MaxPooling2D":           poolKeys,
	"AveragePooling1D":       poolKeys,
	"AveragePooling2D":       poolKeys,
	"GlobalAveragePooling1D": {"data_format", "keepdims"},
	"GlobalAveragePooling2D": {"data_format", "keepdims"},
	"GlobalMaxPooling1D":     {"data_format", "keepdims"},
	"GlobalMaxPooling2D":     {"data_format", "keepdims"},
	"ZeroPadding1D":          {"padding"},
	"ZeroPadding2D":          {"padding", "data_format"},
	"Add":                    {},
	// tf.keras 2.13 adds query_shape, key_shape and value_shape, which
	// Keras 3's legacy .h5 loader refuses; use_gate, sliding_window and seed
	// are Keras 3's.
	"MultiHeadAttention": {"num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape", "attention_axes", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"},
	"Subtract":           {},
	"Multiply":           {},
	"Average":            {},
	"Maximum":            {},
	"Minimum":            {},
	"Concatenate":        {"axis"},
	"SimpleRNN":          append([]string{"units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout"}, rnnKeys...),
	"LSTM":               append([]string{"units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "implementation"}, rnnKeys...),
	"GRU":                append([]string{"units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "implementation", "reset_after"}, rnnKeys...),
	"LayerNormalization": {"axis", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"},
	"Embedding":          {"input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer", "activity_regularizer", "embeddings_constraint", "mask_zero", "input_length"},
}

// rnnKeys are the keys tf.keras 2.13's recurrent layers write after
// their cell's (RNN.get_config; Keras 3 adds seed, which tf.keras 2
// refuses).
var rnnKeys = []string{"return_sequences", "return_state", "go_backwards", "stateful", "unroll", "time_major", "zero_output_for_mask"}

var (
	convKeys = []string{"filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"}
	poolKeys = []string{"pool_size", "padding", "strides", "data_format"}
)

// k3Drop lists, per class, tf.keras 2 config keys that Keras 3's
// constructors refuse (tf.keras 2's DepthwiseConv2D inherits "groups" from
// its Conv base; Keras 3's does not take it).
var k3Drop = map[string][]string{
	"DepthwiseConv2D": {"groups"},
}

// k3Build lists the classes whose Keras 3 (3.16) entries carry a
// build_config, as in the shared fixtures and what Keras 3.16 writes for a
// model of these classes (Activation, Dropout, Reshape and the pooling
// layers have none: they override no build and are built at init).
var k3Build = map[string]bool{
	"Dense": true, "Conv1D": true, "Conv2D": true, "Conv3D": true, "DepthwiseConv2D": true,
	"BatchNormalization": true, "Flatten": true, "PReLU": true, "Permute": true, "Rescaling": true, "LayerNormalization": true,
	"ZeroPadding1D": true, "ZeroPadding2D": true, "Normalization": true,
	"SeparableConv1D": true, "SeparableConv2D": true, "Embedding": true,
	"Conv1DTranspose": true, "Conv2DTranspose": true, "Cropping1D": true, "Cropping2D": true,
	"LayerScale": true, "CustomScaleLayer": true,
	"UpSampling1D": true, "UpSampling2D": true,
	"RandomFlip": true, "RandomRotation": true, "RandomZoom": true, "RandomTranslation": true,
	"RandomContrast": true, "RandomBrightness": true,
	"Add": true, "Subtract": true, "Multiply": true, "Average": true, "Maximum": true, "Minimum": true, "Concatenate": true,
}

// initKeys lists the config keys of tf.keras 2.13's built-in initializers
// (Keras 3.16 adds input_axes/output_axes to the variance-scaling family,
// which tf.keras 2 refuses).
var initKeys = map[string][]string{
	"GlorotUniform": {"seed"}, "GlorotNormal": {"seed"}, "HeUniform": {"seed"}, "HeNormal": {"seed"},
	"LecunUniform": {"seed"}, "LecunNormal": {"seed"},
	"VarianceScaling": {"scale", "mode", "distribution", "seed"},
	"RandomNormal":    {"mean", "stddev", "seed"}, "TruncatedNormal": {"mean", "stddev", "seed"},
	"RandomUniform": {"minval", "maxval", "seed"},
	"Constant":      {"value"}, "Orthogonal": {"gain", "seed"}, "Identity": {"gain"},
	"Zeros": {}, "Ones": {},
}

// dialect selects the Keras generation a config is written for.
type dialect int

const (
	tf2 dialect = iota // tf.keras 2.13 legacy .h5
	k3                 // Keras 3 .keras
)

// layerConfig returns k's inner config in dialect d. k.cfg is not modified.
func layerConfig(k *kLayer, d dialect) *pyjson.Obj {
	if k.input {
		return inputConfig(k, d)
	}
	in := k.cfg.Clone()
	in.Del("batch_input_shape")
	in.Del("batch_shape")
	in.Del("input_shape")
	if k.class == "LeakyReLU" {
		if d == tf2 {
			rename(in, "negative_slope", "alpha")
		} else {
			rename(in, "alpha", "negative_slope")
		}
	}
	if d == k3 {
		for _, key := range k3Drop[k.class] {
			in.Del(key)
		}
		// tf.keras 2 writes BatchNormalization's axis as a list ([3]);
		// Keras 3's constructors take an int (its legacy .h5 loader converts
		// one-element lists the same way).
		if a, ok := in.Get("axis"); ok {
			if l, ok := a.([]any); ok && len(l) == 1 {
				in.Set("axis", l[0])
			}
		}
	}
	out := pyjson.NewObj()
	keys := in.Keys()
	if allowed, ok := tf2Keys[k.class]; ok && d == tf2 {
		// tf.keras 2.13's get_config order: the base keys, then the class's.
		keys = nil
		for _, key := range append([]string{"name", "trainable", "dtype"}, allowed...) {
			if _, ok := in.Get(key); ok {
				keys = append(keys, key)
			}
		}
	}
	for _, key := range keys {
		v := in.Value(key)
		switch {
		case key == "dtype":
			v = dtypeValue(v, d)
		case strings.HasSuffix(key, "_initializer"):
			v = serialized(v, "keras.initializers", d)
		case strings.HasSuffix(key, "_regularizer"):
			v = serialized(v, "keras.regularizers", d)
		case strings.HasSuffix(key, "_constraint"):
			v = serialized(v, "keras.constraints", d)
		case wrapperKeys[k.class] && (key == "layer" || key == "backward_layer"):
			v = wrappedConfig(v, d)
		}
		out.Set(key, v)
	}
	if _, ok := out.Get("dtype"); !ok {
		out.SetAfter("trainable", "dtype", dtypeValue("float32", d))
	}
	return out
}

func rename(o *pyjson.Obj, from, to string) {
	v, ok := o.Get(from)
	if !ok {
		return
	}
	if _, dup := o.Get(to); !dup {
		o.SetAfter(from, to, v)
	}
	o.Del(from)
}

// inputConfig is an InputLayer's config, built from the graph input.
func inputConfig(k *kLayer, d dialect) *pyjson.Obj {
	shape := []any{}
	for _, s := range k.inShapes[0] {
		if s < 0 {
			shape = append(shape, nil)
		} else {
			shape = append(shape, s)
		}
	}
	o := pyjson.NewObj()
	if d == tf2 {
		o.Set("batch_input_shape", shape)
	} else {
		o.Set("batch_shape", shape)
	}
	dt := "float32"
	if k.inDType == model.Int64 || k.inDType == model.Int32 {
		dt = k.inDType.String() // token ids for an Embedding
	}
	return o.Set("dtype", dt).Set("sparse", false).Set("ragged", false).Set("name", k.name)
}

// dtypeValue renders a layer dtype: a policy name string for tf.keras 2, a
// DTypePolicy object for Keras 3 (without Keras's shared_object_id, a Python
// object id that would make the output differ on every save).
func dtypeValue(v any, d dialect) any {
	name := "float32"
	switch x := v.(type) {
	case string:
		name = x
	case *pyjson.Obj:
		if c, ok := x.Value("config").(*pyjson.Obj); ok && c.Str("name") != "" {
			name = c.Str("name")
		}
	}
	if d == tf2 {
		return name
	}
	return pyjson.NewObj().Set("module", "keras").Set("class_name", "DTypePolicy").
		Set("config", pyjson.NewObj().Set("name", name)).Set("registered_name", nil)
}

// serialized renders a serialized Keras object (initializer, regularizer,
// constraint) in the {"module", "class_name", "config", "registered_name"}
// form both tf.keras 2.13 and Keras 3 write. Custom objects (a bare function
// name, module "builtins", classes Keras does not define) are kept as they
// are: only the user's code can resolve them.
func serialized(v any, module string, d dialect) any {
	o, ok := v.(*pyjson.Obj)
	if !ok {
		return v // nil, or a bare name such as "glorot_uniform" or a custom function
	}
	class := o.Str("class_name")
	if class == "" {
		return v
	}
	if m := o.Str("module"); m != "" && !strings.HasPrefix(m, "keras") {
		return v
	}
	cfg, _ := o.Value("config").(*pyjson.Obj)
	if cfg == nil {
		cfg = pyjson.NewObj()
	} else {
		cfg = cfg.Clone()
	}
	if module == "keras.initializers" {
		keys, known := initKeys[class]
		if !known {
			return v
		}
		if d == tf2 {
			f := pyjson.NewObj()
			for _, k := range keys {
				if x, ok := cfg.Get(k); ok {
					f.Set(k, x)
				}
			}
			cfg = f
		} else if cfg.Str("distribution") == "normal" {
			// Keras 2's "normal" means truncated normal; Keras 3 refuses the alias.
			cfg.Set("distribution", "truncated_normal")
		}
	}
	return pyjson.NewObj().Set("module", module).Set("class_name", class).Set("config", cfg).Set("registered_name", nil)
}

// shapeJSON renders a shape with null for unknown dims; nil when unknown.
func shapeJSON(s []int) any {
	if s == nil {
		return nil
	}
	out := make([]any, len(s))
	for i, d := range s {
		if d < 0 {
			out[i] = nil
		} else {
			out[i] = d
		}
	}
	return out
}

// wrapperKeys are the classes whose config holds serialized layers
// ("layer", Bidirectional's "backward_layer").
var wrapperKeys = map[string]bool{"Bidirectional": true, "TimeDistributed": true}

// wrappedConfig converts a wrapped layer's serialized form to dialect d:
// its config as layerConfig converts a layer's, in the
// {"module", "class_name", "config", "registered_name"} form both tf.keras
// 2.13's and Keras 3's deserializers read (Keras 3's legacy .h5 loader
// needs the module), with the build_config it had for Keras 3.
func wrappedConfig(v any, d dialect) any {
	o, ok := v.(*pyjson.Obj)
	if !ok {
		return v
	}
	inner, _ := o.Value("config").(*pyjson.Obj)
	class := o.Str("class_name")
	if inner == nil || class == "" {
		return v
	}
	cfg := layerConfig(&kLayer{name: inner.Str("name"), class: class, cfg: inner}, d)
	out := pyjson.NewObj().Set("module", "keras.layers").Set("class_name", class).Set("config", cfg).Set("registered_name", nil)
	if bc, ok := o.Get("build_config"); ok && d == k3 {
		out.Set("build_config", bc)
	}
	return out
}
