package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

func (lw *lowerer) reshape(n *model.Node, x *G.Node) (*G.Node, error) {
	if len(n.Inputs) < 2 {
		return nil, fmt.Errorf("no shape input")
	}
	c, ok := lw.consts[n.Inputs[1]]
	if !ok || c.DType != model.Int64 {
		return nil, fmt.Errorf("shape %q is not an int64 const", n.Inputs[1])
	}
	xs := x.Shape()
	out := make(tensor.Shape, len(c.I64))
	infer, known := -1, 1
	for i, d := range c.I64 {
		switch {
		case d == 0 && n.AttrInt("allowzero", 0) == 0 && i < len(xs):
			out[i] = xs[i]
		case d == -1 && infer < 0:
			infer = i
			continue
		case d > 0:
			out[i] = int(d)
		default:
			return nil, fmt.Errorf("bad target shape %v", c.I64)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || xs.TotalSize()%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", xs, c.I64)
		}
		out[infer] = xs.TotalSize() / known
	}
	if out.TotalSize() != xs.TotalSize() {
		return nil, fmt.Errorf("cannot reshape %v to %v", xs, c.I64)
	}
	return G.Reshape(x, out)
}

// lowerIdentity passes its input through.
func lowerIdentity(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	return lw.in(n, 0)
}

// lowerFlatten lowers ONNX Flatten to [prod(dims before axis), prod(rest)].
func lowerFlatten(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	axis := int(n.AttrInt("axis", 1))
	if axis < 0 {
		axis += len(s)
	}
	if axis < 0 || axis > len(s) {
		return nil, fmt.Errorf("axis %d out of range for shape %v", n.AttrInt("axis", 1), s)
	}
	if axis == 0 {
		return G.Reshape(x, tensor.Shape{1, s.TotalSize()})
	}
	return G.Reshape(x, tensor.Shape{s[:axis].TotalSize(), s[axis:].TotalSize()})
}

// lowerReshape lowers ONNX Reshape by an int64 const shape.
func lowerReshape(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	return lw.reshape(n, x)
}

// lowerTranspose lowers ONNX Transpose (perm; default reverses the axes).
func lowerTranspose(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	perm := n.AttrInts("perm", nil)
	axes := make([]int, len(x.Shape()))
	for i := range axes {
		axes[i] = len(axes) - 1 - i
	}
	if perm != nil {
		if len(perm) != len(axes) {
			return nil, fmt.Errorf("perm %v for rank %d", perm, len(axes))
		}
		for i, p := range perm {
			axes[i] = int(p)
		}
	}
	return G.Transpose(x, axes...)
}

// lowerConcat lowers ONNX Concat along a non-batch axis.
func lowerConcat(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	ins, err := lw.ins(n)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("Concat of no inputs")
	}
	r := len(ins[0].Shape())
	axis := int(n.AttrInt("axis", 0))
	if axis < 0 {
		axis += r
	}
	batchFree := true
	for _, in := range n.Inputs {
		batchFree = batchFree && lw.batchFree(in, 0)
	}
	if axis < 0 || axis >= r || axis == 0 && !batchFree {
		return nil, fmt.Errorf("axis %d of rank %d: only non-batch axes are supported", n.AttrInt("axis", 0), r)
	}
	if len(ins) == 1 {
		return ins[0], nil
	}
	return G.Concat(axis, ins...)
}
