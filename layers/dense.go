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
		binit := s.BiasInitializer
		if binit == nil {
			binit = &model.Initializer{Name: "zeros"}
		}
		bias, err := b.param("bias", []int{s.Units}, s.Bias, binit, false)
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
