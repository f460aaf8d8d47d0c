package keras

import (
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

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

func conv(nd int) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		s := layers.ConvSpec{Common: c.common(), InputSpatial: in[1 : nd+1], InChannels: in[nd+1]}
		if s.Filters, err = c.int("filters", 0); err != nil {
			return nil, nil, err
		}
		if s.KernelSize, err = c.ints("kernel_size", nd, nil); err != nil {
			return nil, nil, err
		}
		if s.KernelSize == nil {
			return nil, nil, c.errf("kernel_size", "missing")
		}
		if s.Strides, err = c.ints("strides", nd, nil); err != nil {
			return nil, nil, err
		}
		if s.Dilation, err = c.ints("dilation_rate", nd, nil); err != nil {
			return nil, nil, err
		}
		if s.Groups, err = c.int("groups", 1); err != nil {
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
		if s.KernelInitializer, err = c.init("kernel_initializer"); err != nil {
			return nil, nil, err
		}
		if s.BiasInitializer, err = c.init("bias_initializer"); err != nil {
			return nil, nil, err
		}
		if s.Filters <= 0 || s.Groups <= 0 || s.InChannels <= 0 || s.InChannels%s.Groups != 0 {
			return nil, nil, c.errf("filters", "filters %d, groups %d and input channels %d do not fit", s.Filters, s.Groups, s.InChannels)
		}
		kshape := append(append([]int(nil), s.KernelSize...), s.InChannels/s.Groups, s.Filters)
		if s.Kernel, _, err = c.take("kernel", kshape); err != nil {
			return nil, nil, err
		}
		if s.UseBias {
			if s.Bias, _, err = c.take("bias", []int{s.Filters}); err != nil {
				return nil, nil, err
			}
		}
		l, err := layers.Conv(s)
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

func depthwise(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 4)
	if err != nil {
		return nil, nil, err
	}
	s := layers.DepthwiseConvSpec{Common: c.common(), InputSpatial: in[1:3], InChannels: in[3], KernelRole: "depthwise_kernel"}
	if c.major >= 3 {
		s.KernelRole = "kernel"
	}
	if s.DepthMultiplier, err = c.int("depth_multiplier", 1); err != nil {
		return nil, nil, err
	}
	if s.KernelSize, err = c.ints("kernel_size", 2, nil); err != nil || s.KernelSize == nil {
		return nil, nil, c.errf("kernel_size", "missing or bad")
	}
	if s.Strides, err = c.ints("strides", 2, nil); err != nil {
		return nil, nil, err
	}
	if s.Dilation, err = c.ints("dilation_rate", 2, nil); err != nil {
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
	if s.KernelInitializer, err = c.init("depthwise_initializer"); err != nil {
		return nil, nil, err
	}
	if s.BiasInitializer, err = c.init("bias_initializer"); err != nil {
		return nil, nil, err
	}
	if s.DepthMultiplier <= 0 || s.InChannels <= 0 {
		return nil, nil, c.errf("depth_multiplier", "must be positive, got %d", s.DepthMultiplier)
	}
	if s.Kernel, _, err = c.take(s.KernelRole, []int{s.KernelSize[0], s.KernelSize[1], s.InChannels, s.DepthMultiplier}); err != nil {
		return nil, nil, err
	}
	if s.UseBias {
		if s.Bias, _, err = c.take("bias", []int{s.InChannels * s.DepthMultiplier}); err != nil {
			return nil, nil, err
		}
	}
	l, err := layers.DepthwiseConv2D(s)
	if err != nil {
		return nil, nil, err
	}
	out := []int{-1}
	for i := 0; i < 2; i++ {
		st, d := 1, 1
		if s.Strides != nil {
			st = s.Strides[i]
		}
		if s.Dilation != nil {
			d = s.Dilation[i]
		}
		out = append(out, spatialOut(in[1+i], s.KernelSize[i], st, d, s.Padding))
	}
	return l, append(out, s.InChannels*s.DepthMultiplier), nil
}
