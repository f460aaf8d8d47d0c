package layers

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// Penalty is a Keras weight regularizer and constraint as training applies
// them: the regularizer adds L1*sum|w| + L2*sum w² to the loss (Keras's L1,
// L2, L1L2); the MaxNorm constraint rescales the weight after each update so
// that its L2 norm over Axes is at most MaxNorm.
type Penalty struct {
	L1, L2  float64
	MaxNorm float64 // 0: no constraint
	Axes    []int   // MaxNorm's axis (Keras's default [0])
}

// None reports whether p neither regularizes nor constrains.
func (p Penalty) None() bool { return p.L1 == 0 && p.L2 == 0 && p.MaxNorm == 0 }

// KernelPenalty reads layer l's kernel_regularizer and kernel_constraint
// from its Keras config (absent or null: none; a layer without a config has
// none). Regularizers L1, L2 and L1L2 are read in Keras 2 and 3 spellings
// ("l1", "l2", "l1_l2" too); a bare name, or a factor absent from the
// config, is Keras's default, 0.01 for L1 and L2 and 0 for each of L1L2's
// (keras.regularizers). The one constraint read is MaxNorm (max_value 2,
// axis 0 by default: keras.constraints.MaxNorm). Any other is
// model.ErrUnsupported, since training without it would silently differ
// from Keras; a malformed value is a *ConfigError naming the layer.
//
// A DepthwiseConv's kernel is its depthwise kernel: its keys are
// depthwise_regularizer and depthwise_constraint. Any other regularizer or
// constraint set in the config (bias_, activity_, gamma_, pointwise_,
// recurrent_, ...) is model.ErrUnsupported too, naming the key: training
// applies only the kernel's.
func KernelPenalty(l *model.Layer) (Penalty, error) {
	c, err := layerKctx(l)
	if err != nil {
		return Penalty{}, err
	}
	kernel := "kernel"
	if strings.HasPrefix(l.Kind, "DepthwiseConv") {
		kernel = "depthwise"
	}
	var p Penalty
	if p.L1, p.L2, err = c.regularizer(kernel + "_regularizer"); err != nil {
		return Penalty{}, err
	}
	if p.MaxNorm, p.Axes, err = c.maxNorm(kernel + "_constraint"); err != nil {
		return Penalty{}, err
	}
	for _, key := range slices.Sorted(maps.Keys(c.cfg)) {
		if (strings.HasSuffix(key, "_regularizer") || strings.HasSuffix(key, "_constraint")) &&
			!strings.HasPrefix(key, kernel+"_") && c.has(key) {
			return Penalty{}, fmt.Errorf("keras: %w: layer %q (%s): %s: training applies only the %s's regularizer and constraint; set %s to null in the model to train without it",
				model.ErrUnsupported, c.Name, c.Class, key, strings.ReplaceAll(kernel, "depthwise", "depthwise kernel"), key)
		}
	}
	return p, nil
}

// regularizer reads an L1, L2 or L1L2 regularizer's factors (0, 0 when
// the key is absent).
func (c *kctx) regularizer(key string) (l1, l2 float64, err error) {
	if !c.has(key) {
		return 0, 0, nil
	}
	class, cfg, err := c.object(key)
	if err != nil {
		return 0, 0, err
	}
	switch class {
	case "L1", "l1":
		l1, err = c.objFloat(key, cfg, "l1", 0.01)
	case "L2", "l2":
		l2, err = c.objFloat(key, cfg, "l2", 0.01)
	case "L1L2", "l1_l2":
		if l1, err = c.objFloat(key, cfg, "l1", 0); err == nil {
			l2, err = c.objFloat(key, cfg, "l2", 0)
		}
	default:
		return 0, 0, fmt.Errorf("keras: %w: layer %q (%s): %s %q (supported: L1, L2, L1L2)", model.ErrUnsupported, c.Name, c.Class, key, class)
	}
	if err != nil {
		return 0, 0, err
	}
	if l1 < 0 || l2 < 0 {
		return 0, 0, c.errf(key, "negative factors l1 %v, l2 %v", l1, l2)
	}
	return l1, l2, nil
}

// maxNorm reads a MaxNorm constraint (0, nil when the key is absent).
func (c *kctx) maxNorm(key string) (float64, []int, error) {
	if !c.has(key) {
		return 0, nil, nil
	}
	class, cfg, err := c.object(key)
	if err != nil {
		return 0, nil, err
	}
	if class != "MaxNorm" && class != "max_norm" {
		return 0, nil, fmt.Errorf("keras: %w: layer %q (%s): %s %q (supported: MaxNorm)", model.ErrUnsupported, c.Name, c.Class, key, class)
	}
	v, err := c.objFloat(key, cfg, "max_value", 2)
	if err != nil {
		return 0, nil, err
	}
	if !(v > 0) {
		return 0, nil, c.errf(key, "MaxNorm max_value %v must be positive", v)
	}
	axes := []int{0}
	if raw, ok := cfg["axis"]; ok && string(raw) != "null" {
		var one int
		if json.Unmarshal(raw, &one) == nil {
			axes = []int{one}
		} else if json.Unmarshal(raw, &axes) != nil {
			return 0, nil, c.errf(key, "MaxNorm axis is not an integer or a list of integers: %s", clip(raw))
		}
	}
	return v, axes, nil
}

// object reads a serialized Keras object (a regularizer, a constraint)
// under key: a bare name, or {"class_name", "config"} (Keras 3 adds module
// and registered_name). cfg is nil for a bare name or no config.
func (c *kctx) object(key string) (class string, cfg map[string]json.RawMessage, err error) {
	raw := c.cfg[key]
	if json.Unmarshal(raw, &class) == nil {
		return class, nil, nil
	}
	var obj struct {
		ClassName string                     `json:"class_name"`
		Config    map[string]json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.ClassName == "" {
		return "", nil, c.errf(key, "not a serialized Keras object: %s", clip(raw))
	}
	return obj.ClassName, obj.Config, nil
}

// objFloat reads number name of the config of the object under key, def
// when absent or null.
func (c *kctx) objFloat(key string, cfg map[string]json.RawMessage, name string, def float64) (float64, error) {
	raw, ok := cfg[name]
	if !ok || string(raw) == "null" {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, c.errf(key, "%s is not a number: %s", name, clip(raw))
	}
	return v, nil
}
