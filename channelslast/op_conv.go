package channelslast

import (
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opConv converts Conv (1-D, 2-D, 3-D) into Conv1D/2D/3D (with groups) or,
// when every input channel is its own group, DepthwiseConv2D. The ONNX
// kernel [O, I/groups, k...] is transposed once to Keras's [k..., I/groups,
// O] ([kh, kw, C, multiplier] for depthwise: ONNX output channel c*m+j
// reads input channel c, as Keras's does). Pads that are TensorFlow's
// "same" become padding="same"; other pads a ZeroPadding layer before a
// "valid" convolution. A following Relu, Sigmoid, Tanh, swish (x *
// sigmoid(x)) or GELU becomes the layer's activation.
func opConv(c *converter, n *model.Node) error {
	x := n.Inputs[0]
	r := c.rank(x)
	sp := r - 2
	if sp < 1 || sp > 3 {
		return c.fail(n, "a convolution over %d spatial dims has no Keras layer", sp)
	}
	if len(n.Inputs) < 2 {
		return c.fail(n, "Conv needs a weight input")
	}
	w := c.constant(n.Inputs[1])
	if w == nil || len(w.Shape) != r {
		return c.fail(n, "weight %q must be a constant of rank %d (Keras convolutions have their kernel as a weight)", n.Inputs[1], r)
	}
	var bias []float32
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		b := c.constant(n.Inputs[2])
		if b == nil || len(b.F32) != w.Shape[0] {
			return c.fail(n, "bias %q must be a constant of %d values", n.Inputs[2], w.Shape[0])
		}
		bias = b.F32
	}
	in := c.shape(x)
	cin, cout := in[1], w.Shape[0]
	groups := int(n.AttrInt("group", 1))
	if cin <= 0 || groups <= 0 || cin%groups != 0 || cout%groups != 0 || w.Shape[1] != cin/groups {
		return c.fail(n, "input channels %d, groups %d and weight %v do not fit", cin, groups, w.Shape)
	}
	k := w.Shape[2:]
	strides := intsAttr(n, "strides", sp, 1)
	dil := intsAttr(n, "dilations", sp, 1)
	begin, end, err := c.pads(n, in[2:], k, strides, dil)
	if err != nil {
		return err
	}
	tr := c.trainable(n)
	cl := channelsLast(r)
	xin, err := c.need(n, x, cl)
	if err != nil {
		return err
	}
	padding, zp := kerasPadding(begin, end, in[2:], k, strides, dil)
	if zp != nil {
		if sp == 3 {
			return c.fail(n, "explicit pads %v %v on a 3-D convolution (Keras ZeroPadding3D is not built here)", begin, end)
		}
		if xin, err = c.add(zeroPaddingLayer(c.layerName(n, "pad"), xin, tr, zp)); err != nil {
			return err
		}
	}
	act, y, yperm := c.fuseActivation(n.Outputs[0], cl)
	name := c.layerName(n, "")
	var l *model.Layer
	if groups == cin && groups > 1 && sp == 2 {
		// Depthwise: [C*m, 1, kh, kw] -> [C, m, kh, kw] -> [kh, kw, C, m].
		mult := cout / cin
		kern, _ := transposeData(w.F32, []int{cin, mult, k[0], k[1]}, []int{2, 3, 0, 1})
		l, err = layers.DepthwiseConv2D(layers.DepthwiseConvSpec{
			Common:       common(name, xin, tr),
			InputSpatial: spatialAfter(in[2:], zp), InChannels: cin, DepthMultiplier: mult,
			KernelSize: k, Strides: strides, Dilation: dil, Padding: padding, Activation: act,
			UseBias: bias != nil, Kernel: kern, Bias: bias,
		})
	} else {
		// [O, I/g, k...] -> [k..., I/g, O].
		perm := append(seq(2, r), 1, 0)
		kern, _ := transposeData(w.F32, w.Shape, perm)
		l, err = layers.Conv(layers.ConvSpec{
			Common:       common(name, xin, tr),
			InputSpatial: spatialAfter(in[2:], zp), InChannels: cin, Filters: cout,
			KernelSize: k, Strides: strides, Dilation: dil, Padding: padding, Groups: groups, Activation: act,
			UseBias: bias != nil, Kernel: kern, Bias: bias,
		})
	}
	out, err := c.add(l, err)
	if err != nil {
		return err
	}
	c.set(y, out, yperm)
	c.nonneg[y] = nonnegActivation[act]
	return nil
}

// seq returns [from, from+1, ..., to-1].
func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// intsAttr returns an int-list attribute of n with n values, def each when
// absent.
func intsAttr(n *model.Node, name string, count, def int) []int {
	v := n.AttrInts(name, nil)
	out := make([]int, count)
	for i := range out {
		out[i] = def
		if i < len(v) {
			out[i] = int(v[i])
		}
	}
	return out
}

// pads returns the begin and end pads per spatial dim of a Conv or pooling
// node on spatial input sizes in, from auto_pad or pads.
func (c *converter) pads(n *model.Node, in, k, s, d []int) (begin, end []int, err error) {
	sp := len(in)
	begin, end = make([]int, sp), make([]int, sp)
	switch ap := n.AttrString("auto_pad", "NOTSET"); ap {
	case "NOTSET":
		p := n.AttrInts("pads", nil)
		if p == nil {
			return begin, end, nil
		}
		if len(p) != 2*sp {
			return nil, nil, c.fail(n, "pads %v do not have %d values", p, 2*sp)
		}
		for i := 0; i < sp; i++ {
			begin[i], end[i] = int(p[i]), int(p[sp+i])
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < sp; i++ {
			if in[i] < 0 {
				return nil, nil, c.fail(n, "auto_pad %s needs known spatial sizes, input has %v", ap, in)
			}
			b, e := tfSame(in[i], k[i], s[i], d[i])
			if ap == "SAME_LOWER" {
				b, e = e, b
			}
			begin[i], end[i] = b, e
		}
	default:
		return nil, nil, c.fail(n, "auto_pad %q is not an ONNX value", ap)
	}
	return begin, end, nil
}

// tfSame returns TensorFlow's "same" pads for one dim: the total
// max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0), the smaller half first.
func tfSame(n, k, s, d int) (int, int) {
	eff := (k-1)*d + 1
	out := (n + s - 1) / s
	total := max((out-1)*s+eff-n, 0)
	return total / 2, total - total/2
}

// kerasPadding returns "valid" when there are no pads, "same" when the pads
// are TensorFlow's "same" for known sizes, else "valid" and the ZeroPadding
// the pads need.
func kerasPadding(begin, end, in, k, s, d []int) (string, [][2]int) {
	zero, same := true, true
	for i := range begin {
		zero = zero && begin[i] == 0 && end[i] == 0
		if in[i] < 0 {
			same = false
			continue
		}
		b, e := tfSame(in[i], k[i], s[i], d[i])
		same = same && b == begin[i] && e == end[i]
	}
	switch {
	case zero:
		return "valid", nil
	case same:
		return "same", nil
	}
	zp := make([][2]int, len(begin))
	for i := range begin {
		zp[i] = [2]int{begin[i], end[i]}
	}
	return "valid", zp
}

// spatialAfter returns the spatial sizes after zero padding zp.
func spatialAfter(in []int, zp [][2]int) []int {
	out := append([]int{}, in...)
	for i := range zp {
		if out[i] >= 0 {
			out[i] += zp[i][0] + zp[i][1]
		}
	}
	return out
}
