package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

func matMul(a, b *G.Node) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	if len(bs) != 2 || len(as) < 2 {
		return nil, fmt.Errorf("MatMul of %v by %v: only [..., K] x [K, N] is supported", as, bs)
	}
	if len(as) == 2 {
		return G.Mul(a, b)
	}
	k := as[len(as)-1]
	flat, err := G.Reshape(a, tensor.Shape{as.TotalSize() / k, k})
	if err != nil {
		return nil, err
	}
	y, err := G.Mul(flat, b)
	if err != nil {
		return nil, err
	}
	out := append(as[:len(as)-1].Clone(), bs[1])
	return G.Reshape(y, out)
}

func (lw *lowerer) gemm(n *model.Node, ins []*G.Node) (*G.Node, error) {
	a, b := ins[0], ins[1]
	var err error
	if n.AttrInt("transA", 0) != 0 {
		if a, err = G.Transpose(a, 1, 0); err != nil {
			return nil, err
		}
	}
	if n.AttrInt("transB", 0) != 0 {
		if b, err = G.Transpose(b, 1, 0); err != nil {
			return nil, err
		}
	}
	y, err := G.Mul(a, b)
	if err != nil {
		return nil, err
	}
	if alpha := float64(n.AttrFloat("alpha", 1)); alpha != 1 {
		if y, err = activation(kernels.Act{Op: "Affine", Alpha: alpha}, y); err != nil {
			return nil, err
		}
	}
	if len(ins) < 3 || ins[2] == nil {
		return y, nil
	}
	c := ins[2]
	if beta := float64(n.AttrFloat("beta", 1)); beta != 1 {
		if c, err = activation(kernels.Act{Op: "Affine", Alpha: beta}, c); err != nil {
			return nil, err
		}
	}
	return add(y, c)
}

// lowerMatMul lowers ONNX MatMul of [..., K] by a [K, N] matrix.
func lowerMatMul(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	ins, err := lw.ins(n)
	if err != nil || len(ins) != 2 {
		return nil, fmt.Errorf("MatMul needs 2 inputs: %v", err)
	}
	return matMul(ins[0], ins[1])
}

// lowerGemm lowers ONNX Gemm.
func lowerGemm(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	ins := make([]*G.Node, len(n.Inputs))
	for i := range n.Inputs {
		if i == 2 && n.Inputs[i] == "" {
			continue // C is optional
		}
		v, err := lw.in(n, i)
		if err != nil {
			return nil, err
		}
		ins[i] = v
	}
	if len(ins) < 2 {
		return nil, fmt.Errorf("Gemm needs inputs A and B")
	}
	return lw.gemm(n, ins)
}
