package onnx

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// TestExportActivations runs a Dense layer with every Keras activation xfer
// knows, and PyTorch-style Gemm layers (transB, alpha, beta) followed by
// activations, through ONNX Runtime and the engine (whose fused
// MatMul/Gemm + bias + activation kernels single-op node tests do not reach).
func TestExportActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := randTensor(rng, 3, 6)
	for _, act := range layers.Activations() {
		t.Run(act, func(t *testing.T) {
			d, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 6, Units: 5, Activation: act, UseBias: true, Trainable: true,
				Kernel: randTensor(rng, 6, 5).F32, Bias: randTensor(rng, 5).F32})
			if err != nil {
				t.Fatal(err)
			}
			m := &model.Model{Name: "act_" + act, Opset: model.DefaultOpset, Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 6}}},
				Outputs: d.Outputs, Layers: []*model.Layer{d}}
			exportAndCompare(t, m, 17, map[string]*model.Tensor{"x": x})
		})
	}
	type gemm struct {
		transA, transB int64
		alpha, beta    float32
		act            string
		attrs          map[string]model.Attr
	}
	for _, g := range []gemm{
		{0, 1, 1, 1, "Relu", nil},
		{0, 1, 0.5, 2, "LeakyRelu", map[string]model.Attr{"alpha": model.Float(0.2)}},
		{0, 0, 1, 1, "Elu", map[string]model.Attr{"alpha": model.Float(0.7)}},
		{1, 1, 1.5, 0.25, "Sigmoid", nil},
		{0, 1, 1, 1, "HardSigmoid", map[string]model.Attr{"alpha": model.Float(0.3), "beta": model.Float(0.4)}},
		{0, 1, 1, 1, "Tanh", nil},
		{0, 1, 1, 1, "Softplus", nil},
		{0, 1, 1, 1, "LogSoftmax", map[string]model.Attr{"axis": model.Int(1)}},
		{0, 1, 1, 0, "Selu", nil},
	} {
		name := fmt.Sprintf("gemm_tA%d_tB%d_%s", g.transA, g.transB, g.act)
		t.Run(name, func(t *testing.T) {
			wShape := []int{5, 6} // [out, in] as PyTorch stores Linear weights
			if g.transB == 0 {
				wShape = []int{6, 5}
			}
			in := x
			xShape := []int{-1, 6}
			if g.transA == 1 {
				in = randTensor(rng, 6, 3)
				xShape = []int{6, -1}
			}
			l := &model.Layer{Name: "fc", Kind: "Dense", Trainable: true, Inputs: []string{"x"}, Outputs: []string{"y"},
				Params: []*model.Param{
					{Name: "fc/kernel", Role: "kernel", Shape: wShape, Data: randTensor(rng, wShape...).F32, Trainable: true},
					{Name: "fc/bias", Role: "bias", Shape: []int{5}, Data: randTensor(rng, 5).F32, Trainable: true},
				},
				Nodes: []*model.Node{
					{Name: "fc/Gemm", Op: "Gemm", Inputs: []string{"x", "fc/kernel", "fc/bias"}, Outputs: []string{"h"}, Attrs: map[string]model.Attr{
						"transA": model.Int(g.transA), "transB": model.Int(g.transB), "alpha": model.Float(g.alpha), "beta": model.Float(g.beta)}},
					{Name: "fc/" + g.act, Op: g.act, Inputs: []string{"h"}, Outputs: []string{"y"}, Attrs: g.attrs},
				}}
			m := &model.Model{Name: name, Opset: 13, Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: xShape}}, Outputs: []string{"y"}, Layers: []*model.Layer{l}}
			exportAndCompare(t, m, 17, map[string]*model.Tensor{"x": in})
		})
	}
}
