package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// lowerCast lowers ONNX Cast. Training holds every value as float: a cast
// to an integer type truncates toward zero (ONNX's float-to-int rule) and
// has no gradient (token ids feeding an Embedding's Gather); a cast to a
// float type passes values and gradients through.
func lowerCast(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	switch to := n.AttrInt("to", 0); to {
	case 1, 10, 11, 16: // FLOAT, FLOAT16, DOUBLE, BFLOAT16
		return x, nil
	case 2, 3, 4, 5, 6, 7, 12, 13: // the integer types
		dt, shape := x.Dtype(), x.Shape()
		op := newOp("CastInt", dt, shape, 1)
		op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				trunc(f64(in[0]), f64(out))
			} else {
				trunc(f32(in[0]), f32(out))
			}
			return nil
		}
		op.wrt = []bool{false}
		op.diff = func(in G.Nodes, _, _ *G.Node) (G.Nodes, error) { return G.Nodes{nil}, nil }
		return op.apply(x)
	default:
		return nil, fmt.Errorf("Cast to ONNX data type %d is not lowered", to)
	}
}

func trunc[T floats](x, y []T) {
	for i, v := range x {
		y[i] = T(math.Trunc(float64(v)))
	}
}

// lowerGather lowers ONNX Gather: rows of data (a trainable param, an
// Embedding's table) picked by indices, which are an int64 const or values
// computed by the graph (the ids, truncated by Cast). The gradient with
// respect to data adds each output row's gradient into the row it came
// from; indices have none. Negative indices count from the end; one out of
// range is an error of the step.
func lowerGather(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	data, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	ds := data.Shape()
	axis, err := model.NormAxis(n.AttrInt("axis", 0), len(ds))
	if err != nil {
		return nil, err
	}
	var ids *G.Node
	var cidx []int64
	ishape := []int{}
	if c, ok := lw.consts[n.Inputs[1]]; ok && c.DType == model.Int64 {
		cidx, ishape = c.I64, c.Shape
	} else if ids, err = lw.in(n, 1); err != nil {
		return nil, err
	} else {
		ishape = ids.Shape()
	}
	outer, dim, inner := prod(ds[:axis]), ds[axis], prod(ds[axis+1:])
	out := append(append(append(tensor.Shape{}, ds[:axis]...), ishape...), ds[axis+1:]...)
	dt := data.Dtype()
	nIdx := prod(ishape)
	idx := make([]int, nIdx)
	resolve := func(v []float64) error {
		for i, x := range v {
			k := int(x)
			if k < 0 {
				k += dim
			}
			if k < 0 || k >= dim || float64(int(x)) != x {
				return fmt.Errorf("Gather: index %v out of range for a dim of %d", x, dim)
			}
			idx[i] = k
		}
		return nil
	}
	if cidx != nil {
		v := make([]float64, len(cidx))
		for i, x := range cidx {
			v[i] = float64(x)
		}
		if err := resolve(v); err != nil {
			return nil, err
		}
	}
	arity := 1
	if ids != nil {
		arity = 2
	}
	op := newOp("Gather", dt, out, arity)
	op.do = func(in []*tensor.Dense, y *tensor.Dense) error {
		if ids != nil {
			v := make([]float64, nIdx)
			if dt == tensor.Float64 {
				copy(v, f64(in[1]))
			} else {
				for i, x := range f32(in[1]) {
					v[i] = float64(x)
				}
			}
			if err := resolve(v); err != nil {
				return err
			}
		}
		if dt == tensor.Float64 {
			gatherF(f64(in[0]), f64(y), idx, outer, dim, inner)
		} else {
			gatherF(f32(in[0]), f32(y), idx, outer, dim, inner)
		}
		return nil
	}
	op.wrt = []bool{true}
	if ids != nil {
		op.wrt = []bool{true, false}
	}
	op.diff = func(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		gop := newOp("GatherGrad", dt, ds, 1)
		gop.do = func(in []*tensor.Dense, d *tensor.Dense) error {
			if dt == tensor.Float64 {
				scatterF(f64(in[0]), f64(d), idx, outer, dim, inner)
			} else {
				scatterF(f32(in[0]), f32(d), idx, outer, dim, inner)
			}
			return nil
		}
		g, err := gop.apply(grad)
		if ids != nil {
			return G.Nodes{g, nil}, err
		}
		return G.Nodes{g}, err
	}
	if ids != nil {
		return op.apply(data, ids)
	}
	return op.apply(data)
}

func gatherF[T floats](x, y []T, idx []int, outer, dim, inner int) {
	for o := range outer {
		for i, k := range idx {
			copy(y[(o*len(idx)+i)*inner:(o*len(idx)+i+1)*inner], x[(o*dim+k)*inner:(o*dim+k+1)*inner])
		}
	}
}

func scatterF[T floats](g, d []T, idx []int, outer, dim, inner int) {
	clear(d)
	for o := range outer {
		for i, k := range idx {
			src := g[(o*len(idx)+i)*inner : (o*len(idx)+i+1)*inner]
			dst := d[(o*dim+k)*inner : (o*dim+k+1)*inner]
			for j, v := range src {
				dst[j] += v
			}
		}
	}
}
