package keras

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// kindFn builds one Keras layer class and returns the layer and its output
// shape (Keras's compute_output_shape, -1 for unknown dims).
type kindFn func(c *lctx) (*model.Layer, []int, error)

// kinds is the registry of Keras layer classes (InputLayer is handled by the
// graph builder).
var kinds = map[string]kindFn{
	"Dense":                  dense,
	"Activation":             activation,
	"ReLU":                   relu,
	"LeakyReLU":              leakyReLU,
	"PReLU":                  prelu,
	"ELU":                    elu,
	"Softmax":                softmax,
	"Dropout":                dropout("Dropout", "rate"),
	"AlphaDropout":           dropout("AlphaDropout", "rate"),
	"GaussianDropout":        dropout("GaussianDropout", "rate"),
	"GaussianNoise":          dropout("GaussianNoise", "stddev"),
	"Flatten":                flatten,
	"Reshape":                reshape,
	"Permute":                permute,
	"BatchNormalization":     batchNorm,
	"Conv1D":                 conv(1),
	"Conv2D":                 conv(2),
	"DepthwiseConv2D":        depthwise,
	"MaxPooling1D":           pool(1, true),
	"MaxPooling2D":           pool(2, true),
	"AveragePooling1D":       pool(1, false),
	"AveragePooling2D":       pool(2, false),
	"GlobalAveragePooling1D": globalPool(1, false),
	"GlobalAveragePooling2D": globalPool(2, false),
	"GlobalMaxPooling1D":     globalPool(1, true),
	"GlobalMaxPooling2D":     globalPool(2, true),
	"ZeroPadding1D":          zeroPadding(1),
	"ZeroPadding2D":          zeroPadding(2),
	"Add":                    merge("Add"),
	"Subtract":               merge("Subtract"),
	"Multiply":               merge("Multiply"),
	"Average":                merge("Average"),
	"Maximum":                merge("Maximum"),
	"Minimum":                merge("Minimum"),
	"Concatenate":            concatenate,
	"Rescaling":              rescaling,
	"Identity":               identity,
}

func sameShape(c *lctx) []int { return append([]int(nil), c.inShapes[0]...) }

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

func dropout(kind, key string) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		r, err := c.float(key, 0)
		if err != nil {
			return nil, nil, err
		}
		l, err := layers.Dropout(layers.DropoutSpec{Common: c.common(), Kind: kind, Rate: float32(r)})
		return l, sameShape(c), err
	}
}

func flatten(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	n := model.NumElements(in[1:])
	l, err := layers.Flatten(c.common())
	return l, []int{-1, n}, err
}

func reshape(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	var target []int
	if err := json.Unmarshal(c.e.cfg["target_shape"], &target); err != nil || len(target) == 0 || len(target) > 8 {
		return nil, nil, c.errf("target_shape", "want a list of 1 to 8 dims, got %s", clip(c.e.cfg["target_shape"]))
	}
	l, err := layers.Reshape(layers.ReshapeSpec{Common: c.common(), TargetShape: target})
	if err != nil {
		return nil, nil, err
	}
	out := append([]int{-1}, target...)
	if n := model.NumElements(in[1:]); n > 0 {
		known, unknown := 1, -1
		for i, d := range target {
			if d == -1 {
				unknown = i
			} else {
				known *= d
			}
		}
		switch {
		case unknown >= 0 && n%known == 0:
			out[unknown+1] = n / known
		case unknown < 0 && known != n:
			return nil, nil, c.errf("target_shape", "%v holds %d values, the input %v holds %d", target, known, in, n)
		}
	}
	return l, out, nil
}

func permute(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	var dims []int
	if err := json.Unmarshal(c.e.cfg["dims"], &dims); err != nil || len(dims) != len(in)-1 {
		return nil, nil, c.errf("dims", "want %d dims for input %v, got %s", len(in)-1, in, clip(c.e.cfg["dims"]))
	}
	l, err := layers.Permute(layers.PermuteSpec{Common: c.common(), Dims: dims})
	if err != nil {
		return nil, nil, err
	}
	out := []int{-1}
	for _, d := range dims {
		out = append(out, in[d])
	}
	return l, out, nil
}

