package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// RReLUSpec is a randomized leaky ReLU layer (Xu et al. 2015, PyTorch's
// nn.RReLU), which Keras does not define: in training each negative input
// is multiplied by a slope drawn uniformly from [Lower, Upper] (finetune
// draws them); in inference by the mean slope (Lower+Upper)/2. PyTorch's
// defaults are 1/8 and 1/3. Its config, written here, is tf.keras 2's base
// (name, trainable, dtype) with lower and upper; a Keras writer keeps it as
// is, and only code that defines the class reads it in Keras.
type RReLUSpec struct {
	Common
	// Lower and Upper are the slope range, kept in float64 as the config
	// writes them (the node's alpha is their float32 mean).
	Lower, Upper float64
}

// RReLU returns the layer's inference form, one ONNX LeakyRelu of alpha
// (Lower+Upper)/2, so every runtime predicts with it; training code acts
// on the layer by its Kind, "RReLU".
func RReLU(s RReLUSpec) (*model.Layer, error) {
	if !(s.Lower >= 0 && s.Lower <= s.Upper) {
		return nil, fmt.Errorf("layers: layer %q: RReLU needs 0 <= lower <= upper, got [%v, %v]", s.Name, s.Lower, s.Upper)
	}
	b, err := s.builder("RReLU", 1)
	if err != nil {
		return nil, err
	}
	alpha := model.Float(float32((s.Lower + s.Upper) / 2))
	return s.done(b, b.node("LeakyRelu", []string{s.Inputs[0]}, map[string]model.Attr{"alpha": alpha}), s.config), nil
}

// config writes lower and upper as float64 (Python floats, 1/3 as
// 0.3333333333333333), so RReLUConfig reads back the numbers given.
func (s RReLUSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("lower", pyjson.Float(s.Lower)).Set("upper", pyjson.Float(s.Upper))
}

// RReLUConfig returns the spec an RReLU layer's config describes (Common
// from l; lower and upper at PyTorch's defaults, 1/8 and 1/3, when absent).
// A bad value, or lower above upper, is a *ConfigError naming the layer.
func RReLUConfig(l *model.Layer) (RReLUSpec, error) {
	if l.Kind != "RReLU" {
		return RReLUSpec{}, fmt.Errorf("layers: layer %q: %q is not RReLU", l.Name, l.Kind)
	}
	c, err := layerKctx(l)
	if err != nil {
		return RReLUSpec{}, err
	}
	s := RReLUSpec{Common: Common{Name: l.Name, Inputs: l.Inputs, Trainable: l.Trainable, Config: l.Config}}
	if s.Lower, err = c.float("lower", 1.0/8); err != nil {
		return RReLUSpec{}, err
	}
	if s.Upper, err = c.float("upper", 1.0/3); err != nil {
		return RReLUSpec{}, err
	}
	if !(s.Lower >= 0 && s.Lower <= s.Upper) {
		return RReLUSpec{}, c.errf("lower", "want 0 <= lower <= upper, got lower %v, upper %v", s.Lower, s.Upper)
	}
	return s, nil
}
