package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// DepthwiseConvSpec is a Keras DepthwiseConv2D layer on channels-last data.
type DepthwiseConvSpec struct {
	Common
	InputSpatial    []int // [h, w], -1 unknown
	InChannels      int
	DepthMultiplier int // 0 means 1
	KernelSize      []int
	Strides         []int
	Dilation        []int
	Padding         string
	Activation      string
	UseBias         bool
	// KernelRole is the Keras weight name: "depthwise_kernel" (Keras 2) or
	// "kernel" (Keras 3); "" means depthwise_kernel.
	KernelRole string
	// Kernel is [kh, kw, InChannels, DepthMultiplier] (Keras layout); Bias
	// is [InChannels*DepthMultiplier].
	Kernel, Bias                       []float32
	KernelInitializer, BiasInitializer *model.Initializer
}

// DepthwiseConv2D returns the layer: the kernel [kh, kw, in, mult] is
// transposed to [in, mult, kh, kw] and reshaped to ONNX's [in*mult, 1, kh, kw]
// (output channel c*mult+m reads input channel c, as in TensorFlow), then a
// Conv with group = in.
func DepthwiseConv2D(s DepthwiseConvSpec) (*model.Layer, error) {
	b, err := s.builder("DepthwiseConv2D", 1)
	if err != nil {
		return nil, err
	}
	mult := s.DepthMultiplier
	if mult == 0 {
		mult = 1
	}
	if len(s.KernelSize) != 2 || s.InChannels <= 0 || mult <= 0 {
		return nil, fmt.Errorf("layers: layer %q: DepthwiseConv2D needs a 2-D kernel, channels and multiplier > 0, got %v, %d, %d", s.Name, s.KernelSize, s.InChannels, mult)
	}
	strides, dil, err := convDefaults(s.Name, 2, s.Strides, s.Dilation)
	if err != nil {
		return nil, err
	}
	attrs := map[string]model.Attr{
		"kernel_shape": model.Ints(int64s(s.KernelSize)...),
		"strides":      model.Ints(int64s(strides)...),
		"dilations":    model.Ints(int64s(dil)...),
		"group":        model.Int(int64(s.InChannels)),
	}
	pads, err := convPads(s.Name, s.Padding, s.InputSpatial, s.KernelSize, strides, dil, false)
	if err := padAttrs(attrs, pads, err); err != nil {
		return nil, err
	}
	role := s.KernelRole
	if role == "" {
		role = "depthwise_kernel"
	}
	kinit := s.KernelInitializer
	if kinit == nil {
		kinit = &model.Initializer{Name: "glorot_uniform"}
	}
	kh, kw := s.KernelSize[0], s.KernelSize[1]
	k, err := b.param(role, []int{kh, kw, s.InChannels, mult}, s.Kernel, kinit, false)
	if err != nil {
		return nil, err
	}
	t := b.node("Transpose", []string{k}, map[string]model.Attr{"perm": model.Ints(2, 3, 0, 1)})
	w := b.node("Reshape", []string{t, b.constInts("weight_shape", int64(s.InChannels*mult), 1, int64(kh), int64(kw))}, nil)
	ins := []string{b.transposeChannelsFirst(s.Inputs[0], 4), w}
	if s.UseBias {
		bias, err := b.param("bias", []int{s.InChannels * mult}, s.Bias, orInit(s.BiasInitializer, "zeros"), false)
		if err != nil {
			return nil, err
		}
		ins = append(ins, bias)
	}
	y := b.node("Conv", ins, attrs)
	y = b.transposeChannelsLast(y, 4)
	act := s.Activation
	if act == "" {
		act = "linear"
	}
	if y, err = b.activation(act, y); err != nil {
		return nil, err
	}
	return s.done(b, y, func() *pyjson.Obj { return s.config(strides, dil, mult) }), nil
}

// config writes a DepthwiseConv2D config (tf.keras 2.13's, with the
// "groups" it inherits from Conv; Keras 3's writer drops it).
func (s DepthwiseConvSpec) config(strides, dil []int, mult int) *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("kernel_size", intList(s.KernelSize)).Set("strides", intList(strides)).
		Set("padding", s.Padding).Set("data_format", "channels_last").Set("dilation_rate", intList(dil)).Set("groups", 1).
		Set("activation", activationName(s.Activation)).Set("use_bias", s.UseBias).
		Set("bias_initializer", initConfig(s.BiasInitializer, "zeros")).Set("bias_regularizer", nil).
		Set("activity_regularizer", nil).Set("bias_constraint", nil).Set("depth_multiplier", mult).
		Set("depthwise_initializer", initConfig(s.KernelInitializer, "glorot_uniform")).
		Set("depthwise_regularizer", nil).Set("depthwise_constraint", nil)
}

func readDepthwise(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 4)
	if err != nil {
		return nil, nil, err
	}
	s := DepthwiseConvSpec{Common: c.common(), InputSpatial: in[1:3], InChannels: in[3], KernelRole: "depthwise_kernel"}
	if c.Major >= 3 {
		s.KernelRole = "kernel"
	}
	if s.DepthMultiplier, err = c.int("depth_multiplier", 1); err != nil {
		return nil, nil, err
	}
	w, err := c.convWindow(2)
	if err != nil {
		return nil, nil, err
	}
	s.KernelSize, s.Strides, s.Dilation, s.Padding, s.Activation, s.UseBias, s.BiasInitializer = w.kernel, w.strides, w.dilation, w.padding, w.activation, w.useBias, w.biasInit
	if s.KernelInitializer, err = c.init("depthwise_initializer"); err != nil {
		return nil, nil, err
	}
	if s.DepthMultiplier <= 0 || s.InChannels <= 0 {
		return nil, nil, c.errf("depth_multiplier", "must be positive, got %d", s.DepthMultiplier)
	}
	if s.Kernel, _, err = c.take(s.KernelRole, []int{s.KernelSize[0], s.KernelSize[1], s.InChannels, s.DepthMultiplier}); err != nil {
		return nil, nil, err
	}
	if s.Bias, err = c.takeBias(s.UseBias, s.InChannels*s.DepthMultiplier); err != nil {
		return nil, nil, err
	}
	l, err := DepthwiseConv2D(s)
	if err != nil {
		return nil, nil, err
	}
	return l, append(w.outShape(in), s.InChannels*s.DepthMultiplier), nil
}
