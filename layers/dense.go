package layers

import (
	"encoding/json"
	"fmt"

	"github.com/xferml/xfer/model"
)

// DenseSpec is a Keras Dense layer.
type DenseSpec struct {
	Name       string
	Input      string // value name of the input, shape [..., in]
	InFeatures int
	Units      int
	Activation string // Keras name, "" means linear
	UseBias    bool
	Trainable  bool
	// Kernel is [InFeatures, Units] row-major (Keras layout); nil for zeros.
	Kernel []float32
	// Bias is [Units]; nil for zeros. Ignored without UseBias.
	Bias              []float32
	KernelInitializer *model.Initializer
	BiasInitializer   *model.Initializer
	// Config is the Keras config to keep; nil makes a tf.keras 2.x one.
	Config json.RawMessage
}

// Dense returns the layer y = act(x @ kernel + bias): MatMul, Add, then the
// activation's nodes. The kernel is [in, out] as Keras stores it.
func Dense(s DenseSpec) (*model.Layer, error) {
	if s.Units <= 0 || s.InFeatures <= 0 {
		return nil, fmt.Errorf("layers: layer %q: Dense needs positive units and input features, got units %d, input %d", s.Name, s.Units, s.InFeatures)
	}
	b := newBuilder(s.Name, "Dense", []string{s.Input}, s.Trainable)
	kinit := s.KernelInitializer
	if kinit == nil {
		kinit = &model.Initializer{Name: "glorot_uniform"}
	}
	k, err := b.param("kernel", []int{s.InFeatures, s.Units}, s.Kernel, kinit, false)
	if err != nil {
		return nil, err
	}
	y := b.node("MatMul", []string{s.Input, k}, nil)
	if s.UseBias {
		bias, err := b.param("bias", []int{s.Units}, s.Bias, orInit(s.BiasInitializer, "zeros"), false)
		if err != nil {
			return nil, err
		}
		y = b.node("Add", []string{y, bias}, nil)
	}
	act := s.Activation
	if act == "" {
		act = "linear"
	}
	if y, err = b.activation(act, y); err != nil {
		return nil, err
	}
	l := b.finish(y)
	l.Config = s.Config
	if l.Config == nil {
		l.Config = encodeConfig(baseConfig(s.Name, s.Trainable).Set("units", s.Units).Set("activation", act).
			Set("use_bias", s.UseBias).Set("kernel_initializer", initConfig(kinit, "glorot_uniform")).
			Set("bias_initializer", initConfig(s.BiasInitializer, "zeros")).Set("kernel_regularizer", nil).
			Set("bias_regularizer", nil).Set("activity_regularizer", nil).Set("kernel_constraint", nil).Set("bias_constraint", nil))
	}
	return l, nil
}

func readDense(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(in) < 2 {
		return nil, nil, fmt.Errorf("%w: layer %q (Dense): input shape %v has no feature axis", ErrKerasFormat, c.Name, in)
	}
	units, err := c.int("units", 0)
	if err != nil {
		return nil, nil, err
	}
	if units <= 0 {
		return nil, nil, c.errf("units", "must be positive, got %d", units)
	}
	act, err := c.activation("activation")
	if err != nil {
		return nil, nil, err
	}
	useBias, err := c.bool("use_bias", true)
	if err != nil {
		return nil, nil, err
	}
	kinit, err := c.init("kernel_initializer")
	if err != nil {
		return nil, nil, err
	}
	binit, err := c.init("bias_initializer")
	if err != nil {
		return nil, nil, err
	}
	feat := in[len(in)-1]
	k, ks, err := c.take("kernel", []int{feat, units})
	if err != nil {
		return nil, nil, err
	}
	var bias []float32
	if useBias {
		if bias, _, err = c.take("bias", []int{units}); err != nil {
			return nil, nil, err
		}
	}
	l, err := Dense(DenseSpec{
		Name: c.Name, Input: c.Inputs[0], InFeatures: ks[0], Units: units, Activation: act,
		UseBias: useBias, Trainable: c.Trainable, Kernel: k, Bias: bias,
		KernelInitializer: kinit, BiasInitializer: binit, Config: c.Config,
	})
	out := append(append([]int(nil), in[:len(in)-1]...), units)
	return l, out, err
}
