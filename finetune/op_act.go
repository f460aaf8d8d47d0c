package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// activation applies k (internal/kernels' activation table) to x.
func activation(k kernels.Act, x *G.Node) (*G.Node, error) {
	dt := x.Dtype()
	op := newOp(k.Op, dt, x.Shape(), 1)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			kernels.Forward(k, f64(in[0]), f64(out))
		} else {
			kernels.Forward(k, f32(in[0]), f32(out))
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		if !kernels.HasGrad(k.Op) {
			return nil, fmt.Errorf("finetune: %s has no gradient", k.Op)
		}
		gop := newOp(k.Op+"Grad", dt, x.Shape(), 3)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				kernels.Backward(k, f64(in[0]), f64(in[1]), f64(in[2]), f64(out))
			} else {
				kernels.Backward(k, f32(in[0]), f32(in[1]), f32(in[2]), f32(out))
			}
			return nil
		}
		dx, err := gop.apply(in[0], y, grad)
		return G.Nodes{dx}, err
	}
	return op.apply(x)
}

// lowerAct lowers an element-wise activation of kernels' table.
func lowerAct(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	k, err := kernels.ActOf(n)
	if err != nil {
		return nil, err
	}
	return activation(k, x)
}

// lowerClip lowers ONNX Clip: min and max attributes before opset 11, const
// inputs from 11.
func lowerClip(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if lw.m.Opset > 0 && lw.m.Opset < 11 {
		lo, hi = float64(n.AttrFloat("min", float32(lo))), float64(n.AttrFloat("max", float32(hi)))
	}
	for i, dst := range []*float64{&lo, &hi} {
		if len(n.Inputs) > i+1 && n.Inputs[i+1] != "" {
			v, ok := lw.constFloat(n.Inputs[i+1])
			if !ok {
				return nil, fmt.Errorf("bound %q is not a float const", n.Inputs[i+1])
			}
			*dst = v
		}
	}
	return activation(kernels.Act{Op: "Clip", Alpha: lo, Beta: hi}, x)
}
