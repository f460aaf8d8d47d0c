package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// variadic lowers ONNX Sum, Mean, Max and Min over same-shape inputs (Keras
// merge layers).
func variadic(op string, ins []*G.Node) (*G.Node, error) {
	for i, in := range ins {
		if in == nil || !in.Shape().Eq(ins[0].Shape()) {
			return nil, fmt.Errorf("%s: input %d missing or of another shape (only equal shapes are supported)", op, i)
		}
	}
	y := ins[0]
	var err error
	for _, in := range ins[1:] {
		switch op {
		case "Sum", "Mean":
			y, err = G.Add(y, in)
		case "Max", "Min":
			y, err = maxMin(op == "Max", y, in)
		}
		if err != nil {
			return nil, err
		}
	}
	if op == "Mean" && len(ins) > 1 {
		return activation(kernels.Act{Op: "Affine", Alpha: 1 / float64(len(ins))}, y)
	}
	return y, nil
}

// maxMin is the element-wise max (or min) of a and b; the gradient goes to
// the input chosen (a on ties).
func maxMin(isMax bool, a, b *G.Node) (*G.Node, error) {
	dt, shape := a.Dtype(), a.Shape()
	name := "Min"
	if isMax {
		name = "Max"
	}
	op := newOp(name, dt, shape, 2)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			pick(f64(in[0]), f64(in[1]), f64(out), isMax)
		} else {
			pick(f32(in[0]), f32(in[1]), f32(out), isMax)
		}
		return nil
	}
	op.wrt = []bool{true, true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		grads := make(G.Nodes, 2)
		for k := 0; k < 2; k++ {
			gop := newOp(name+"Grad", dt, shape, 3)
			first := k == 0
			gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					pickGrad(f64(in[0]), f64(in[1]), f64(in[2]), f64(out), isMax, first)
				} else {
					pickGrad(f32(in[0]), f32(in[1]), f32(in[2]), f32(out), isMax, first)
				}
				return nil
			}
			d, err := gop.apply(in[0], in[1], grad)
			if err != nil {
				return nil, err
			}
			grads[k] = d
		}
		return grads, nil
	}
	return op.apply(a, b)
}

func takesA[T floats](a, b T, isMax bool) bool {
	if isMax {
		return a >= b
	}
	return a <= b
}

func pick[T floats](a, b, y []T, isMax bool) {
	for i := range y {
		if takesA(a[i], b[i], isMax) {
			y[i] = a[i]
		} else {
			y[i] = b[i]
		}
	}
}

func pickGrad[T floats](a, b, g, d []T, isMax, first bool) {
	for i := range d {
		if takesA(a[i], b[i], isMax) == first {
			d[i] = g[i]
		} else {
			d[i] = 0
		}
	}
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
