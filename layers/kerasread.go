package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// KerasEntry is one layer of a Keras file as its reader sees it: the class
// and config as stored, the values it reads and their shapes, and its stored
// weights in Keras's order.
type KerasEntry struct {
	Name, Class string
	// Module is the Keras 3 serialisation's module ("keras.layers"), empty
	// in a tf.keras 2 file.
	Module string
	// Config is the layer's config object as read.
	Config   json.RawMessage
	Inputs   []string
	InShapes [][]int // Keras shapes of Inputs, -1 for unknown dims
	// Trainable is the layer's effective trainable flag.
	Trainable bool
	Weights   []StoredWeight
	// Found is true when the file has a weights entry for the layer.
	Found bool
	// Major is the Keras major version that wrote the file.
	Major int
}

// StoredWeight is one weight of a layer as a Keras file stores it.
type StoredWeight struct {
	Name  string // as stored (weight_names entry or vars/<i>)
	Shape []int
	Data  []float32
	// Err refuses the weight where it is not float data (an integer
	// dataset), except where a layer stores integers (kctx.takeInt).
	Err error
}

// ErrKerasFormat marks a Keras layer config or weight set that does not
// describe a valid layer (importers/keras.ErrFormat is the same value).
var ErrKerasFormat = errors.New("keras: bad format")

// kerasReader reads one Keras layer class and returns the layer and its
// output shape (Keras's compute_output_shape, -1 for unknown dims).
type kerasReader func(c *kctx) (*model.Layer, []int, error)

// kctx is what a layer-class reader sees.
type kctx struct {
	*KerasEntry
	cfg  map[string]json.RawMessage
	used int // weights consumed by take
	// readers is kerasReaders, for wrappers that read the layer they wrap
	// (a field, not a reference to the map, to keep the map literal free of
	// an initialization cycle).
	readers map[string]kerasReader
}

// IsKerasOperation reports whether a Keras 3 config entry of module is an
// operation node (a keras.src.ops function applied to tensors), not a layer.
func IsKerasOperation(module string) bool { return strings.HasPrefix(module, "keras.src.ops.") }

// ReadKeras builds the layer e describes from its Keras config and stored
// weights, and returns it with its output shape. Every stored weight must be
// used. Errors wrap ErrKerasFormat (a bad config or weight) or
// model.ErrUnsupported (a class or setting xfer does not read).
func ReadKeras(e *KerasEntry) (*model.Layer, []int, error) {
	read, ok := kerasReaders[e.Class]
	if !ok {
		return nil, nil, fmt.Errorf("keras: %w: layer %q: layer class %q (supported: %s)", model.ErrUnsupported, e.Name, e.Class, strings.Join(KerasClasses(), ", "))
	}
	c, err := newKctx(e)
	if err != nil {
		return nil, nil, err
	}
	l, out, err := read(c)
	if err != nil {
		return nil, nil, err
	}
	if len(c.Weights) != c.used {
		return nil, nil, fmt.Errorf("%w: layer %q (%s): the file stores %d weights, the config needs %d", ErrKerasFormat, e.Name, e.Class, len(c.Weights), c.used)
	}
	return l, out, nil
}

func newKctx(e *KerasEntry) (*kctx, error) {
	c := &kctx{KerasEntry: e, cfg: map[string]json.RawMessage{}, readers: kerasReaders}
	if len(bytes.TrimSpace(e.Config)) > 0 && string(bytes.TrimSpace(e.Config)) != "null" {
		if err := json.Unmarshal(e.Config, &c.cfg); err != nil {
			return nil, fmt.Errorf("%w: layer %q (%s): config is not a JSON object: %v", ErrKerasFormat, e.Name, e.Class, err)
		}
	}
	return c, nil
}

// layerKctx is the kctx of a built layer's kept Keras config (Config nil
// reads as {}: every key at its Keras default), for the accessors that read
// one setting other packages need (KernelPenalty, BatchNormConfig,
// NoiseRate, RReLUConfig, ConfigActivation) with the readers' own methods.
func layerKctx(l *model.Layer) (*kctx, error) {
	return newKctx(&KerasEntry{Name: l.Name, Class: l.Kind, Config: l.Config})
}

