package keras

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// lctx is what a layer-kind handler sees.
type lctx struct {
	e         *layerEntry
	inputs    []string
	inShapes  [][]int
	trainable bool
	weights   []weight
	found     bool // the file has an entry for the layer
	used      int  // weights consumed by take
	major     int  // Keras major version of the file
	// kinds is the registry of layer classes, for wrappers that build the
	// layer they wrap (a field, not a reference to the map, to keep the
	// map literal free of an initialization cycle).
	kinds map[string]kindFn
}

// cfgError is a config value of the wrong type or range.
type cfgError struct {
	layer, class, key, msg string
}

func (e *cfgError) Error() string {
	return fmt.Sprintf("keras: layer %q (%s): config %q: %s", e.layer, e.class, e.key, e.msg)
}

func (e *cfgError) Unwrap() error { return ErrFormat }

func (c *lctx) errf(key, format string, args ...any) error {
	return &cfgError{layer: c.e.name, class: c.e.class, key: key, msg: fmt.Sprintf(format, args...)}
}

func (c *lctx) common() layers.Common {
	return layers.Common{Name: c.e.name, Inputs: c.inputs, Trainable: c.trainable, Config: c.e.config}
}

func (c *lctx) has(key string) bool {
	v, ok := c.e.cfg[key]
	return ok && string(v) != "null"
}

func (c *lctx) float(key string, def float64) (float64, error) {
	if !c.has(key) {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(c.e.cfg[key], &v); err != nil {
		return 0, c.errf(key, "not a number: %s", clip(c.e.cfg[key]))
	}
	return v, nil
}

func (c *lctx) int(key string, def int) (int, error) {
	if !c.has(key) {
		return def, nil
	}
	var v int
	if err := json.Unmarshal(c.e.cfg[key], &v); err != nil {
		// A one-element list, as some Keras versions save axis.
		var l []int
		if json.Unmarshal(c.e.cfg[key], &l) == nil && len(l) == 1 {
			return l[0], nil
		}
		return 0, c.errf(key, "not an integer: %s", clip(c.e.cfg[key]))
	}
	return v, nil
}

func (c *lctx) bool(key string, def bool) (bool, error) {
	if !c.has(key) {
		return def, nil
	}
	var v bool
	if err := json.Unmarshal(c.e.cfg[key], &v); err != nil {
		return false, c.errf(key, "not a boolean: %s", clip(c.e.cfg[key]))
	}
	return v, nil
}

func (c *lctx) str(key, def string) (string, error) {
	if !c.has(key) {
		return def, nil
	}
	var v string
	if err := json.Unmarshal(c.e.cfg[key], &v); err != nil {
		return "", c.errf(key, "not a string: %s", clip(c.e.cfg[key]))
	}
	return v, nil
}

// ints reads an int or a list of n ints (Keras accepts both for sizes),
// each in 1..2^20.
func (c *lctx) ints(key string, n int, def []int) ([]int, error) {
	if !c.has(key) {
		return def, nil
	}
	var one int
	var l []int
	if json.Unmarshal(c.e.cfg[key], &one) == nil {
		l = make([]int, n)
		for i := range l {
			l[i] = one
		}
	} else if err := json.Unmarshal(c.e.cfg[key], &l); err != nil || len(l) != n {
		return nil, c.errf(key, "want an integer or %d integers, got %s", n, clip(c.e.cfg[key]))
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
func (c *lctx) activation(key string) (string, error) {
	if !c.has(key) {
		return "linear", nil
	}
	var name string
	if err := json.Unmarshal(c.e.cfg[key], &name); err != nil {
		var obj struct {
			ClassName string `json:"class_name"`
		}
		_ = json.Unmarshal(c.e.cfg[key], &obj)
		return "", fmt.Errorf("keras: %w: layer %q (%s): custom activation object %q (supported: %v)", model.ErrUnsupported, c.e.name, c.e.class, obj.ClassName, layers.Activations())
	}
	act := layers.KerasActivation(name, c.major)
	if !slices.Contains(layers.Activations(), act) {
		return "", fmt.Errorf("keras: %w: layer %q (%s): activation %q is not a built-in Keras activation xfer knows (custom function?) (supported: %v)", model.ErrUnsupported, c.e.name, c.e.class, name, layers.Activations())
	}
	return act, nil
}

// init reads an initializer: a bare name ("glorot_uniform", or a custom
// function such as "random_kernel", kept as is) or an object
// {"class_name": ..., "config": ...} (Keras 3 adds module/registered_name).
func (c *lctx) init(key string) (*model.Initializer, error) {
	if !c.has(key) {
		return nil, nil
	}
	raw := c.e.cfg[key]
	var name string
	if json.Unmarshal(raw, &name) == nil {
		n, _ := layers.InitializerName(name)
		return &model.Initializer{Name: n}, nil
	}
	var obj struct {
		ClassName string          `json:"class_name"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.ClassName == "" {
		return nil, c.errf(key, "not an initializer: %s", clip(raw))
	}
	n, _ := layers.InitializerName(obj.ClassName)
	in := &model.Initializer{Name: n}
	if len(obj.Config) > 0 && string(obj.Config) != "null" {
		in.Config = append(json.RawMessage(nil), obj.Config...)
	}
	return in, nil
}

// inShape returns the shape of input i, checking its rank when rank > 0.
func (c *lctx) inShape(i, rank int) ([]int, error) {
	if i >= len(c.inShapes) || c.inShapes[i] == nil {
		return nil, fmt.Errorf("%w: layer %q (%s): input %d has no known shape", ErrFormat, c.e.name, c.e.class, i)
	}
	s := c.inShapes[i]
	if rank > 0 && len(s) != rank {
		return nil, fmt.Errorf("%w: layer %q (%s): input shape %v has rank %d, want %d", ErrFormat, c.e.name, c.e.class, s, len(s), rank)
	}
	return s, nil
}

// take consumes the layer's next stored weight, which must have shape want
// (a -1 in want accepts any size there); it returns the data and the
// weight's actual shape.
func (c *lctx) take(role string, want []int) ([]float32, []int, error) {
	if c.used < len(c.weights) && c.weights[c.used].intErr != nil {
		return nil, nil, c.weights[c.used].intErr
	}
	return c.takeInt(role, want)
}

// takeInt is take for a weight Keras may store as integers (Normalization's
// count): integer and float datasets are both accepted.
func (c *lctx) takeInt(role string, want []int) ([]float32, []int, error) {
	if c.used >= len(c.weights) {
		where := "the file stores no weights for it"
		if c.found {
			where = fmt.Sprintf("the file stores only %d weights", len(c.weights))
		}
		return nil, nil, fmt.Errorf("%w: layer %q (%s): weight %q is missing: %s", ErrFormat, c.e.name, c.e.class, role, where)
	}
	w := c.weights[c.used]
	c.used++
	ok := len(w.shape) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = want[i] < 0 || want[i] == w.shape[i]
	}
	if !ok {
		return nil, nil, fmt.Errorf("%w: layer %q (%s): weight %q (%s): stored shape %v does not match the config's %v", ErrFormat, c.e.name, c.e.class, role, w.name, w.shape, want)
	}
	return w.data, w.shape, nil
}
