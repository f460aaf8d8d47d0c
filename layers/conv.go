package layers

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// ConvSpec is a Keras Conv1D or Conv2D layer on channels-last data.
type ConvSpec struct {
	Common
	// Spatial sizes of the input without batch and channels ([steps] or
	// [h, w]); -1 for unknown. Needed for "same" padding.
	InputSpatial []int
	InChannels   int
	Filters      int
	KernelSize   []int // one per spatial dim
	Strides      []int
	Dilation     []int
	Padding      string // "valid", "same" or (Conv1D) "causal"
	Groups       int    // 0 means 1
	Activation   string // name of Activations(); "" is linear
	UseBias      bool
	// Kernel is [k..., InChannels/Groups, Filters] (Keras layout); Bias is
	// [Filters]. nil gives zeros.
	Kernel, Bias                       []float32
	KernelInitializer, BiasInitializer *model.Initializer
}

// Conv returns the layer. The channels-last input is transposed to
// channels-first, the Keras kernel [k..., in/groups, out] reaches ONNX Conv
// through a Transpose to [out, in/groups, k...], and the result is
// transposed back before the activation. Padding is written as explicit
// pads: TensorFlow's "same" puts the smaller half before
// (total = max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0)); "causal" pads
// (k-1)*d before only. With unknown spatial sizes "same" becomes
// auto_pad SAME_UPPER, the same rule applied at run time.
func Conv(s ConvSpec) (*model.Layer, error) {
	n := len(s.KernelSize)
	kind := fmt.Sprintf("Conv%dD", n)
	b, err := s.builder(kind, 1)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 3 {
		return nil, fmt.Errorf("layers: layer %q: convolution with %d spatial dims is not supported", s.Name, n)
	}
	groups := s.Groups
	if groups == 0 {
		groups = 1
	}
	if s.Filters <= 0 || s.InChannels <= 0 || s.InChannels%groups != 0 || s.Filters%groups != 0 {
		return nil, fmt.Errorf("layers: layer %q: %s needs positive filters and input channels divisible by groups %d, got filters %d, channels %d", s.Name, kind, groups, s.Filters, s.InChannels)
	}
	strides, dil, err := convDefaults(s.Name, n, s.Strides, s.Dilation)
	if err != nil {
		return nil, err
	}
	attrs := map[string]model.Attr{
		"kernel_shape": model.Ints(int64s(s.KernelSize)...),
		"strides":      model.Ints(int64s(strides)...),
		"dilations":    model.Ints(int64s(dil)...),
		"group":        model.Int(int64(groups)),
	}
	pads, err := convPads(s.Name, s.Padding, s.InputSpatial, s.KernelSize, strides, dil, n == 1)
	if err := padAttrs(attrs, pads, err); err != nil {
		return nil, err
	}
	kshape := append(append([]int{}, s.KernelSize...), s.InChannels/groups, s.Filters)
	kinit := s.KernelInitializer
	if kinit == nil {
		kinit = &model.Initializer{Name: "glorot_uniform"}
	}
	k, err := b.param("kernel", kshape, s.Kernel, kinit, false)
	if err != nil {
		return nil, err
	}
	// [k..., in, out] -> [out, in, k...]
	perm := []int64{int64(n + 1), int64(n)}
	for i := 0; i < n; i++ {
		perm = append(perm, int64(i))
	}
	w := b.node("Transpose", []string{k}, map[string]model.Attr{"perm": model.Ints(perm...)})
	ins := []string{b.transposeChannelsFirst(s.Inputs[0], n+2), w}
	if s.UseBias {
		bias, err := b.param("bias", []int{s.Filters}, s.Bias, orInit(s.BiasInitializer, "zeros"), false)
		if err != nil {
			return nil, err
		}
		ins = append(ins, bias)
	}
	y := b.node("Conv", ins, attrs)
	y = b.transposeChannelsLast(y, n+2)
	act := s.Activation
	if act == "" {
		act = "linear"
	}
	if y, err = b.activation(act, y); err != nil {
		return nil, err
	}
	return s.done(b, y, func() *pyjson.Obj { return s.config(strides, dil, groups) }), nil
}

func convDefaults(name string, n int, strides, dil []int) ([]int, []int, error) {
	fill := func(v []int, what string) ([]int, error) {
		if len(v) == 0 {
			v = make([]int, n)
			for i := range v {
				v[i] = 1
			}
		}
		if len(v) != n {
			return nil, fmt.Errorf("layers: layer %q: %s %v needs %d values", name, what, v, n)
		}
		for _, x := range v {
			if x <= 0 {
				return nil, fmt.Errorf("layers: layer %q: %s %v must be positive", name, what, v)
			}
		}
		return v, nil
	}
	s, err := fill(strides, "strides")
	if err != nil {
		return nil, nil, err
	}
	d, err := fill(dil, "dilation_rate")
	return s, d, err
}

// errSameUnknown tells the caller of convPads to use auto_pad SAME_UPPER,
// which computes TensorFlow's "same" pads (smaller half first) at run time
// when spatial sizes are not known when the layer is built.
var errSameUnknown = errors.New("same padding with unknown spatial sizes")

// padAttrs sets "pads", or "auto_pad" = SAME_UPPER when the sizes that
// "same" padding needs are unknown.
func padAttrs(attrs map[string]model.Attr, pads []int64, err error) error {
	if errors.Is(err, errSameUnknown) {
		attrs["auto_pad"] = model.String("SAME_UPPER")
		return nil
	}
	if err != nil {
		return err
	}
	attrs["pads"] = model.Ints(pads...)
	return nil
}