func batchNorm(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	r := len(in)
	axis, err := c.int("axis", -1)
	if err != nil {
		return nil, nil, err
	}
	if axis < 0 {
		axis += r
	}
	if axis != r-1 {
		return nil, nil, fmt.Errorf("%w: layer %q (BatchNormalization): axis %d of a rank-%d input (only the last, channels-last axis is supported)", ErrUnsupported, c.e.name, axis, r)
	}
	s := layers.BatchNormSpec{Common: c.common(), Rank: r, Channels: in[r-1]}
	var eps, mom float64
	if eps, err = c.float("epsilon", 1e-3); err != nil {
		return nil, nil, err
	}
	if mom, err = c.float("momentum", 0.99); err != nil {
		return nil, nil, err
	}
	s.Epsilon, s.Momentum = float32(eps), float32(mom)
	if s.Center, err = c.bool("center", true); err != nil {
		return nil, nil, err
	}
	if s.Scale, err = c.bool("scale", true); err != nil {
		return nil, nil, err
	}
	for _, p := range []struct {
		key string
		dst **model.Initializer
	}{{"gamma_initializer", &s.GammaInit}, {"beta_initializer", &s.BetaInit}, {"moving_mean_initializer", &s.MeanInit}, {"moving_variance_initializer", &s.VarianceInit}} {
		if *p.dst, err = c.init(p.key); err != nil {
			return nil, nil, err
		}
	}
	ch := []int{s.Channels}
	if s.Scale {
		if s.Gamma, ch, err = c.take("gamma", ch); err != nil {
			return nil, nil, err
		}
	}
	if s.Center {
		if s.Beta, ch, err = c.take("beta", ch); err != nil {
			return nil, nil, err
		}
	}
	if s.MovingMean, ch, err = c.take("moving_mean", ch); err != nil {
		return nil, nil, err
	}
	if s.MovingVariance, _, err = c.take("moving_variance", ch); err != nil {
		return nil, nil, err
	}
	s.Channels = ch[0]
	l, err := layers.BatchNormalization(s)
	return l, sameShape(c), err
}

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

func pool(nd int, isMax bool) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		def := make([]int, nd)
		for i := range def {
			def[i] = 2 // Keras's default pool_size
		}
		s := layers.PoolSpec{Common: c.common(), Max: isMax, InputSpatial: in[1 : nd+1]}
		if s.PoolSize, err = c.ints("pool_size", nd, def); err != nil {
			return nil, nil, err
		}
		if s.Strides, err = c.ints("strides", nd, nil); err != nil {
			return nil, nil, err
		}
		pad, err := c.str("padding", "valid")
		if err != nil {
			return nil, nil, err
		}
		s.Padding = strings.ToLower(pad)
		l, err := layers.Pooling(s)
		if err != nil {
			return nil, nil, err
		}
		out := []int{-1}
		for i := 0; i < nd; i++ {
			st := s.PoolSize[i]
			if s.Strides != nil {
				st = s.Strides[i]
			}
			out = append(out, spatialOut(in[1+i], s.PoolSize[i], st, 1, s.Padding))
		}
		return l, append(out, in[nd+1]), nil
	}
}

func globalPool(nd int, isMax bool) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		keep, err := c.bool("keepdims", false)
		if err != nil {
			return nil, nil, err
		}
		l, err := layers.GlobalPooling(layers.GlobalPoolSpec{Common: c.common(), Max: isMax, Rank: nd + 2, KeepDims: keep})
		out := []int{-1, in[nd+1]}
		if keep {
			out = []int{-1}
			for i := 0; i < nd; i++ {
				out = append(out, 1)
			}
			out = append(out, in[nd+1])
		}
		return l, out, err
	}
}

