package keras

import (
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// separable reads SeparableConv1D (nd 1) or SeparableConv2D (nd 2): weights
// depthwise_kernel [k..., in, mult], pointwise_kernel [1..., in*mult,
// filters], bias [filters].
func separable(nd int) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		s := layers.SeparableConvSpec{Common: c.common(), InputSpatial: in[1 : nd+1], InChannels: in[nd+1]}
		if s.Filters, err = c.int("filters", 0); err != nil {
			return nil, nil, err
		}
		if s.DepthMultiplier, err = c.int("depth_multiplier", 1); err != nil {
			return nil, nil, err
		}
		if s.KernelSize, err = c.ints("kernel_size", nd, nil); err != nil || s.KernelSize == nil {
			return nil, nil, c.errf("kernel_size", "missing or bad: %s", clip(c.e.cfg["kernel_size"]))
		}
		if s.Strides, err = c.ints("strides", nd, nil); err != nil {
			return nil, nil, err
		}
		if s.Dilation, err = c.ints("dilation_rate", nd, nil); err != nil {
			return nil, nil, err
		}
		pad, err := c.str("padding", "valid")
		if err != nil {
			return nil, nil, err
		}
		s.Padding = strings.ToLower(pad)
		if s.Activation, err = c.activation("activation"); err != nil {
			return nil, nil, err
		}
		if s.UseBias, err = c.bool("use_bias", true); err != nil {
			return nil, nil, err
		}
		for key, dst := range map[string]**model.Initializer{
			"depthwise_initializer": &s.DepthwiseInitializer, "pointwise_initializer": &s.PointwiseInitializer, "bias_initializer": &s.BiasInitializer,
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
		if s.UseBias {
			if s.Bias, _, err = c.take("bias", []int{s.Filters}); err != nil {
				return nil, nil, err
			}
		}
		l, err := layers.SeparableConv(s)
		if err != nil {
			return nil, nil, err
		}
		out := []int{-1}
		for i := 0; i < nd; i++ {
			st, d := 1, 1
			if s.Strides != nil {
				st = s.Strides[i]
			}
			if s.Dilation != nil {
				d = s.Dilation[i]
			}
			out = append(out, spatialOut(in[1+i], s.KernelSize[i], st, d, s.Padding))
		}
		return l, append(out, s.Filters), nil
	}
}
