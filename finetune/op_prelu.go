package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// broadcastIndex maps each position of the trailing dims inner (a shape
// without the batch dim) to the flat index of a param of shape p broadcast
// against it, numpy style (right-aligned, size-1 dims repeat).
func broadcastIndex(inner, p []int) ([]int, error) {
	for len(p) > len(inner) && p[0] == 1 {
		p = p[1:]
	}
	if len(p) > len(inner) {
		return nil, fmt.Errorf("shape %v does not broadcast to %v", p, inner)
	}
	pad := append(make([]int, len(inner)-len(p)), p...)
	for i := range pad[:len(inner)-len(p)] {
		pad[i] = 1
	}
	for i := range inner {
		if pad[i] != 1 && pad[i] != inner[i] {
			return nil, fmt.Errorf("shape %v does not broadcast to %v", p, inner)
		}
	}
	n := 1
	for _, d := range inner {
		n *= d
	}
	idx := make([]int, n)
	coord := make([]int, len(inner))
	for k := range idx {
		j := 0
		for i := range inner {
			c := coord[i]
			if pad[i] == 1 {
				c = 0
			}
			j = j*pad[i] + c
		}
		idx[k] = j
		for i := len(inner) - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < inner[i] {
				break
			}
			coord[i] = 0
		}
	}
	return idx, nil
}

// prelu returns x where x >= 0, alpha*x elsewhere, alpha broadcast over the
// non-batch dims (ONNX PRelu, Keras PReLU); alpha is trainable.
func prelu(x, alpha *G.Node) (*G.Node, error) {
	dt, shape := x.Dtype(), x.Shape()
	idx, err := broadcastIndex(shape[1:], alpha.Shape())
	if err != nil {
		return nil, fmt.Errorf("finetune: PRelu slope: %w", err)
	}
	op := newOp("PRelu", dt, shape, 2)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			preluFwd(f64(in[0]), f64(in[1]), f64(out), idx)
		} else {
			preluFwd(f32(in[0]), f32(in[1]), f32(out), idx)
		}
		return nil
	}
	op.wrt = []bool{true, true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dxop := newOp("PReluGradX", dt, shape, 3)
		dxop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				preluDX(f64(in[0]), f64(in[1]), f64(in[2]), f64(out), idx)
			} else {
				preluDX(f32(in[0]), f32(in[1]), f32(in[2]), f32(out), idx)
			}
			return nil
		}
		daop := newOp("PReluGradAlpha", dt, alpha.Shape(), 2)
		daop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				preluDA(f64(in[0]), f64(in[1]), f64(out), idx)
			} else {
				preluDA(f32(in[0]), f32(in[1]), f32(out), idx)
			}
			return nil
		}
		dx, err := dxop.apply(in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		da, err := daop.apply(in[0], grad)
		return G.Nodes{dx, da}, err
	}
	return op.apply(x, alpha)
}

func preluFwd[T floats](x, a, y []T, idx []int) {
	n := len(idx)
	for i, v := range x {
		if v < 0 {
			v *= a[idx[i%n]]
		}
		y[i] = v
	}
}

func preluDX[T floats](x, a, g, dx []T, idx []int) {
	n := len(idx)
	for i, v := range x {
		if v < 0 {
			dx[i] = g[i] * a[idx[i%n]]
		} else {
			dx[i] = g[i]
		}
	}
}

func preluDA[T floats](x, g, da []T, idx []int) {
	clear(da)
	n := len(idx)
	for i, v := range x {
		if v < 0 {
			da[idx[i%n]] += g[i] * v
		}
	}
}

// lowerPRelu lowers ONNX PRelu with a slope broadcast to the input.
func lowerPRelu(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	ins, err := lw.ins(n)
	if err != nil || len(ins) != 2 {
		return nil, fmt.Errorf("PRelu needs inputs X and slope: %v", err)
	}
	return prelu(ins[0], ins[1])
}
