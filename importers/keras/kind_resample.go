package keras

import (
	"encoding/json"
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// cropping reads Cropping1D (nd 1, default (1, 1)) or Cropping2D (nd 2,
// default 0).
func cropping(nd int) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		def := 0
		if nd == 1 {
			def = 1 // Keras's Cropping1D default cropping=(1, 1)
		}
		crops, err := c.pairs("cropping", nd, def)
		if err != nil {
			return nil, nil, err
		}
		// Cropping2D's data_format channels_first crops axes 2 and 3.
		first := 1
		df, err := c.str("data_format", "channels_last")
		if err != nil {
			return nil, nil, err
		}
		switch {
		case df == "channels_first" && nd == 2:
			first = 2
		case df != "channels_last" && df != "channels_first" || df == "channels_first" && nd != 2:
			return nil, nil, c.errf("data_format", "%q is not supported here (channels_last; channels_first for Cropping2D)", df)
		}
		out := append([]int(nil), in...)
		for i, p := range crops {
			if out[first+i] >= 0 {
				if out[first+i] -= p[0] + p[1]; out[first+i] <= 0 {
					return nil, nil, c.errf("cropping", "%v crops all of dim %d of input %v", crops, first+i, in)
				}
			}
		}
		l, err := layers.Cropping(layers.CroppingSpec{Common: c.common(), Cropping: crops, ChannelsFirst: first == 2})
		return l, out, err
	}
}

// upSampling reads UpSampling1D (size, nearest) or UpSampling2D (size,
// interpolation nearest or bilinear).
func upSampling(nd int) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		s := layers.UpSamplingSpec{Common: c.common(), Interpolation: "nearest"}
		if s.Size, err = c.ints("size", nd, []int{2, 2}[:nd]); err != nil {
			return nil, nil, err
		}
		if nd == 2 {
			if s.Interpolation, err = c.str("interpolation", "nearest"); err != nil {
				return nil, nil, err
			}
		}
		l, err := layers.UpSampling(s)
		out := append([]int(nil), in...)
		for i, f := range s.Size {
			if out[1+i] >= 0 {
				out[1+i] *= f
			}
		}
		return l, out, err
	}
}

// convTranspose reads Conv1DTranspose or Conv2DTranspose: kernel
// [k..., filters, in], bias [filters].
func convTranspose(nd int) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		s := layers.ConvTransposeSpec{Common: c.common(), InChannels: in[nd+1]}
		if s.Filters, err = c.int("filters", 0); err != nil {
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
		if c.has("output_padding") {
			var one int
			if json.Unmarshal(c.e.cfg["output_padding"], &one) == nil {
				s.OutputPadding = make([]int, nd)
				for i := range s.OutputPadding {
					s.OutputPadding[i] = one
				}
			} else if err := json.Unmarshal(c.e.cfg["output_padding"], &s.OutputPadding); err != nil || len(s.OutputPadding) != nd {
				return nil, nil, c.errf("output_padding", "want an integer or %d integers, got %s", nd, clip(c.e.cfg["output_padding"]))
			}
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
		if g, err := c.int("groups", 1); err != nil || g != 1 {
			return nil, nil, c.errf("groups", "a grouped transposed convolution (groups %d) is not supported", g)
		}
		if s.Filters <= 0 || s.InChannels <= 0 {
			return nil, nil, c.errf("filters", "filters %d and input channels %d must be positive", s.Filters, s.InChannels)
		}
		if s.Kernel, _, err = c.take("kernel", append(append([]int(nil), s.KernelSize...), s.Filters, s.InChannels)); err != nil {
			return nil, nil, err
		}
		if s.UseBias {
			if s.Bias, _, err = c.take("bias", []int{s.Filters}); err != nil {
				return nil, nil, err
			}
		}
		l, err := layers.ConvTranspose(s)
		if err != nil {
			return nil, nil, err
		}
		out := []int{-1}
		for i := range nd {
			st, d, op := 1, 1, -1
			if s.Strides != nil {
				st = s.Strides[i]
			}
			if s.Dilation != nil {
				d = s.Dilation[i]
			}
			if s.OutputPadding != nil {
				op = s.OutputPadding[i]
			}
			pb, pe, o, err := layers.ConvTransposePads(s.KernelSize[i], st, d, s.Padding, op)
			if err != nil || in[1+i] < 0 {
				out = append(out, -1)
				continue
			}
			out = append(out, (in[1+i]-1)*st+(s.KernelSize[i]-1)*d+1-pb-pe+o)
		}
		return l, append(out, s.Filters), nil
	}
}
