package keras

import (
	"fmt"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func dense(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(in) < 2 {
		return nil, nil, fmt.Errorf("%w: layer %q (Dense): input shape %v has no feature axis", ErrFormat, c.e.name, in)
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
	l, err := layers.Dense(layers.DenseSpec{
		Name: c.e.name, Input: c.inputs[0], InFeatures: ks[0], Units: units, Activation: act,
		UseBias: useBias, Trainable: c.trainable, Kernel: k, Bias: bias,
		KernelInitializer: kinit, BiasInitializer: binit, Config: c.e.config,
	})
	out := append(append([]int(nil), in[:len(in)-1]...), units)
	return l, out, err
}
