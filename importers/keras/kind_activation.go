package keras

import (
	"encoding/json"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func activation(c *lctx) (*model.Layer, []int, error) {
	act, err := c.activation("activation")
	if err != nil {
		return nil, nil, err
	}
	l, err := layers.Activation(layers.ActivationSpec{Common: c.common(), Activation: act})
	return l, sameShape(c), err
}

func relu(c *lctx) (*model.Layer, []int, error) {
	s := layers.ReLUSpec{Common: c.common()}
	if c.has("max_value") {
		v, err := c.float("max_value", 0)
		if err != nil {
			return nil, nil, err
		}
		f := float32(v)
		s.MaxValue = &f
	}
	slope, err := c.float("negative_slope", 0)
	if err != nil {
		return nil, nil, err
	}
	th, err := c.float("threshold", 0)
	if err != nil {
		return nil, nil, err
	}
	s.NegativeSlope, s.Threshold = float32(slope), float32(th)
	l, err := layers.ReLU(s)
	return l, sameShape(c), err
}

// leakyReLU reads Keras 3's negative_slope or Keras 2's alpha; the layer's
// default is 0.3 in both (keras/src/layers/activations/leaky_relu.py,
// tf-keras layers/activation/leaky_relu.py).
func leakyReLU(c *lctx) (*model.Layer, []int, error) {
	key := "alpha"
	if c.has("negative_slope") {
		key = "negative_slope"
	}
	v, err := c.float(key, 0.3)
	if err != nil {
		return nil, nil, err
	}
	l, err := layers.LeakyReLU(layers.LeakyReLUSpec{Common: c.common(), NegativeSlope: float32(v)})
	return l, sameShape(c), err
}

func prelu(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	want := append([]int(nil), in[1:]...)
	if c.has("shared_axes") {
		var axes []int
		if err := json.Unmarshal(c.e.cfg["shared_axes"], &axes); err != nil {
			var one int
			if json.Unmarshal(c.e.cfg["shared_axes"], &one) != nil {
				return nil, nil, c.errf("shared_axes", "want a list of axes, got %s", clip(c.e.cfg["shared_axes"]))
			}
			axes = []int{one}
		}
		for _, a := range axes {
			if a < 1 || a > len(want) {
				return nil, nil, c.errf("shared_axes", "axis %d out of range for input %v", a, in)
			}
			want[a-1] = 1
		}
	}
	init, err := c.init("alpha_initializer")
	if err != nil {
		return nil, nil, err
	}
	a, shape, err := c.take("alpha", want)
	if err != nil {
		return nil, nil, err
	}
	l, err := layers.PReLU(layers.PReLUSpec{Common: c.common(), AlphaShape: shape, Alpha: a, Init: init})
	return l, sameShape(c), err
}

func elu(c *lctx) (*model.Layer, []int, error) {
	a, err := c.float("alpha", 1)
	if err != nil {
		return nil, nil, err
	}
	l, err := layers.ELU(layers.ELUSpec{Common: c.common(), Alpha: float32(a)})
	return l, sameShape(c), err
}

func softmax(c *lctx) (*model.Layer, []int, error) {
	axis, err := c.int("axis", -1)
	if err != nil {
		return nil, nil, err
	}
	l, err := layers.Softmax(layers.SoftmaxSpec{Common: c.common(), Axis: axis})
	return l, sameShape(c), err
}
