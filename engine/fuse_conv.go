package engine

import (
	"math"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// fuseConvActs folds an element-wise activation that is the only reader of
// a float32 Conv's output into the Conv step (step.act): the convolution
// then adds its bias and applies the activation to each output row while
// it is in cache (kernels.RowBiasAct, kernels.Depthwise) instead of a
// second pass over the tensor. Activations: those of the kernels table
// (Relu, LeakyRelu, Sigmoid, HardSwish, ...) and Clip with constant bounds
// (ReLU6 in MobileNets). The activation's step is marked dead.
func fuseConvActs(steps []*step, s *Session, consumer map[int]int, dead []bool) {
	for _, st := range steps {
		if st.node.Op != "Conv" || len(st.outs) != 1 || st.outs[0] < 0 || len(st.types) != 1 || st.types[0] != model.Float32 {
			continue
		}
		j, ok := consumer[st.outs[0]]
		if !ok || dead[j] {
			continue
		}
		a := steps[j]
		if len(a.outs) != 1 || a.ins[0] != st.outs[0] || len(a.types) != 1 || a.types[0] != model.Float32 {
			continue
		}
		act, ok := convActOf(a, s)
		if !ok {
			continue
		}
		st.act = &act
		st.outs, st.types = a.outs, a.types
		dead[j] = true
	}
}

// convActOf returns the activation step a applies, when it is one the
// convolution can apply itself.
func convActOf(a *step, s *Session) (kernels.Act, bool) {
	n := a.node
	if n.Op == "Clip" {
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if a.opset < 11 {
			lo, hi = n.AttrFloat("min", -math.MaxFloat32), n.AttrFloat("max", math.MaxFloat32)
		} else {
			for k, dst := range []*float32{&lo, &hi} {
				if k+1 >= len(a.ins) || a.ins[k+1] < 0 {
					continue
				}
				id := a.ins[k+1]
				if !s.fixed[id] || s.vals[id].DType != model.Float32 || len(s.vals[id].F32) != 1 {
					return kernels.Act{}, false
				}
				*dst = s.vals[id].F32[0]
			}
		}
		return kernels.Act{Op: "Clip", Alpha: float64(lo), Beta: float64(hi)}, true
	}
	if len(a.ins) != 1 || !kernels.IsAct(n.Op) {
		return kernels.Act{}, false
	}
	act, err := kernels.ActOf(n)
	return act, err == nil
}
