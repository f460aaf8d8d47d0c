package layers

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xferml/xfer/model"
)

// ConvTransposeSpec is a Keras Conv1DTranspose or Conv2DTranspose layer on
// channels-last data.
type ConvTransposeSpec struct {
	Common
	InChannels int
	Filters    int
	KernelSize []int // one per spatial dim
	Strides    []int
	Dilation   []int
	Padding    string // "valid" or "same"
	// OutputPadding is Keras's output_padding, one per spatial dim; nil is
	// Keras's None.
	OutputPadding []int
	Activation    string
	UseBias       bool
	// Kernel is [k..., Filters, InChannels] (Keras layout); Bias [Filters].
	Kernel, Bias                       []float32
	KernelInitializer, BiasInitializer *model.Initializer
}

// ConvTransposePads returns, for one spatial dim, the ONNX ConvTranspose
// pads (begin, end) and output_padding that compute Keras 3's transposed
// convolution (keras/src/backend/common/backend_utils.py,
// _convert_conv_transpose_padding_args_from_keras_to_jax: the dilated
// input is padded left_pad before and right_pad after, and ONNX's pads are
// (k_eff-1) minus those; a right_pad beyond k_eff-1 is output_padding).
// outPad < 0 stands for Keras's None. The output length is
// (in-1)*stride + k_eff - begin - end + output_padding.
func ConvTransposePads(k, stride, dil int, padding string, outPad int) (begin, end, outputPadding int, err error) {
	keff := (k-1)*dil + 1
	var left, right int
	switch strings.ToLower(padding) {
	case "valid":
		op := outPad
		if op < 0 {
			op = max(keff, stride) - keff
		}
		left, right = keff-1, keff-1+op
	case "same":
		padLen := stride + keff - 2
		if outPad >= 0 {
			padLen = keff + keff%2 - 2 + outPad
		}
		left = min(padLen/2+padLen%2, keff-1)
		right = padLen - left
	default:
		return 0, 0, 0, fmt.Errorf("padding %q (valid or same)", padding)
	}
	begin, end = keff-1-left, keff-1-right
	if end < 0 {
		end, outputPadding = 0, -end
	}
	if outputPadding >= max(stride, dil) || begin < 0 {
		return 0, 0, 0, fmt.Errorf("output_padding %d must be less than the stride %d", outPad, stride)
	}
	return begin, end, outputPadding, nil
}

// ConvTranspose returns the layer: Transpose to channels-first, ONNX
// ConvTranspose with the Keras kernel [k..., filters, in] transposed to
// ONNX's [in, filters, k...] (ConvTranspose flips it spatially itself, as
// Keras's transpose_kernel=True does), pads and output_padding from
// ConvTransposePads, Transpose back, then the activation.
func ConvTranspose(s ConvTransposeSpec) (*model.Layer, error) {
	n := len(s.KernelSize)
	kind := fmt.Sprintf("Conv%dDTranspose", n)
	b, err := s.builder(kind, 1)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 3 || s.Filters <= 0 || s.InChannels <= 0 {
		return nil, fmt.Errorf("layers: layer %q: %s needs 1 to 3 spatial dims and positive filters and channels, got %v, %d, %d", s.Name, kind, s.KernelSize, s.Filters, s.InChannels)
	}
	strides, dil, err := convDefaults(s.Name, n, s.Strides, s.Dilation)
	if err != nil {
		return nil, err
	}
	if s.OutputPadding != nil && len(s.OutputPadding) != n {
		return nil, fmt.Errorf("layers: layer %q: output_padding %v needs %d values", s.Name, s.OutputPadding, n)
	}
	pads := make([]int64, 2*n)
	outPad := make([]int64, n)
	for i := range n {
		op := -1
		if s.OutputPadding != nil {
			op = s.OutputPadding[i]
		}
		pb, pe, o, err := ConvTransposePads(s.KernelSize[i], strides[i], dil[i], s.Padding, op)
		if err != nil {
			return nil, fmt.Errorf("layers: layer %q: %s: %w", s.Name, kind, err)
		}
		pads[i], pads[n+i], outPad[i] = int64(pb), int64(pe), int64(o)
	}
	attrs := map[string]model.Attr{
		"kernel_shape": model.Ints(int64s(s.KernelSize)...),
		"strides":      model.Ints(int64s(strides)...),
		"dilations":    model.Ints(int64s(dil)...),
		"pads":         model.Ints(pads...),
	}
	if !allZero(outPad) {
		attrs["output_padding"] = model.Ints(outPad...)
	}
	k, err := b.param("kernel", append(append([]int{}, s.KernelSize...), s.Filters, s.InChannels), s.Kernel, orInit(s.KernelInitializer, "glorot_uniform"), false)
	if err != nil {
		return nil, err
	}
	// [k..., filters, in] -> [in, filters, k...]
	perm := []int64{int64(n + 1), int64(n)}
	for i := range n {
		perm = append(perm, int64(i))
	}
	ins := []string{b.transposeChannelsFirst(s.Inputs[0], n+2), b.node("Transpose", []string{k}, map[string]model.Attr{"perm": model.Ints(perm...)})}
	if s.UseBias {
		bias, err := b.param("bias", []int{s.Filters}, s.Bias, orInit(s.BiasInitializer, "zeros"), false)
		if err != nil {
			return nil, err
		}
		ins = append(ins, bias)
	}
	y := b.transposeChannelsLast(b.node("ConvTranspose", ins, attrs), n+2)
	act := s.Activation
	if act == "" {
		act = "linear"
	}
	if y, err = b.activation(act, y); err != nil {
		return nil, err
	}
	return s.done(b, y), nil
}

func allZero(v []int64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// readConvTranspose reads Conv1DTranspose or Conv2DTranspose: kernel
// [k..., filters, in], bias [filters].
func readConvTranspose(nd int) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		s := ConvTransposeSpec{Common: c.common(), InChannels: in[nd+1]}
		if s.Filters, err = c.int("filters", 0); err != nil {
			return nil, nil, err
		}
		w, err := c.convWindow(nd)
		if err != nil {
			return nil, nil, err
		}
		s.KernelSize, s.Strides, s.Dilation, s.Padding, s.Activation, s.UseBias, s.BiasInitializer = w.kernel, w.strides, w.dilation, w.padding, w.activation, w.useBias, w.biasInit
		if c.has("output_padding") {
			var one int
			if json.Unmarshal(c.cfg["output_padding"], &one) == nil {
				s.OutputPadding = make([]int, nd)
				for i := range s.OutputPadding {
					s.OutputPadding[i] = one
				}
			} else if err := json.Unmarshal(c.cfg["output_padding"], &s.OutputPadding); err != nil || len(s.OutputPadding) != nd {
				return nil, nil, c.errf("output_padding", "want an integer or %d integers, got %s", nd, clip(c.cfg["output_padding"]))
			}
		}
		if s.KernelInitializer, err = c.init("kernel_initializer"); err != nil {
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
		if s.Bias, err = c.takeBias(s.UseBias, s.Filters); err != nil {
			return nil, nil, err
		}
		l, err := ConvTranspose(s)
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
			pb, pe, o, err := ConvTransposePads(s.KernelSize[i], st, d, s.Padding, op)
			if err != nil || in[1+i] < 0 {
				out = append(out, -1)
				continue
			}
			out = append(out, (in[1+i]-1)*st+(s.KernelSize[i]-1)*d+1-pb-pe+o)
		}
		return l, append(out, s.Filters), nil
	}
}
