package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// reduce is ONNX ReduceMean, ReduceSum, ReduceMax or ReduceMin over
// non-batch axes (Keras's GlobalMaxPooling and GlobalAveragePooling in
// channels-last, keepdims). ReduceMax's (ReduceMin's) gradient goes to the
// first element holding the extreme (PyTorch's amax splits ties
// evenly; ties have measure zero on real activations).
func reduce(lw *lowerer, n *model.Node, x *G.Node) (*G.Node, error) {
	dt, xs := x.Dtype(), x.Shape()
	r := len(xs)
	axes := n.AttrInts("axes", nil)
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		c, ok := lw.consts[n.Inputs[1]]
		if !ok || c.DType != model.Int64 {
			return nil, fmt.Errorf("axes %q is not an int64 const", n.Inputs[1])
		}
		axes = c.I64
	}
	red := make([]bool, r)
	if len(axes) == 0 {
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return x, nil
		}
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || int(a) >= r {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, r)
		}
		red[a] = true
	}
	if red[0] {
		return nil, fmt.Errorf("reducing the batch axis is not supported")
	}
	keep := n.AttrInt("keepdims", 1) != 0
	var outShape tensor.Shape
	for i, d := range xs {
		switch {
		case !red[i]:
			outShape = append(outShape, d)
		case keep:
			outShape = append(outShape, 1)
		}
	}
	// to[i] is the output element input element i adds into.
	total := xs.TotalSize()
	to := make([]int, total)
	coord := make([]int, r)
	cnt := 1
	for i, d := range xs {
		if red[i] {
			cnt *= d
		}
	}
	for i := 0; i < total; i++ {
		o := 0
		for k := 0; k < r; k++ {
			if !red[k] {
				o = o*xs[k] + coord[k]
			}
		}
		to[i] = o
		incr(coord, xs)
	}
	scale := 1.0
	if n.Op == "ReduceMean" {
		scale = 1 / float64(cnt)
	}
	extreme := n.Op == "ReduceMax" || n.Op == "ReduceMin"
	if extreme && cnt == 0 {
		return nil, fmt.Errorf("%s over an empty axis", n.Op)
	}
	// arg[o] is the input element output o took (ReduceMax, ReduceMin),
	// set by the forward pass for the backward one.
	var arg []int
	if extreme {
		arg = make([]int, outShape.TotalSize())
	}
	op := newOp(n.Op, dt, outShape, 1)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		switch {
		case extreme && dt == tensor.Float64:
			reduceExtreme(f64(in[0]), f64(out), to, arg, n.Op == "ReduceMax")
		case extreme:
			reduceExtreme(f32(in[0]), f32(out), to, arg, n.Op == "ReduceMax")
		case dt == tensor.Float64:
			reduceForward(f64(in[0]), f64(out), to, scale)
		default:
			reduceForward(f32(in[0]), f32(out), to, scale)
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		gop := newOp(n.Op+"Grad", dt, xs, 1)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			switch {
			case extreme && dt == tensor.Float64:
				extremeBackward(f64(in[0]), f64(out), arg)
			case extreme:
				extremeBackward(f32(in[0]), f32(out), arg)
			case dt == tensor.Float64:
				g, d := f64(in[0]), f64(out)
				for i, o := range to {
					d[i] = g[o] * scale
				}
			default:
				g, d := f32(in[0]), f32(out)
				for i, o := range to {
					d[i] = g[o] * float32(scale)
				}
			}
			return nil
		}
		d, err := gop.apply(grad)
		return G.Nodes{d}, err
	}
	return op.apply(x)
}

// reduceExtreme writes each output's max (isMax) or min over the input
// elements that reduce into it, and which one it took into arg (the first,
// in input order, on ties; NaN propagates as ONNX Runtime's does).
func reduceExtreme[T floats](x, y []T, to, arg []int, isMax bool) {
	for i := range arg {
		arg[i] = -1
	}
	for i, o := range to {
		v, a := x[i], arg[o]
		if a < 0 || (v != v && y[o] == y[o]) || (isMax && v > y[o]) || (!isMax && v < y[o]) {
			y[o], arg[o] = v, i
		}
	}
}

func extremeBackward[T floats](g, d []T, arg []int) {
	clear(d)
	for o, i := range arg {
		d[i] += g[o]
	}
}

func reduceForward[T floats](x, y []T, to []int, scale float64) {
	clear(y)
	for i, o := range to {
		y[o] += x[i]
	}
	for i := range y {
		y[i] *= T(scale)
	}
}

// lowerReduce lowers ReduceMean, ReduceSum, ReduceMax and ReduceMin.
func lowerReduce(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	return reduce(lw, n, x)
}
