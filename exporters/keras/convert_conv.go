package keras

import (
	"slices"

	"github.com/xferml/xfer/model"
)

// Perms of the Transposes a channels-last conv layer wraps around ONNX's
// channels-first Conv, for 1-D and 2-D convolutions (index = spatial rank).
var (
	toNCHW    = map[int][]int64{1: {0, 2, 1}, 2: {0, 3, 1, 2}}
	fromNCHW  = map[int][]int64{1: {0, 2, 1}, 2: {0, 2, 3, 1}}
	kernelOIH = map[int][]int64{1: {2, 1, 0}, 2: {3, 2, 0, 1}} // HWIO -> OIHW
)

// conv converts Transpose(to NCHW) -> Conv [-> Add bias] -> Transpose(back)
// [-> activation], the channels-last wrapping of an ONNX Conv, into a Keras
// Conv1D/Conv2D. The kernel is either an HWIO param reaching Conv through a
// Transpose (xfer's Keras layout) or an OIHW param read by Conv directly.
func (c *nodeConv) conv() (*kLayer, error) {
	x, err := c.input()
	if err != nil {
		return nil, err
	}
	nodes := c.l.Nodes
	t0 := nodes[0]
	rank := len(t0.AttrInts("perm", nil)) - 2
	if rank != 1 && rank != 2 || !slices.Equal(t0.AttrInts("perm", nil), toNCHW[rank]) || t0.Inputs[0] != x {
		return nil, c.errorf("Transpose node %q is not the channels-last to channels-first transpose of the layer input (perm %v)", t0.Name, toNCHW[2])
	}
	i := 1
	// Optional kernel transpose HWIO -> OIHW.
	var kernelT *model.Node
	if i < len(nodes) && nodes[i].Op == "Transpose" && slices.Equal(nodes[i].AttrInts("perm", nil), kernelOIH[rank]) {
		kernelT = nodes[i]
		i++
	}
	if i >= len(nodes) || nodes[i].Op != "Conv" {
		return nil, c.errorf("expected a Conv after the input Transpose, found %s", opList(nodes[i:]))
	}
	cv := nodes[i]
	i++
	if cv.Inputs[0] != t0.Outputs[0] || len(cv.Inputs) < 2 {
		return nil, c.errorf("Conv node %q does not read the transposed input", cv.Name)
	}
	var kernel []float32
	var kshape []int
	var kp *model.Param
	if kernelT != nil {
		if cv.Inputs[1] != kernelT.Outputs[0] {
			return nil, c.errorf("Conv node %q does not read the transposed kernel", cv.Name)
		}
		s, d, p, ok := c.tensor(kernelT.Inputs[0])
		if !ok || len(s) != rank+2 {
			return nil, c.errorf("kernel %q must be a %d-D float param of the layer", kernelT.Inputs[0], rank+2)
		}
		kernel, kshape, kp = d, slices.Clone(s), p
	} else {
		s, d, p, ok := c.tensor(cv.Inputs[1])
		if !ok || len(s) != rank+2 {
			return nil, c.errorf("Conv node %q: kernel %q must be a %d-D float param of the layer", cv.Name, cv.Inputs[1], rank+2)
		}
		kernel, kshape, kp = oihwToHWIO(d, s), append(slices.Clone(s[2:]), s[1], s[0]), p
	}
	filters := kshape[rank+1]
	var bias []float32
	var bp *model.Param
	if len(cv.Inputs) > 2 && cv.Inputs[2] != "" {
		s, d, p, ok := c.tensor(cv.Inputs[2])
		if !ok {
			return nil, c.errorf("Conv node %q: bias %q must be a float param of the layer", cv.Name, cv.Inputs[2])
		}
		if bias, err = c.vector(d, s, filters, "bias"); err != nil {
			return nil, err
		}
		bp = p
	}
	if i >= len(nodes) || nodes[i].Op != "Transpose" || nodes[i].Inputs[0] != cv.Outputs[0] ||
		!slices.Equal(nodes[i].AttrInts("perm", nil), fromNCHW[rank]) {
		return nil, c.errorf("Conv node %q must be followed by the channels-first to channels-last Transpose (perm %v)", cv.Name, fromNCHW[rank])
	}
	y := nodes[i].Outputs[0]
	act, err := c.activation(nodes[i+1:], y)
	if err != nil {
		return nil, err
	}

	if a := cv.AttrString("auto_pad", "NOTSET"); a != "NOTSET" && a != "VALID" && a != "SAME_UPPER" {
		return nil, c.errorf("Conv node %q: auto_pad %s has no Keras padding", cv.Name, a)
	}
	ones := func() []int64 {
		v := make([]int64, rank)
		for j := range v {
			v[j] = 1
		}
		return v
	}
	strides := cv.AttrInts("strides", ones())
	dil := cv.AttrInts("dilations", ones())
	groups := cv.AttrInt("group", 1)
	padding, err := c.kerasPadding(cv, x, kshape[:rank], strides, dil)
	if err != nil {
		return nil, err
	}
	toList := func(v []int64) []any {
		out := make([]any, len(v))
		for j, e := range v {
			out[j] = int(e)
		}
		return out
	}
	ks := make([]int64, rank)
	for j := range ks {
		ks[j] = int64(kshape[j])
	}
	class := "Conv1D"
	if rank == 2 {
		class = "Conv2D"
	}
	cfg := c.baseConfig().Set("filters", filters).Set("kernel_size", toList(ks)).Set("strides", toList(strides)).
		Set("padding", padding).Set("data_format", "channels_last").Set("dilation_rate", toList(dil)).
		Set("groups", int(groups)).Set("activation", act).Set("use_bias", bias != nil).
		Set("kernel_initializer", initializer(kp, "glorot_uniform")).Set("bias_initializer", initializer(bp, "zeros")).
		Set("kernel_regularizer", nil).Set("bias_regularizer", nil).Set("activity_regularizer", nil).
		Set("kernel_constraint", nil).Set("bias_constraint", nil)
	k := &kLayer{class: class, cfg: cfg, weights: []kWeight{{role: "kernel", shape: kshape, data: kernel}}}
	if bias != nil {
		k.weights = append(k.weights, kWeight{role: "bias", shape: []int{filters}, data: bias})
	}
	return k, nil
}

