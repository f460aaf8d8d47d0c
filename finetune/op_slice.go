package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// pickIdx is an op whose output element i is input element src[i]: Slice and
// a recurrent layer's last step. Its gradient adds each output gradient
// back into the element it came from.
func pickIdx(name string, x *G.Node, out tensor.Shape, src []int) (*G.Node, error) {
	dt, xs := x.Dtype(), x.Shape()
	op := newOp(name, dt, out, 1)
	op.do = func(in []*tensor.Dense, y *tensor.Dense) error {
		if dt == tensor.Float64 {
			pickF(f64(in[0]), f64(y), src)
		} else {
			pickF(f32(in[0]), f32(y), src)
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		gop := newOp(name+"Grad", dt, xs, 1)
		gop.do = func(in []*tensor.Dense, d *tensor.Dense) error {
			if dt == tensor.Float64 {
				unpickF(f64(in[0]), f64(d), src)
			} else {
				unpickF(f32(in[0]), f32(d), src)
			}
			return nil
		}
		g, err := gop.apply(grad)
		return G.Nodes{g}, err
	}
	return op.apply(x)
}

func pickF[T floats](x, y []T, src []int) {
	for i, s := range src {
		y[i] = x[s]
	}
}

func unpickF[T floats](g, d []T, src []int) {
	clear(d)
	for i, s := range src {
		d[s] += g[i]
	}
}

// lowerSlice lowers ONNX Slice with int64 const starts, ends, axes and
// steps (Keras's Cropping, a recurrent layer's time reversal), on any axis
// of the batch-sized tensor, through model.SliceDims as the engine slices.
func lowerSlice(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	var args [4][]int64
	for i := range args {
		if i+1 >= len(n.Inputs) || n.Inputs[i+1] == "" {
			continue
		}
		v, ok := lw.constInts(n.Inputs[i+1])
		if !ok {
			return nil, fmt.Errorf("Slice input %q is not an int64 const", n.Inputs[i+1])
		}
		args[i] = v
	}
	xs := x.Shape()
	ax, err := model.SliceDims(xs, args[0], args[1], args[2], args[3])
	if err != nil {
		return nil, err
	}
	out := make(tensor.Shape, len(xs))
	for i, a := range ax {
		out[i] = a.Count
	}
	strides := make([]int, len(xs))
	s := 1
	for i := len(xs) - 1; i >= 0; i-- {
		strides[i] = s
		s *= xs[i]
	}
	src := make([]int, out.TotalSize())
	coord := make([]int, len(out))
	for i := range src {
		k := 0
		for d, c := range coord {
			k += (ax[d].Start + c*ax[d].Step) * strides[d]
		}
		src[i] = k
		incr(coord, out)
	}
	return pickIdx("Slice", x, out, src)
}

// lowerSqueeze lowers Squeeze and Unsqueeze (axes an int64 const input, or
// the attribute before opset 13) as reshapes to the shape inferred for the
// node's output.
func lowerSqueeze(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	axes := n.AttrInts("axes", nil)
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		v, ok := lw.constInts(n.Inputs[1])
		if !ok {
			return nil, fmt.Errorf("%s axes %q is not an int64 const", n.Op, n.Inputs[1])
		}
		axes = v
	}
	xs := x.Shape()
	var out tensor.Shape
	if n.Op == "Squeeze" {
		drop := map[int]bool{}
		for _, a := range axes {
			ax, err := model.NormAxis(a, len(xs))
			if err != nil {
				return nil, err
			}
			if xs[ax] != 1 {
				return nil, fmt.Errorf("Squeeze axis %d has size %d", a, xs[ax])
			}
			drop[ax] = true
		}
		for i, d := range xs {
			if !drop[i] && !(len(axes) == 0 && d == 1) {
				out = append(out, d)
			}
		}
	} else {
		r := len(xs) + len(axes)
		ins := map[int]bool{}
		for _, a := range axes {
			ax, err := model.NormAxis(a, r)
			if err != nil {
				return nil, err
			}
			ins[ax] = true
		}
		k := 0
		for i := range r {
			if ins[i] {
				out = append(out, 1)
			} else {
				out = append(out, xs[k])
				k++
			}
		}
	}
	return G.Reshape(x, out)
}
