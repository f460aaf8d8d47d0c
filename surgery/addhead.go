package surgery

import (
	"errors"
	"fmt"
	"math/rand"
	"regexp"
	"strconv"
	"strings"

	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// HeadSpec describes the Dense layer AddHead appends.
type HeadSpec struct {
	Units int
	// Activation is a Keras activation name; "" means linear.
	Activation string
	// KernelInitializer is a Keras initializer name; "" means glorot_uniform,
	// Keras's default for Dense.
	KernelInitializer string
	// Name is the layer name; "" picks "dense", "dense_1", ... the way Keras
	// numbers new layers: one past the highest such name in the model.
	Name string
}

// maxHeadKernel bounds the kernel AddHead draws (2^28 float32 values,
// 1 GiB; model A's largest is 235,200): checked before allocating, so that a
// mistyped --units is an error, not an out-of-memory crash.
const maxHeadKernel = 1 << 28

// AddHead returns a copy of m with a trainable Dense layer appended on its
// single output, which must be 2-D [batch, features]. The kernel [features,
// units] is drawn from spec's initializer with rng; the bias is zeros, as
// Keras initialises it.
func AddHead(m *model.Model, spec HeadSpec, rng *rand.Rand) (*model.Model, error) {
	if spec.Units < 1 {
		return nil, fmt.Errorf("%w: add-head: units must be at least 1, got %d", ErrUsage, spec.Units)
	}
	act := strings.ToLower(spec.Activation)
	if act == "" {
		act = "linear"
	}
	known := false
	for _, a := range layers.Activations() {
		known = known || a == act
	}
	if !known {
		return nil, fmt.Errorf("%w: add-head: unknown activation %q (supported: %s)", ErrUsage, spec.Activation, strings.Join(layers.Activations(), ", "))
	}
	initName := spec.KernelInitializer
	if initName == "" {
		initName = "glorot_uniform"
	}
	canon, ok := layers.InitializerName(initName)
	if !ok {
		return nil, fmt.Errorf("%w: add-head: unknown kernel initializer %q (supported: %s)", ErrUsage, initName, strings.Join(initializers.Names(), ", "))
	}
	if len(m.Outputs) != 1 {
		return nil, fmt.Errorf("surgery: %w: add-head: model %q has %d outputs (%s); add-head needs exactly one (drop the other heads first)", model.ErrUnsupported, m.Name, len(m.Outputs), strings.Join(m.Outputs, ", "))
	}
	name := spec.Name
	if name == "" {
		name = nextName(m, "dense")
	} else if m.Layer(name) != nil || valueUsed(m, name) {
		return nil, fmt.Errorf("%w: add-head: model %q already has a layer or value called %q", ErrUsage, m.Name, name)
	}
	shapes, err := m.InferShapes()
	if err != nil {
		return nil, fmt.Errorf("surgery: add-head: model %q: %w", m.Name, err)
	}
	out := m.Outputs[0]
	v := shapes[out]
	if v == nil || len(v.Shape) != 2 || v.Shape[1] < 1 || v.DType != model.Float32 {
		var shape any = "unknown"
		if v != nil {
			shape = v.Shape
		}
		return nil, fmt.Errorf("surgery: %w: add-head: output %q has shape %v; a Dense head needs a 2-D float [batch, features] output with known features (add a Flatten or pooling layer first)", model.ErrUnsupported, out, shape)
	}
	in := v.Shape[1]
	if n := model.NumElements([]int{in, spec.Units}); n < 0 || n > maxHeadKernel {
		return nil, fmt.Errorf("%w: add-head: %d units on %d features make a kernel of more than %d values; use fewer units", ErrUsage, spec.Units, in, maxHeadKernel)
	}
	kinit := &model.Initializer{Name: canon}
	kernel, err := initializers.Draw(kinit, []int{in, spec.Units}, rng)
	if err != nil {
		if errors.Is(err, initializers.ErrUnknown) {
			return nil, fmt.Errorf("%w: add-head: %w", ErrUsage, err)
		}
		return nil, fmt.Errorf("surgery: add-head: layer %q: kernel: %w", name, err)
	}
	head, err := layers.Dense(layers.DenseSpec{
		Name: name, Input: out, InFeatures: in, Units: spec.Units, Activation: act,
		UseBias: true, Trainable: true, Kernel: kernel, // bias nil: zeros
		KernelInitializer: kinit, BiasInitializer: &model.Initializer{Name: "zeros"},
	})
	if err != nil {
		return nil, fmt.Errorf("surgery: add-head: %w", err)
	}
	c := m.Clone()
	c.Layers = append(c.Layers, head)
	c.Outputs = []string{head.Outputs[0]}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("surgery: add-head: the new model does not validate: %w", err)
	}
	return c, nil
}

// nextName returns base if no layer has it, else base_N with N one past the
// highest suffix in use (Keras's per-class counter, as seen from the model).
func nextName(m *model.Model, base string) string {
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `(?:_(\d+))?$`)
	highest := -1
	for _, l := range m.Layers {
		sub := re.FindStringSubmatch(l.Name)
		if sub == nil {
			continue
		}
		n := 0
		if sub[1] != "" {
			var err error
			if n, err = strconv.Atoi(sub[1]); err != nil {
				continue
			}
		}
		highest = max(highest, n)
	}
	for n := highest + 1; ; n++ {
		name := base
		if n > 0 {
			name += "_" + strconv.Itoa(n)
		}
		if m.Layer(name) == nil && !valueUsed(m, name) {
			return name
		}
	}
}

// valueUsed reports whether a value (graph input, param, const, node output)
// is called name or starts with "name/", the prefix a new layer's values get.
func valueUsed(m *model.Model, name string) bool {
	hit := func(v string) bool { return v == name || strings.HasPrefix(v, name+"/") }
	for _, v := range m.Inputs {
		if hit(v.Name) {
			return true
		}
	}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			if hit(p.Name) {
				return true
			}
		}
		for _, t := range l.Consts {
			if hit(t.Name) {
				return true
			}
		}
		for _, n := range l.Nodes {
			for _, o := range n.Outputs {
				if hit(o) {
					return true
				}
			}
		}
	}
	return false
}
