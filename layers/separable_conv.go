package layers

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// SeparableConvSpec is a Keras SeparableConv1D or SeparableConv2D layer on
// channels-last data: a depthwise convolution (DepthMultiplier outputs per
// input channel, with the layer's strides, padding and dilation) followed
// by a pointwise 1x1 convolution to Filters channels, then bias and
// activation.
type SeparableConvSpec struct {
	Common
	InputSpatial    []int // [steps] or [h, w], -1 unknown
	InChannels      int
	Filters         int
	DepthMultiplier int // 0 means 1
	KernelSize      []int
	Strides         []int
	Dilation        []int
	Padding         string // "valid", "same" (SeparableConv1D also "causal")
	Activation      string
	UseBias         bool
	// Depthwise is [k..., InChannels, DepthMultiplier], Pointwise
	// [1..., InChannels*DepthMultiplier, Filters] (Keras layouts), Bias
	// [Filters]; nil gives zeros.
	Depthwise, Pointwise, Bias                                  []float32
	DepthwiseInitializer, PointwiseInitializer, BiasInitializer *model.Initializer
}

// SeparableConv returns the layer as two ONNX Convs between channels-last
// Transposes: the depthwise kernel [k..., in, mult] is transposed to
// [in, mult, k...] and reshaped to [in*mult, 1, k...] for a Conv with
// group = in (output channel c*mult+m reads input channel c, as
// TensorFlow's), and the pointwise kernel [1..., in*mult, filters] is
// transposed to [filters, in*mult, 1...] for a 1x1 Conv carrying the bias.
func SeparableConv(s SeparableConvSpec) (*model.Layer, error) {
	n := len(s.KernelSize)
	kind := fmt.Sprintf("SeparableConv%dD", n)
	b, err := s.builder(kind, 1)
	if err != nil {
		return nil, err
	}
	mult := s.DepthMultiplier
	if mult == 0 {
		mult = 1
	}
	if n < 1 || n > 2 || s.InChannels <= 0 || mult <= 0 || s.Filters <= 0 {
		return nil, fmt.Errorf("layers: layer %q: %s needs a 1-D or 2-D kernel and positive channels, multiplier and filters, got %v, %d, %d, %d", s.Name, kind, s.KernelSize, s.InChannels, mult, s.Filters)
	}
	strides, dil, err := convDefaults(s.Name, n, s.Strides, s.Dilation)
	if err != nil {
		return nil, err
	}
	attrs := map[string]model.Attr{
		"kernel_shape": model.Ints(int64s(s.KernelSize)...),
		"strides":      model.Ints(int64s(strides)...),
		"dilations":    model.Ints(int64s(dil)...),
		"group":        model.Int(int64(s.InChannels)),
	}
	pads, err := convPads(s.Name, s.Padding, s.InputSpatial, s.KernelSize, strides, dil, n == 1)
	if err := padAttrs(attrs, pads, err); err != nil {
		return nil, err
	}
	mid := s.InChannels * mult
	dk, err := b.param("depthwise_kernel", append(append([]int{}, s.KernelSize...), s.InChannels, mult), s.Depthwise, orInit(s.DepthwiseInitializer, "glorot_uniform"), false)
	if err != nil {
		return nil, err
	}
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	pk, err := b.param("pointwise_kernel", append(ones, mid, s.Filters), s.Pointwise, orInit(s.PointwiseInitializer, "glorot_uniform"), false)
	if err != nil {
		return nil, err
	}
	// [k..., in, mult] -> [in, mult, k...] -> [in*mult, 1, k...]
	perm := []int64{int64(n), int64(n + 1)}
	for i := 0; i < n; i++ {
		perm = append(perm, int64(i))
	}
	dw := b.node("Transpose", []string{dk}, map[string]model.Attr{"perm": model.Ints(perm...)})
	dw = b.node("Reshape", []string{dw, b.constInts("depthwise_shape", append([]int64{int64(mid), 1}, int64s(s.KernelSize)...)...)}, nil)
	// [1..., mid, filters] -> [filters, mid, 1...]
	perm = []int64{int64(n + 1), int64(n)}
	for i := 0; i < n; i++ {
		perm = append(perm, int64(i))
	}
	pw := b.node("Transpose", []string{pk}, map[string]model.Attr{"perm": model.Ints(perm...)})
	x := b.transposeChannelsFirst(s.Inputs[0], n+2)
	y := b.node("Conv", []string{x, dw}, attrs)
	ins := []string{y, pw}
	if s.UseBias {
		bias, err := b.param("bias", []int{s.Filters}, s.Bias, orInit(s.BiasInitializer, "zeros"), false)
		if err != nil {
			return nil, err
		}
		ins = append(ins, bias)
	}
	pattrs := map[string]model.Attr{"kernel_shape": model.Ints(int64s(ones)...)}
	y = b.transposeChannelsLast(b.node("Conv", ins, pattrs), n+2)
	act := s.Activation
	if act == "" {
		act = "linear"
	}
	if y, err = b.activation(act, y); err != nil {
		return nil, err
	}
	return s.done(b, y), nil
}

// readSeparable reads SeparableConv1D (nd 1) or SeparableConv2D (nd 2): weights
// depthwise_kernel [k..., in, mult], pointwise_kernel [1..., in*mult,
// filters], bias [filters].
func readSeparable(nd int) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		s := SeparableConvSpec{Common: c.common(), InputSpatial: in[1 : nd+1], InChannels: in[nd+1]}
		if s.Filters, err = c.int("filters", 0); err != nil {
			return nil, nil, err
		}
		if s.DepthMultiplier, err = c.int("depth_multiplier", 1); err != nil {
			return nil, nil, err
		}
		w, err := c.convWindow(nd)
		if err != nil {
			return nil, nil, err
		}
		s.KernelSize, s.Strides, s.Dilation, s.Padding, s.Activation, s.UseBias, s.BiasInitializer = w.kernel, w.strides, w.dilation, w.padding, w.activation, w.useBias, w.biasInit
		for key, dst := range map[string]**model.Initializer{
			"depthwise_initializer": &s.DepthwiseInitializer, "pointwise_initializer": &s.PointwiseInitializer,
		} {
			if *dst, err = c.init(key); err != nil {
				return nil, nil, err
			}
		}
		if s.Filters <= 0 || s.DepthMultiplier <= 0 || s.InChannels <= 0 {
			return nil, nil, c.errf("filters", "filters %d, depth_multiplier %d and input channels %d must be positive", s.Filters, s.DepthMultiplier, s.InChannels)
		}
		mid := s.InChannels * s.DepthMultiplier
		if s.Depthwise, _, err = c.take("depthwise_kernel", append(append([]int(nil), s.KernelSize...), s.InChannels, s.DepthMultiplier)); err != nil {
			return nil, nil, err
		}
		pshape := make([]int, nd, nd+2)
		for i := range pshape {
			pshape[i] = 1
		}
		if s.Pointwise, _, err = c.take("pointwise_kernel", append(pshape, mid, s.Filters)); err != nil {
			return nil, nil, err
		}
		if s.Bias, err = c.takeBias(s.UseBias, s.Filters); err != nil {
			return nil, nil, err
		}
		l, err := SeparableConv(s)
		if err != nil {
			return nil, nil, err
		}
		return l, append(w.outShape(in), s.Filters), nil
	}
}
