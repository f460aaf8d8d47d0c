package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// variadic lowers ONNX Sum, Mean, Max and Min with numpy broadcasting
// (Keras merge layers; Normalization's Max of the deviation and epsilon).
func variadic(op string, ins []*G.Node) (*G.Node, error) {
	for i, in := range ins {
		if in == nil {
			return nil, fmt.Errorf("%s: input %d missing", op, i)
		}
	}
	y := ins[0]
	var err error
	for _, in := range ins[1:] {
		switch {
		case (op == "Sum" || op == "Mean") && in.Shape().Eq(y.Shape()):
			y, err = G.Add(y, in)
		case op == "Sum" || op == "Mean":
			y, err = add(y, in)
		default:
			y, err = maxMin(op == "Max", y, in)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	if op == "Mean" && len(ins) > 1 {
		return activation(kernels.Act{Op: "Affine", Alpha: 1 / float64(len(ins))}, y)
	}
	return y, nil
}

// maxMin is the element-wise max (or min) of a and b with broadcasting; the
// gradient goes to the input chosen (a on ties), summed over the positions
// where that input repeats.
func maxMin(isMax bool, a, b *G.Node) (*G.Node, error) {
	p, err := newBplan(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	if a.Dtype() == tensor.Float64 {
		return maxMinNode[float64](isMax, p, a, b)
	}
	return maxMinNode[float32](isMax, p, a, b)
}

func maxMinNode[T floats](isMax bool, p *bplan, a, b *G.Node) (*G.Node, error) {
	dt := dtypeOf[T]()
	name := "Min"
	if isMax {
		name = "Max"
	}
	op := newOp(name, dt, p.out, 2)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		pick(p, arr[T](in[0]), arr[T](in[1]), arr[T](out), isMax)
		return nil
	}
	op.wrt = []bool{true, true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		specs := make([]*gradSpec, 2)
		for k := range specs {
			specs[k] = &gradSpec{name + "Grad", in[k].Shape(), func(in []*tensor.Dense, d *tensor.Dense) {
				pickGrad(p, arr[T](in[0]), arr[T](in[1]), arr[T](in[2]), arr[T](d), isMax, k == 0)
			}, G.Nodes{in[0], in[1], grad}}
		}
		return gradOps(dt, specs...)
	}
	return op.apply(a, b)
}

func takesA[T floats](a, b T, isMax bool) bool {
	if isMax {
		return a >= b
	}
	return a <= b
}

func pick[T floats](p *bplan, a, b, y []T, isMax bool) {
	p.each(func(o, ia, ib, n, da, db int) {
		for i := range n {
			av, bv := a[ia+i*da], b[ib+i*db]
			if takesA(av, bv, isMax) {
				y[o+i] = av
			} else {
				y[o+i] = bv
			}
		}
	})
}

// pickGrad writes d, the gradient of a (first) or b, from the output
// gradient g.
func pickGrad[T floats](p *bplan, a, b, g, d []T, isMax, first bool) {
	clear(d)
	p.each(func(o, ia, ib, n, da, db int) {
		at, step := ib, db
		if first {
			at, step = ia, da
		}
		for i := range n {
			if takesA(a[ia+i*da], b[ib+i*db], isMax) == first {
				d[at+i*step] += g[o+i]
			}
		}
	})
}

// lowerVariadic lowers Sum, Mean, Max and Min.
func lowerVariadic(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	ins, err := lw.ins(n)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("%s of no inputs", n.Op)
	}
	return variadic(n.Op, ins)
}
