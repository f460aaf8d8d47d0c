package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// lowerLayerNorm lowers ONNX LayerNormalization (opset 17): X normalised
// over the dims from axis on, times Scale plus B (both broadcast to those
// dims), statistics in float64 as the engine computes them. Only output Y
// is supported. Its gradient, with xhat the normalised input and
// dxhat = g*Scale over the n normalised values of a row:
//
//	dX = invstd/n * (n*dxhat - sum(dxhat) - xhat*sum(dxhat*xhat))
//	dScale = sum over rows of g*xhat, dB = sum over rows of g
//
// (summed further where Scale and B broadcast).
func lowerLayerNorm(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	for _, o := range n.Outputs[1:] {
		if o != "" && lw.uses[o] > 0 {
			return nil, fmt.Errorf("LayerNormalization's Mean and InvStdDev outputs are not supported in training")
		}
	}
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	scale, err := lw.in(n, 1)
	if err != nil {
		return nil, err
	}
	ins := []*G.Node{x, scale}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		b, err := lw.in(n, 2)
		if err != nil {
			return nil, err
		}
		ins = append(ins, b)
	}
	xs := x.Shape()
	axis, err := model.NormAxis(n.AttrInt("axis", -1), len(xs))
	if err != nil {
		return nil, err
	}
	norm := []int(xs[axis:])
	cols := model.NumElements(norm)
	rows := xs.TotalSize() / max(cols, 1)
	// idx maps each normalised position to the element of Scale and B
	// broadcast to it.
	sIdx, err := broadcastIndex(norm, scale.Shape())
	if err != nil {
		return nil, fmt.Errorf("Scale: %w", err)
	}
	var bIdx []int
	if len(ins) > 2 {
		if bIdx, err = broadcastIndex(norm, ins[2].Shape()); err != nil {
			return nil, fmt.Errorf("B: %w", err)
		}
	}
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	dt := x.Dtype()
	xhat := make([]float64, rows*cols)
	invstd := make([]float64, rows)
	op := newOp("LayerNormalization", dt, xs, len(ins))
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		xv, sv := toF64(in[0]), toF64(in[1])
		var bv []float64
		if len(in) > 2 {
			bv = toF64(in[2])
		}
		y := make([]float64, rows*cols)
		for r := range rows {
			row := xv[r*cols : (r+1)*cols]
			var m float64
			for _, v := range row {
				m += v
			}
			m /= float64(cols)
			var va float64
			for _, v := range row {
				va += (v - m) * (v - m)
			}
			va /= float64(cols)
			is := 1 / math.Sqrt(va+eps)
			invstd[r] = is
			for j, v := range row {
				h := (v - m) * is
				xhat[r*cols+j] = h
				o := h * sv[sIdx[j]]
				if bv != nil {
					o += bv[bIdx[j]]
				}
				y[r*cols+j] = o
			}
		}
		fromF64(y, out)
		return nil
	}
	op.wrt = []bool{true, true, true}[:len(ins)]
	op.diff = func(in G.Nodes, yn, grad *G.Node) (G.Nodes, error) {
		dxop := newOp("LayerNormalizationGradX", dt, xs, 3)
		dxop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			g, sv := toF64(in[1]), toF64(in[2])
			dx := make([]float64, rows*cols)
			nf := float64(cols)
			for r := range rows {
				var s, sx float64
				for j := range cols {
					d := g[r*cols+j] * sv[sIdx[j]]
					s += d
					sx += d * xhat[r*cols+j]
				}
				for j := range cols {
					d := g[r*cols+j] * sv[sIdx[j]]
					dx[r*cols+j] = invstd[r] / nf * (nf*d - s - xhat[r*cols+j]*sx)
				}
			}
			fromF64(dx, out)
			return nil
		}
		dx, err := dxop.apply(yn, grad, in[1])
		if err != nil {
			return nil, err
		}
		grads := G.Nodes{dx, nil, nil}[:len(ins)]
		dsop := newOp("LayerNormalizationGradScale", dt, scale.Shape(), 2)
		dsop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			g := toF64(in[1])
			d := make([]float64, out.Shape().TotalSize())
			for i, v := range g {
				d[sIdx[i%cols]] += v * xhat[i]
			}
			fromF64(d, out)
			return nil
		}
		if grads[1], err = dsop.apply(yn, grad); err != nil {
			return nil, err
		}
		if len(ins) > 2 {
			dbop := newOp("LayerNormalizationGradB", dt, ins[2].Shape(), 2)
			dbop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				g := toF64(in[1])
				d := make([]float64, out.Shape().TotalSize())
				for i, v := range g {
					d[bIdx[i%cols]] += v
				}
				fromF64(d, out)
				return nil
			}
			if grads[2], err = dbop.apply(yn, grad); err != nil {
				return nil, err
			}
		}
		return grads, nil
	}
	return op.apply(ins...)
}