// kerasPadding maps the Conv's padding to "valid" or "same". TensorFlow's
// "same" pads max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0) in total per axis,
// the smaller half before (ONNX SAME_UPPER).
func (c *nodeConv) kerasPadding(cv *model.Node, x string, k []int, strides, dil []int64) (string, error) {
	switch cv.AttrString("auto_pad", "NOTSET") {
	case "VALID":
		return "valid", nil
	case "SAME_UPPER":
		return "same", nil
	}
	rank := len(k)
	pads := cv.AttrInts("pads", make([]int64, 2*rank))
	if len(pads) != 2*rank {
		return "", c.errorf("Conv node %q: pads %v do not have %d values", cv.Name, pads, 2*rank)
	}
	zero := true
	for _, p := range pads {
		zero = zero && p == 0
	}
	if zero {
		return "valid", nil
	}
	v := c.shapes[x]
	if v == nil || len(v.Shape) != rank+2 {
		return "", c.errorf("Conv node %q: explicit pads %v need a known input shape to match Keras's \"same\"", cv.Name, pads)
	}
	for j := 0; j < rank; j++ {
		n := int64(v.Shape[1+j]) // channels-last input: spatial dims 1..rank
		s := strides[j]
		if n < 0 || s <= 0 {
			return "", c.errorf("Conv node %q: explicit pads %v need known spatial dims", cv.Name, pads)
		}
		eff := (int64(k[j])-1)*dil[j] + 1
		total := max(((n+s-1)/s-1)*s+eff-n, 0)
		if pads[j] != total/2 || pads[rank+j] != total-total/2 {
			return "", c.errorf("Conv node %q: pads %v are neither Keras's \"valid\" nor its \"same\"", cv.Name, pads)
		}
	}
	return "same", nil
}

// oihwToHWIO reorders an ONNX [O, I, k...] kernel to Keras's [k..., I, O].
func oihwToHWIO(w []float32, s []int) []float32 {
	o, in := s[0], s[1]
	sp := 1
	for _, d := range s[2:] {
		sp *= d
	}
	out := make([]float32, len(w))
	for oi := 0; oi < o; oi++ {
		for ii := 0; ii < in; ii++ {
			for p := 0; p < sp; p++ {
				out[(p*in+ii)*o+oi] = w[(oi*in+ii)*sp+p]
			}
		}
	}
	return out
}