// convPads returns ONNX pads [begin..., end...] for Keras padding, or
// errSameUnknown.
func convPads(name, padding string, spatial, kernel, strides, dil []int, causalOK bool) ([]int64, error) {
	n := len(kernel)
	pads := make([]int64, 2*n)
	switch strings.ToLower(padding) {
	case "valid", "":
		return pads, nil
	case "causal":
		if !causalOK {
			return nil, fmt.Errorf("layers: layer %q: causal padding is for 1-D layers only", name)
		}
		pads[0] = int64((kernel[0] - 1) * dil[0])
		return pads, nil
	case "same":
		if len(spatial) != n {
			return nil, errSameUnknown
		}
		for i := 0; i < n; i++ {
			in := spatial[i]
			if in <= 0 {
				return nil, errSameUnknown
			}
			eff := (kernel[i]-1)*dil[i] + 1
			out := (in + strides[i] - 1) / strides[i]
			total := max((out-1)*strides[i]+eff-in, 0)
			pads[i] = int64(total / 2)
			pads[n+i] = int64(total - total/2)
		}
		return pads, nil
	}
	return nil, fmt.Errorf("layers: layer %q: padding %q is not supported (valid, same, causal)", name, padding)
}

func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// config writes a Conv1D/2D/3D config (tf.keras 2.13's Conv.get_config).
func (s ConvSpec) config(strides, dil []int, groups int) *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("filters", s.Filters).Set("kernel_size", intList(s.KernelSize)).
		Set("strides", intList(strides)).Set("padding", s.Padding).Set("data_format", "channels_last").
		Set("dilation_rate", intList(dil)).Set("groups", groups).Set("activation", activationName(s.Activation)).
		Set("use_bias", s.UseBias).Set("kernel_initializer", initConfig(s.KernelInitializer, "glorot_uniform")).
		Set("bias_initializer", initConfig(s.BiasInitializer, "zeros")).Set("kernel_regularizer", nil).
		Set("bias_regularizer", nil).Set("activity_regularizer", nil).Set("kernel_constraint", nil).Set("bias_constraint", nil)
}

// spatialOut is Keras's conv/pool output size for one dim (-1 unknown).
func spatialOut(n, k, s, d int, padding string) int {
	if n < 0 {
		return -1
	}
	if padding == "same" || padding == "causal" {
		return (n + s - 1) / s
	}
	eff := (k-1)*d + 1
	if n < eff {
		return 0
	}
	return (n-eff)/s + 1
}

func readConv(nd int) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		s := ConvSpec{Common: c.common(), InputSpatial: in[1 : nd+1], InChannels: in[nd+1]}
		if s.Filters, err = c.int("filters", 0); err != nil {
			return nil, nil, err
		}
		w, err := c.convWindow(nd)
		if err != nil {
			return nil, nil, err
		}
		s.KernelSize, s.Strides, s.Dilation, s.Padding, s.Activation, s.UseBias, s.BiasInitializer = w.kernel, w.strides, w.dilation, w.padding, w.activation, w.useBias, w.biasInit
		if s.Groups, err = c.int("groups", 1); err != nil {
			return nil, nil, err
		}
		if s.KernelInitializer, err = c.init("kernel_initializer"); err != nil {
			return nil, nil, err
		}
		if s.Filters <= 0 || s.Groups <= 0 || s.InChannels <= 0 || s.InChannels%s.Groups != 0 {
			return nil, nil, c.errf("filters", "filters %d, groups %d and input channels %d do not fit", s.Filters, s.Groups, s.InChannels)
		}
		kshape := append(append([]int(nil), s.KernelSize...), s.InChannels/s.Groups, s.Filters)
		if s.Kernel, _, err = c.take("kernel", kshape); err != nil {
			return nil, nil, err
		}
		if s.Bias, err = c.takeBias(s.UseBias, s.Filters); err != nil {
			return nil, nil, err
		}
		l, err := Conv(s)
		if err != nil {
			return nil, nil, err
		}
		return l, append(w.outShape(in), s.Filters), nil
	}
}

// convWindow is what every convolution's Keras config says about its
// window, activation and bias.
type convWindow struct {
	kernel, strides, dilation []int // strides and dilation nil for 1s
	padding, activation       string
	useBias                   bool
	biasInit                  *model.Initializer
}

// convWindow reads kernel_size (required), strides, dilation_rate,
// padding, activation, use_bias and bias_initializer of an nd-dimensional
// convolution.
func (c *kctx) convWindow(nd int) (convWindow, error) {
	var w convWindow
	var err error
	if w.kernel, err = c.ints("kernel_size", nd, nil); err != nil || w.kernel == nil {
		return w, c.errf("kernel_size", "missing or bad: %s", clip(c.cfg["kernel_size"]))
	}
	if w.strides, err = c.ints("strides", nd, nil); err != nil {
		return w, err
	}
	if w.dilation, err = c.ints("dilation_rate", nd, nil); err != nil {
		return w, err
	}
	pad, err := c.str("padding", "valid")
	if err != nil {
		return w, err
	}
	w.padding = strings.ToLower(pad)
	if w.activation, err = c.activation("activation"); err != nil {
		return w, err
	}
	if w.useBias, err = c.bool("use_bias", true); err != nil {
		return w, err
	}
	if w.biasInit, err = c.init("bias_initializer"); err != nil {
		return w, err
	}
	return w, nil
}

// outShape is Keras's output shape of the window on input in (batch and
// channels left for the caller: the result is [-1, spatial...]).
func (w convWindow) outShape(in []int) []int {
	out := []int{-1}
	for i := range w.kernel {
		st, d := 1, 1
		if w.strides != nil {
			st = w.strides[i]
		}
		if w.dilation != nil {
			d = w.dilation[i]
		}
		out = append(out, spatialOut(in[1+i], w.kernel[i], st, d, w.padding))
	}
	return out
}
