package surgery

import (
	"errors"
	"fmt"
	"math/rand"
	"regexp"
	"slices"
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
	// Pool, "avg" or "max", first pools the output over its spatial axes: a
	// Keras GlobalAveragePooling or GlobalMaxPooling layer on a
	// channels-last output, the same reduction over axes 2.. (ReduceMean,
	// ReduceMax, as ONNX's GlobalAveragePool) on the channels-first output
	// of a model read from ONNX. "" pools nothing.
	Pool string
	// Flatten then flattens the output to [batch, features] (Keras Flatten):
	// a CNN cut at [N, 1000, 1, 1] gets a Dense head.
	Flatten bool
	// Dropout > 0 then puts a Keras Dropout of that rate before the Dense
	// layer (Keras's transfer-learning head: pooling, Dropout, Dense).
	Dropout float64
}

// maxHeadKernel bounds the kernel AddHead draws (2^28 float32 values,
// 1 GiB; model A's largest is 235,200): checked before allocating, so that a
// mistyped --units is an error, not an out-of-memory crash.
const maxHeadKernel = 1 << 28

// AddHead returns a copy of m with a trainable Dense layer appended on its
// single output, after the pooling, Flatten and Dropout layers spec asks
// for; the Dense layer's input must be 2-D [batch, features]. The kernel
// [features, units] is drawn from spec's initializer with rng; the bias is
// zeros, as Keras initialises it.
func AddHead(m *model.Model, spec HeadSpec, rng *rand.Rand) (*model.Model, error) {
	if spec.Units < 1 {
		return nil, fmt.Errorf("%w: add-head: units must be at least 1, got %d", ErrUsage, spec.Units)
	}
	if spec.Pool != "" && spec.Pool != "avg" && spec.Pool != "max" {
		return nil, fmt.Errorf("%w: add-head: pooling %q (want avg or max)", ErrUsage, spec.Pool)
	}
	if !(spec.Dropout >= 0 && spec.Dropout < 1) {
		return nil, fmt.Errorf("%w: add-head: dropout rate %v is not in [0, 1)", ErrUsage, spec.Dropout)
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
	if spec.Name != "" && (m.Layer(spec.Name) != nil || valueUsed(m, spec.Name)) {
		return nil, fmt.Errorf("%w: add-head: model %q already has a layer or value called %q", ErrUsage, m.Name, spec.Name)
	}
	c := m.Clone()
	if err := addHeadPrefix(c, spec); err != nil {
		return nil, err
	}
	name := spec.Name
	if name == "" {
		name = nextName(c, "dense")
	}
	shapes, err := c.InferShapes()
	if err != nil {
		return nil, fmt.Errorf("surgery: add-head: model %q: %w", m.Name, err)
	}
	out := c.Outputs[0]
	v := shapes[out]
	if v == nil || len(v.Shape) != 2 || v.Shape[1] < 1 || v.DType != model.Float32 {
		return nil, fmt.Errorf("surgery: %w: add-head: the model ends at %s; a Dense head needs a 2-D float [batch, features] output with known features: put a Flatten or a pooling layer before it (add-head --flatten, or --pool avg|max)", model.ErrUnsupported, endsAt(c, out, v))
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
	c.Layers = append(c.Layers, head)
	c.Outputs = []string{head.Outputs[0]}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("surgery: add-head: the new model does not validate: %w", err)
	}
	return c, nil
}

// addHeadPrefix appends to c, on its single output, the pooling, Flatten
// and Dropout layers spec asks for, in that order (the layers Keras's
// transfer-learning guide puts between a base and its Dense head).
func addHeadPrefix(c *model.Model, spec HeadSpec) error {
	appendLayer := func(l *model.Layer, err error) error {
		if err != nil {
			return fmt.Errorf("surgery: add-head: %w", err)
		}
		c.Layers = append(c.Layers, l)
		c.Outputs = []string{l.Outputs[0]}
		return nil
	}
	if spec.Pool != "" {
		shapes, err := c.InferShapes()
		if err != nil {
			return fmt.Errorf("surgery: add-head: model %q: %w", c.Name, err)
		}
		out := c.Outputs[0]
		v := shapes[out]
		if v == nil || len(v.Shape) < 3 {
			return fmt.Errorf("%w: add-head --pool %s: the model ends at %s; pooling needs [batch, spatial..., channels] (a 2-D output takes the Dense head as it is)", ErrUsage, spec.Pool, endsAt(c, out, v))
		}
		if err := appendLayer(globalPool(c, out, len(v.Shape), spec.Pool == "max")); err != nil {
			return err
		}
	}
	if spec.Flatten {
		if err := appendLayer(layers.Flatten(layers.Common{Name: nextName(c, "flatten"), Inputs: []string{c.Outputs[0]}, Trainable: true})); err != nil {
			return err
		}
	}
	if spec.Dropout > 0 {
		if err := appendLayer(layers.Dropout(layers.DropoutSpec{Common: layers.Common{Name: nextName(c, "dropout"), Inputs: []string{c.Outputs[0]}, Trainable: true},
			Kind: "Dropout", Rate: float32(spec.Dropout)})); err != nil {
			return err
		}
	}
	return nil
}

// globalPool returns the layer that pools value out (of rank dims) over
// its spatial axes: Keras's GlobalAveragePooling/GlobalMaxPooling on
// channels-last data; on the channels-first output of a layer read from
// ONNX (no Keras config), ReduceMean or ReduceMax over axes 2.., as ONNX's
// GlobalAveragePool then Flatten computes.
func globalPool(c *model.Model, out string, rank int, maxPool bool) (*model.Layer, error) {
	if !channelsFirst(c, out) {
		kind := "global_average_pooling"
		if maxPool {
			kind = "global_max_pooling"
		}
		return layers.GlobalPooling(layers.GlobalPoolSpec{
			Common: layers.Common{Name: nextName(c, fmt.Sprintf("%s%dd", kind, rank-2)), Inputs: []string{out}, Trainable: true},
			Max:    maxPool, Rank: rank,
		})
	}
	op := "ReduceMean"
	if maxPool {
		op = "ReduceMax"
	}
	name := nextName(c, strings.ToLower(op))
	axes := make([]int64, rank-2)
	for i := range axes {
		axes[i] = int64(i + 2)
	}
	y := name + "/" + op + "_output_0"
	l := &model.Layer{Name: name, Kind: op, Trainable: true, Inputs: []string{out}, Outputs: []string{y}}
	n := &model.Node{Name: name + "/" + op, Op: op, Inputs: []string{out}, Outputs: []string{y},
		Attrs: map[string]model.Attr{"keepdims": model.Int(0)}}
	if c.Opset >= 18 {
		// Opset 18 made the axes of the Reduce ops an input.
		a := &model.Tensor{Name: name + "/axes", DType: model.Int64, Shape: []int{len(axes)}, I64: axes}
		l.Consts = []*model.Tensor{a}
		n.Inputs = append(n.Inputs, a.Name)
	} else {
		n.Attrs["axes"] = model.Ints(axes...)
	}
	l.Nodes = []*model.Node{n}
	return l, nil
}

// channelsFirst reports whether value out of c is channels-first: produced
// by a layer of a model read from ONNX that carries no Keras config (an
// ONNX Conv's [N, C, H, W]). Keras layers, and the layers xfer builds, are
// channels-last.
func channelsFirst(c *model.Model, out string) bool {
	if c.Meta["format"] != "onnx" {
		return false
	}
	for _, l := range c.Layers {
		if slices.Contains(l.Outputs, out) {
			return l.Config == nil
		}
	}
	return false
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

// endsAt describes model output out for a message as the user sees it: the
// layer that produces it and its shape, Keras style ("layer \"pool\" with
// output shape (None, 1000, 1, 1)"), not the value's name (a TensorFlow or
// PyTorch tensor name).
func endsAt(m *model.Model, out string, v *model.Value) string {
	where := fmt.Sprintf("output %q", out)
	for _, l := range m.Layers {
		if slices.Contains(l.Outputs, out) {
			where = fmt.Sprintf("layer %q", l.Name)
		}
	}
	if v == nil {
		return where + " of unknown shape"
	}
	dims := make([]string, len(v.Shape))
	for i, d := range v.Shape {
		dims[i] = "None"
		if d >= 0 {
			dims[i] = strconv.Itoa(d)
		}
	}
	shape := "(" + strings.Join(dims, ", ") + ")"
	if len(dims) == 1 {
		shape = "(" + dims[0] + ",)"
	}
	if v.DType != model.Float32 {
		shape += " " + v.DType.String()
	}
	return where + " with output shape " + shape
}