// KerasClasses lists the Keras layer classes ReadKeras reads, sorted.
func KerasClasses() []string {
	names := make([]string, 0, len(kerasReaders))
	for k := range kerasReaders {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// kerasReaders is the registry of Keras layer classes (InputLayer, nested
// models and operation nodes are the importer's).
var kerasReaders = map[string]kerasReader{
	"Dense":                  readDense,
	"Activation":             readActivation,
	"ReLU":                   readRelu,
	"LeakyReLU":              readLeakyReLU,
	"PReLU":                  readPrelu,
	"ELU":                    readElu,
	"Softmax":                readSoftmax,
	"Dropout":                readDropout("Dropout"),
	"AlphaDropout":           readDropout("AlphaDropout"),
	"GaussianDropout":        readDropout("GaussianDropout"),
	"GaussianNoise":          readDropout("GaussianNoise"),
	"Flatten":                readFlatten,
	"Reshape":                readReshape,
	"Permute":                readPermute,
	"BatchNormalization":     readBatchNorm,
	"Conv1D":                 readConv(1),
	"Conv2D":                 readConv(2),
	"DepthwiseConv2D":        readDepthwise,
	"SeparableConv1D":        readSeparable(1),
	"SeparableConv2D":        readSeparable(2),
	"MaxPooling1D":           readPool(1, true),
	"MaxPooling2D":           readPool(2, true),
	"AveragePooling1D":       readPool(1, false),
	"AveragePooling2D":       readPool(2, false),
	"GlobalAveragePooling1D": readGlobalPool(1, false),
	"GlobalAveragePooling2D": readGlobalPool(2, false),
	"GlobalMaxPooling1D":     readGlobalPool(1, true),
	"GlobalMaxPooling2D":     readGlobalPool(2, true),
	"ZeroPadding1D":          readZeroPadding(1),
	"ZeroPadding2D":          readZeroPadding(2),
	"Cropping1D":             readCropping(1),
	"Cropping2D":             readCropping(2),
	"UpSampling1D":           readUpSampling(1),
	"UpSampling2D":           readUpSampling(2),
	"Conv1DTranspose":        readConvTranspose(1),
	"Conv2DTranspose":        readConvTranspose(2),
	"SimpleRNN":              readRecurrent("SimpleRNN"),
	"LSTM":                   readRecurrent("LSTM"),
	"GRU":                    readRecurrent("GRU"),
	"Bidirectional":          readBidirectional,
	"TimeDistributed":        readTimeDistributed,
	"LayerNormalization":     readLayerNorm,
	"MultiHeadAttention":     readMultiHeadAttention,
	"LayerScale":             readLayerScale,
	"CustomScaleLayer":       readCustomScale,
	"Add":                    readMerge("Add"),
	"Subtract":               readMerge("Subtract"),
	"Multiply":               readMerge("Multiply"),
	"Average":                readMerge("Average"),
	"Maximum":                readMerge("Maximum"),
	"Minimum":                readMerge("Minimum"),
	"Concatenate":            readConcatenate,
	"Rescaling":              readRescaling,
	"Normalization":          readNormalization,
	"Embedding":              readEmbedding,
	"Identity":               readIdentity,
	"RandomFlip":             readAugment("RandomFlip"),
	"RandomRotation":         readAugment("RandomRotation"),
	"RandomZoom":             readAugment("RandomZoom"),
	"RandomTranslation":      readAugment("RandomTranslation"),
	"RandomContrast":         readAugment("RandomContrast"),
	"RandomBrightness":       readAugment("RandomBrightness"),
}

// kerasWeights is the order in which Keras creates (and saves) each kind's
// weights, the order its reader takes them in; a layer of a listed kind
// holds only these roles. Other kinds keep the order they were read in.
var kerasWeights = map[string][]string{
	"Dense":              {"kernel", "bias"},
	"Conv1D":             {"kernel", "bias"},
	"Conv2D":             {"kernel", "bias"},
	"Conv3D":             {"kernel", "bias"},
	"DepthwiseConv2D":    {"depthwise_kernel", "bias"},
	"BatchNormalization": {"gamma", "beta", "moving_mean", "moving_variance"},
	"PReLU":              {"alpha"},
	"Normalization":      {"mean", "variance", "count"},
	"Embedding":          {"embeddings"},
	"SeparableConv1D":    {"depthwise_kernel", "pointwise_kernel", "bias"},
	"SeparableConv2D":    {"depthwise_kernel", "pointwise_kernel", "bias"},
	"MultiHeadAttention": {"query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel", "value/bias", "attention_output/kernel", "attention_output/bias"},
}

// KerasWeightOrder returns the order in which Keras saves the weights of a
// layer class (tf.keras 2 names), and false for a class whose weights are
// saved in the order its reader took them (recurrent layers, wrappers,
// LayerNormalization...).
func KerasWeightOrder(class string) ([]string, bool) {
	o, ok := kerasWeights[class]
	return o, ok
}

// KerasIntWeight reports whether Keras keeps a weight of a layer class as
// an integer variable (Normalization's count).
func KerasIntWeight(class, role string) bool { return class == "Normalization" && role == "count" }

// ConfigError is a Keras config value of the wrong type or range; it wraps
// ErrKerasFormat.
type ConfigError struct {
	Layer, Class, Key, Msg string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("keras: layer %q (%s): config %q: %s", e.Layer, e.Class, e.Key, e.Msg)
}

func (e *ConfigError) Unwrap() error { return ErrKerasFormat }

func (c *kctx) errf(key, format string, args ...any) error {
	return &ConfigError{Layer: c.Name, Class: c.Class, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (c *kctx) common() Common {
	return Common{Name: c.Name, Inputs: c.Inputs, Trainable: c.Trainable, Config: c.Config}
}

func (c *kctx) has(key string) bool {
	v, ok := c.cfg[key]
	return ok && string(v) != "null"
}

func (c *kctx) float(key string, def float64) (float64, error) {
	if !c.has(key) {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(c.cfg[key], &v); err != nil {
		return 0, c.errf(key, "not a number: %s", clip(c.cfg[key]))
	}
	return v, nil
}

func (c *kctx) int(key string, def int) (int, error) {
	if !c.has(key) {
		return def, nil
	}
	var v int
	if err := json.Unmarshal(c.cfg[key], &v); err != nil {
		// A one-element list, as some Keras versions save axis.
		var l []int
		if json.Unmarshal(c.cfg[key], &l) == nil && len(l) == 1 {
			return l[0], nil
		}
		return 0, c.errf(key, "not an integer: %s", clip(c.cfg[key]))
	}
	return v, nil
}

// intList reads an int or a list of ints (an axis or axes).
func (c *kctx) intList(key string, def []int) ([]int, error) {
	if !c.has(key) {
		return def, nil
	}
	var one int
	if json.Unmarshal(c.cfg[key], &one) == nil {
		return []int{one}, nil
	}
	var l []int
	if err := json.Unmarshal(c.cfg[key], &l); err != nil {
		return nil, c.errf(key, "not an integer or a list of integers: %s", clip(c.cfg[key]))
	}
	return l, nil
}

func (c *kctx) bool(key string, def bool) (bool, error) {
	if !c.has(key) {
		return def, nil
	}
	var v bool
	if err := json.Unmarshal(c.cfg[key], &v); err != nil {
		return false, c.errf(key, "not a boolean: %s", clip(c.cfg[key]))
	}
	return v, nil
}

func (c *kctx) str(key, def string) (string, error) {
	if !c.has(key) {
		return def, nil
	}
	var v string
	if err := json.Unmarshal(c.cfg[key], &v); err != nil {
		return "", c.errf(key, "not a string: %s", clip(c.cfg[key]))
	}
	return v, nil
}

// ints reads an int or a list of n ints (Keras accepts both for sizes),
// each in 1..2^20.
func (c *kctx) ints(key string, n int, def []int) ([]int, error) {
	if !c.has(key) {
		return def, nil
	}
	var one int
	var l []int
	if json.Unmarshal(c.cfg[key], &one) == nil {
		l = make([]int, n)
		for i := range l {
			l[i] = one
		}
	} else if err := json.Unmarshal(c.cfg[key], &l); err != nil || len(l) != n {
		return nil, c.errf(key, "want an integer or %d integers, got %s", n, clip(c.cfg[key]))
	}
	for _, v := range l {
		if v <= 0 || v > 1<<20 {
			return nil, c.errf(key, "value %d out of range", v)
		}
	}
	return l, nil
}

// activation reads an activation name and maps it for the file's Keras
// version.
func (c *kctx) activation(key string) (string, error) {
	if !c.has(key) {
		return "linear", nil
	}
	var name string
	if err := json.Unmarshal(c.cfg[key], &name); err != nil {
		var obj struct {
			ClassName string `json:"class_name"`
		}
		_ = json.Unmarshal(c.cfg[key], &obj)
		return "", fmt.Errorf("keras: %w: layer %q (%s): custom activation object %q (supported: %v)", model.ErrUnsupported, c.Name, c.Class, obj.ClassName, Activations())
	}
	act := KerasActivation(name, c.Major)
	if !slices.Contains(Activations(), act) {
		return "", fmt.Errorf("keras: %w: layer %q (%s): activation %q is not a built-in Keras activation xfer knows (custom function?) (supported: %v)", model.ErrUnsupported, c.Name, c.Class, name, Activations())
	}
	return act, nil
}

// init reads an initializer: a bare name ("glorot_uniform", or a custom
// function such as "random_kernel", kept as is) or an object
// {"class_name": ..., "config": ...} (Keras 3 adds module/registered_name).
func (c *kctx) init(key string) (*model.Initializer, error) {
	if !c.has(key) {
		return nil, nil
	}
	raw := c.cfg[key]
	var name string
	if json.Unmarshal(raw, &name) == nil {
		n, _ := InitializerName(name)
		return &model.Initializer{Name: n}, nil
	}
	var obj struct {
		ClassName string          `json:"class_name"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.ClassName == "" {
		return nil, c.errf(key, "not an initializer: %s", clip(raw))
	}
	n, _ := InitializerName(obj.ClassName)
	in := &model.Initializer{Name: n}
	if len(obj.Config) > 0 && string(obj.Config) != "null" {
		in.Config = append(json.RawMessage(nil), obj.Config...)
	}
	return in, nil
}

// inShape returns the shape of input i, checking its rank when rank > 0.
func (c *kctx) inShape(i, rank int) ([]int, error) {
	if i >= len(c.InShapes) || c.InShapes[i] == nil {
		return nil, fmt.Errorf("%w: layer %q (%s): input %d has no known shape", ErrKerasFormat, c.Name, c.Class, i)
	}
	s := c.InShapes[i]
	if rank > 0 && len(s) != rank {
		return nil, fmt.Errorf("%w: layer %q (%s): input shape %v has rank %d, want %d", ErrKerasFormat, c.Name, c.Class, s, len(s), rank)
	}
	return s, nil
}

// take consumes the layer's next stored weight, which must have shape want
// (a -1 in want accepts any size there); it returns the data and the
// weight's actual shape.
func (c *kctx) take(role string, want []int) ([]float32, []int, error) {
	if c.used < len(c.Weights) && c.Weights[c.used].Err != nil {
		return nil, nil, c.Weights[c.used].Err
	}
	return c.takeInt(role, want)
}

// takeBias takes the layer's "bias" weight of n values when use is set.
func (c *kctx) takeBias(use bool, n int) ([]float32, error) {
	if !use {
		return nil, nil
	}
	b, _, err := c.take("bias", []int{n})
	return b, err
}

// takeInt is take for a weight Keras may store as integers (Normalization's
// count): integer and float datasets are both accepted.
func (c *kctx) takeInt(role string, want []int) ([]float32, []int, error) {
	if c.used >= len(c.Weights) {
		where := "the file stores no weights for it"
		if c.Found {
			where = fmt.Sprintf("the file stores only %d weights", len(c.Weights))
		}
		return nil, nil, fmt.Errorf("%w: layer %q (%s): weight %q is missing: %s", ErrKerasFormat, c.Name, c.Class, role, where)
	}
	w := c.Weights[c.used]
	c.used++
	ok := len(w.Shape) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = want[i] < 0 || want[i] == w.Shape[i]
	}
	if !ok {
		return nil, nil, fmt.Errorf("%w: layer %q (%s): weight %q (%s): stored shape %v does not match the config's %v", ErrKerasFormat, c.Name, c.Class, role, w.Name, w.Shape, want)
	}
	return w.Data, w.Shape, nil
}

// flattenNumbers appends the numbers of a number or rectangular nested list
// to vals and records the dims of the first visit of each depth.
func FlattenNumbers(raw json.RawMessage, depth int, vals *[]float32, dims *[]int) error {
	if depth > 8 {
		return errDeep
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		if depth != len(*dims) {
			return errDeep
		}
		*vals = append(*vals, float32(f))
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return err
	}
	if depth == len(*dims) {
		*dims = append(*dims, len(items))
	} else if depth > len(*dims) || (*dims)[depth] != len(items) {
		return errDeep
	}
	for _, it := range items {
		if err := FlattenNumbers(it, depth+1, vals, dims); err != nil {
			return err
		}
	}
	return nil
}

var errDeep = &unsupported{"not a rectangular nested list of at most 8 levels"}

// pairs reads a ZeroPadding or Cropping size: an int (every side), nd
// ints (both sides of each dim; a (left, right) pair for nd 1), or nd
// (before, after) pairs; absent means def on every side.
func (c *kctx) pairs(key string, nd, def int) ([][2]int, error) {
	raw := c.cfg[key]
	out := make([][2]int, nd)
	var one int
	var flat []int
	var nested [][]int
	switch {
	case !c.has(key):
		for i := range out {
			out[i] = [2]int{def, def}
		}
	case json.Unmarshal(raw, &one) == nil:
		for i := range out {
			out[i] = [2]int{one, one}
		}
	case json.Unmarshal(raw, &flat) == nil && nd == 1 && len(flat) == 2:
		out[0] = [2]int{flat[0], flat[1]}
	case json.Unmarshal(raw, &flat) == nil && nd >= 2 && len(flat) == nd:
		for i, v := range flat {
			out[i] = [2]int{v, v}
		}
	case json.Unmarshal(raw, &nested) == nil && len(nested) == nd:
		for i, p := range nested {
			if len(p) != 2 {
				return nil, c.errf(key, "want (before, after) pairs, got %s", clip(raw))
			}
			out[i] = [2]int{p[0], p[1]}
		}
	default:
		return nil, c.errf(key, "unreadable: %s", clip(raw))
	}
	for _, p := range out {
		if p[0] < 0 || p[1] < 0 || p[0] > 1<<20 || p[1] > 1<<20 {
			return nil, c.errf(key, "out of range: %s", clip(raw))
		}
	}
	return out, nil
}

// floatsOrOne reads a float or a list of floats (Rescaling's scale/offset).
func (c *kctx) floatsOrOne(key string, def float64) ([]float32, error) {
	if !c.has(key) {
		return []float32{float32(def)}, nil
	}
	var one float64
	if json.Unmarshal(c.cfg[key], &one) == nil {
		return []float32{float32(one)}, nil
	}
	var l []float32
	if err := json.Unmarshal(c.cfg[key], &l); err != nil || len(l) == 0 {
		return nil, c.errf(key, "want a number or a list of numbers, got %s", clip(c.cfg[key]))
	}
	return l, nil
}

func sameShape(c *kctx) []int { return append([]int(nil), c.InShapes[0]...) }

// clip shortens a config value for an error message.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// unsupported is a setting xfer does not read.
type unsupported struct{ msg string }

func (e *unsupported) Error() string { return e.msg }
func (e *unsupported) Unwrap() error { return model.ErrUnsupported }

// inner returns a context for the layer config held under key (a
// wrapper's "layer" or Bidirectional's "backward_layer"), sharing c's
// inputs and weights; ok is false when the key is absent.
func (c *kctx) inner(key string) (*kctx, bool, error) {
	if !c.has(key) {
		return nil, false, nil
	}
	var obj struct {
		ClassName string          `json:"class_name"`
		Module    string          `json:"module"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(c.cfg[key], &obj); err != nil || obj.ClassName == "" {
		return nil, false, c.errf(key, "not a serialized layer: %s", clip(c.cfg[key]))
	}
	e := *c.KerasEntry
	e.Class, e.Module, e.Config, e.Name = obj.ClassName, obj.Module, obj.Config, ""
	ic := *c
	ic.KerasEntry = &e
	ic.cfg = nil
	if err := json.Unmarshal(obj.Config, &ic.cfg); err != nil || ic.cfg == nil {
		return nil, false, c.errf(key, "layer config is not an object")
	}
	_ = json.Unmarshal(ic.cfg["name"], &e.Name)
	if e.Name == "" {
		return nil, false, c.errf(key, "the wrapped layer has no name")
	}
	return &ic, true, nil
}