func zeroPadding(nd int) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		raw := c.e.cfg["padding"]
		pads := make([][2]int, nd)
		var one int
		var flat []int
		var nested [][]int
		switch {
		case !c.has("padding"):
			for i := range pads {
				pads[i] = [2]int{1, 1} // Keras's default padding=1
			}
		case json.Unmarshal(raw, &one) == nil:
			for i := range pads {
				pads[i] = [2]int{one, one}
			}
		case json.Unmarshal(raw, &flat) == nil && nd == 1 && len(flat) == 2:
			pads[0] = [2]int{flat[0], flat[1]}
		case json.Unmarshal(raw, &flat) == nil && nd == 2 && len(flat) == 2:
			pads[0], pads[1] = [2]int{flat[0], flat[0]}, [2]int{flat[1], flat[1]}
		case json.Unmarshal(raw, &nested) == nil && len(nested) == nd:
			for i, p := range nested {
				if len(p) != 2 {
					return nil, nil, c.errf("padding", "want (before, after) pairs, got %s", clip(raw))
				}
				pads[i] = [2]int{p[0], p[1]}
			}
		default:
			return nil, nil, c.errf("padding", "unreadable: %s", clip(raw))
		}
		for _, p := range pads {
			if p[0] < 0 || p[1] < 0 || p[0] > 1<<20 || p[1] > 1<<20 {
				return nil, nil, c.errf("padding", "out of range: %s", clip(raw))
			}
		}
		l, err := layers.ZeroPadding(layers.ZeroPaddingSpec{Common: c.common(), Padding: pads})
		out := append([]int(nil), in...)
		for i, p := range pads {
			if out[1+i] >= 0 {
				out[1+i] += p[0] + p[1]
			}
		}
		return l, out, err
	}
}

func merge(kind string) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		out := append([]int(nil), c.inShapes[0]...)
		for _, s := range c.inShapes[1:] {
			if len(s) != len(out) {
				return nil, nil, fmt.Errorf("%w: layer %q (%s): inputs have ranks %d and %d", ErrFormat, c.e.name, kind, len(out), len(s))
			}
			for i, d := range s {
				if out[i] < 0 || (d > out[i]) {
					out[i] = d
				}
			}
		}
		l, err := layers.Merge(layers.MergeSpec{Common: c.common(), Kind: kind})
		return l, out, err
	}
}

func concatenate(c *lctx) (*model.Layer, []int, error) {
	axis, err := c.int("axis", -1)
	if err != nil {
		return nil, nil, err
	}
	out := append([]int(nil), c.inShapes[0]...)
	r := len(out)
	a := axis
	if a < 0 {
		a += r
	}
	if a <= 0 || a >= r {
		return nil, nil, c.errf("axis", "%d out of range for rank %d", axis, r)
	}
	for _, s := range c.inShapes[1:] {
		if len(s) != r {
			return nil, nil, fmt.Errorf("%w: layer %q (Concatenate): inputs have ranks %d and %d", ErrFormat, c.e.name, r, len(s))
		}
		if out[a] < 0 || s[a] < 0 {
			out[a] = -1
		} else {
			out[a] += s[a]
		}
	}
	l, err := layers.Concatenate(layers.ConcatenateSpec{Common: c.common(), Axis: a})
	return l, out, err
}

// floatsOrOne reads a float or a list of floats (Rescaling's scale/offset).
func (c *lctx) floatsOrOne(key string, def float64) ([]float32, error) {
	if !c.has(key) {
		return []float32{float32(def)}, nil
	}
	var one float64
	if json.Unmarshal(c.e.cfg[key], &one) == nil {
		return []float32{float32(one)}, nil
	}
	var l []float32
	if err := json.Unmarshal(c.e.cfg[key], &l); err != nil || len(l) == 0 {
		return nil, c.errf(key, "want a number or a list of numbers, got %s", clip(c.e.cfg[key]))
	}
	return l, nil
}

func rescaling(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	scale, err := c.floatsOrOne("scale", 1)
	if err != nil {
		return nil, nil, err
	}
	offset, err := c.floatsOrOne("offset", 0)
	if err != nil {
		return nil, nil, err
	}
	for key, v := range map[string][]float32{"scale": scale, "offset": offset} {
		if len(v) > 1 && len(v) != in[len(in)-1] {
			return nil, nil, c.errf(key, "%d values for %d channels", len(v), in[len(in)-1])
		}
	}
	l, err := layers.Rescaling(layers.RescalingSpec{Common: c.common(), Scale: scale, Offset: offset})
	return l, sameShape(c), err
}

func identity(c *lctx) (*model.Layer, []int, error) {
	l, err := layers.Identity(c.common())
	return l, sameShape(c), err
}
