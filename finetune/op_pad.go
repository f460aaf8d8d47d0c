package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// pad is ONNX Pad in constant mode (Keras ZeroPadding layers), pads from an
// int64 const input (opset >= 11) or the pads attribute.
func pad(lw *lowerer, n *model.Node, x *G.Node) (*G.Node, error) {
	if mode := n.AttrString("mode", "constant"); mode != "constant" {
		return nil, fmt.Errorf("mode %q: only constant padding is supported", mode)
	}
	dt, xs := x.Dtype(), x.Shape()
	r := len(xs)
	pads := n.AttrInts("pads", nil)
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		c, ok := lw.consts[n.Inputs[1]]
		if !ok || c.DType != model.Int64 {
			return nil, fmt.Errorf("pads %q is not an int64 const", n.Inputs[1])
		}
		pads = c.I64
	}
	if len(pads) != 2*r {
		return nil, fmt.Errorf("pads %v for rank %d", pads, r)
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != "" {
		return nil, fmt.Errorf("padding only some axes is not supported")
	}
	value := 0.0
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		v, ok := lw.constFloat(n.Inputs[2])
		if !ok {
			return nil, fmt.Errorf("constant_value %q is not a float const", n.Inputs[2])
		}
		value = v
	}
	out := make(tensor.Shape, r)
	for i := range xs {
		if pads[i] < 0 || pads[i+r] < 0 {
			return nil, fmt.Errorf("negative pads %v are not supported", pads)
		}
		out[i] = xs[i] + int(pads[i]+pads[i+r])
	}
	if out[0] != xs[0] {
		return nil, fmt.Errorf("padding the batch axis is not supported")
	}
	// from[o] is the input element output o copies, or -1 for padding.
	from := make([]int, out.TotalSize())
	coord := make([]int, r)
	for o := range from {
		i := 0
		for k := 0; k < r; k++ {
			p := coord[k] - int(pads[k])
			if p < 0 || p >= xs[k] {
				i = -1
				break
			}
			i = i*xs[k] + p
		}
		from[o] = i
		incr(coord, out)
	}
	op := newOp("Pad", dt, out, 1)
	op.do = func(in []*tensor.Dense, o *tensor.Dense) error {
		if dt == tensor.Float64 {
			gather(f64(in[0]), f64(o), from, value)
		} else {
			gather(f32(in[0]), f32(o), from, value)
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		gop := newOp("PadGrad", dt, xs, 1)
		gop.do = func(in []*tensor.Dense, o *tensor.Dense) error {
			if dt == tensor.Float64 {
				scatter(f64(in[0]), f64(o), from)
			} else {
				scatter(f32(in[0]), f32(o), from)
			}
			return nil
		}
		d, err := gop.apply(grad)
		return G.Nodes{d}, err
	}
	return op.apply(x)
}

func gather[T floats](x, y []T, from []int, value float64) {
	for o, i := range from {
		if i < 0 {
			y[o] = T(value)
		} else {
			y[o] = x[i]
		}
	}
}

func scatter[T floats](g, d []T, from []int) {
	for o, i := range from {
		if i >= 0 {
			d[i] = g[o]
		}
	}
}

// lowerPad lowers ONNX Pad (constant mode).
func lowerPad(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	return pad(lw, n, x)
}
