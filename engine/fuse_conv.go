package engine

import (
	"math"
	"slices"

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

// fuseConvAdds folds the Add of a residual connection into the Conv that
// computes one of its operands, when the Add alone reads the Conv's
// output, the other operand z has the same inferred shape (no
// broadcasting) and is ready before the Conv runs: the Conv then
// computes act(conv + z) (step.sum; z becomes its input 3, after a
// bias or -1) while its output is in cache, instead of a separate pass,
// and an activation reading the Add (ResNet's Relu) then folds in through
// fuseConvActs. The Add's step is marked dead.
func fuseConvAdds(steps []*step, consumer map[int]int, dead []bool, shapes map[string]*model.Value) {
	producer := map[int]int{} // value id -> the step computing it
	for i, st := range steps {
		for _, id := range st.outs {
			if id >= 0 {
				producer[id] = i
			}
		}
	}
	for i, st := range steps {
		if st.node.Op != "Conv" || len(st.outs) != 1 || st.outs[0] < 0 || len(st.types) != 1 || st.types[0] != model.Float32 ||
			len(st.ins) < 2 || len(st.ins) > 3 || st.act != nil {
			continue
		}
		j, ok := consumer[st.outs[0]]
		if !ok || dead[j] {
			continue
		}
		a := steps[j]
		if a.node.Op != "Add" || a.opset < 7 || len(a.ins) != 2 || len(a.outs) != 1 || len(a.types) != 1 || a.types[0] != model.Float32 {
			continue
		}
		k := 0 // the other operand
		if a.ins[0] == st.outs[0] {
			k = 1
		}
		z := a.ins[k]
		if z < 0 || z == st.outs[0] {
			continue
		}
		if p, ok := producer[z]; ok && p >= i {
			continue // computed after the Conv
		}
		ys, ok1 := shapes[st.node.Outputs[0]]
		zs, ok2 := shapes[a.node.Inputs[k]]
		if !ok1 || !ok2 || zs.DType != model.Float32 || len(ys.Shape) != 4 || !slices.Equal(ys.Shape, zs.Shape) ||
			slices.ContainsFunc(ys.Shape[1:], func(d int) bool { return d < 0 }) {
			continue
		}
		ins := slices.Clone(st.ins)
		if len(ins) == 2 {
			ins = append(ins, -1)
		}
		st.ins, st.sum = append(ins, z), true
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

// Winograd convolutions need at least this many input and output
// channels: the 16 products have C as their inner dimension, and below it
// they run too far under the BLAS's speed to gain.
const winogradMinChannels = 16

// winogradMinCols is the fewest tiles (2x2 outputs) of a batch that a
// Winograd convolution is run for: narrower products (a 7x7 output has 16
// tiles) run so far under the BLAS's speed that im2col's single product,
// 2.25 times the multiplications, is faster (ResNet-18's last blocks at
// batch 1: 4.3 ms against 3.5).
const winogradMinCols = 32

// planWinograd gives each 2-D Conv with a constant 3x3 weight, stride 1,
// dilation 1 and one group (ResNet's blocks) its weight in Winograd form
// (kernels.WinogradWeights; packed for kernels.Pointwise where that has a
// C kernel), once: convKernel then runs it as Winograd
// F(2x2, 3x3), 2.25 times fewer multiplications than im2col and one
// product.
func planWinograd(steps []*step, s *Session) {
	for _, st := range steps {
		n := st.node
		if n.Op != "Conv" || len(st.ins) < 2 || st.ins[1] < 0 || !s.fixed[st.ins[1]] {
			continue
		}
		w := s.vals[st.ins[1]]
		if w.DType != model.Float32 || len(w.Shape) != 4 || w.Shape[2] != 3 || w.Shape[3] != 3 ||
			w.Shape[0] < winogradMinChannels || w.Shape[1] < winogradMinChannels || n.AttrInt("group", 1) != 1 ||
			!allOnes64(n.AttrInts("strides", nil)) || !allOnes64(n.AttrInts("dilations", nil)) {
			continue
		}
		m, c := w.Shape[0], w.Shape[1]
		st.wino = kernels.WinogradWeights(w.F32, m, c)
		// The 16 products through kernels.Pointwise where it has a C
		// kernel: each U[k] packed, and only the packed copy kept.
		var packed []float32
		for q := range 16 {
			pk := kernels.PackPointwise(st.wino[q*m*c:(q+1)*m*c], m, c)
			if pk == nil {
				packed = nil
				break
			}
			packed = append(packed, pk...)
		}
		if packed != nil {
			st.wino, st.winoPW = nil, packed
		}
	}
}

func allOnes64(v []int64) bool {
	for _, d := range v {
		if d != 1 {
			return false
		}
	}
	return true
}

// planPointwise packs the constant weight of each 2-D Conv with one group
// that does not run as Winograd (MobileNet's 1x1 convolutions, strided
// and first convolutions) for kernels.Pointwise, once: convKernel then
// runs its product with the bias and activation in the same pass. Nil on
// CPUs without the C kernel, which keep OpenBLAS.
func planPointwise(steps []*step, s *Session) {
	for _, st := range steps {
		n := st.node
		if n.Op != "Conv" || st.wino != nil || len(st.ins) < 2 || st.ins[1] < 0 || !s.fixed[st.ins[1]] ||
			n.AttrInt("group", 1) != 1 {
			continue
		}
		w := s.vals[st.ins[1]]
		if w.DType != model.Float32 || len(w.Shape) != 4 {
			continue
		}
		m := w.Shape[0]
		st.pw = kernels.PackPointwise(w.F32, m, numel(w.Shape[1:]))
	}
}

// fuseExpandDepthwise folds a depthwise 3x3 Conv (one filter per channel,
// stride 1 or 2 in both directions, dilation 1, constant weight and bias,
// its activation fused) into the 1x1 Conv whose output only it reads (one
// group, stride 1, no pads, weights packed for kernels.Pointwise, no
// residual): the step then runs both band by band (expandDepthwise). The
// depthwise Conv's step is marked dead.
func fuseExpandDepthwise(steps []*step, s *Session, consumer map[int]int, dead []bool) {
	for i, st := range steps {
		n := st.node
		if dead[i] || n.Op != "Conv" || st.pw == nil || st.sum || len(st.outs) != 1 || st.outs[0] < 0 ||
			len(st.ins) > 3 || n.AttrString("auto_pad", "NOTSET") != "NOTSET" ||
			!allOnes64(n.AttrInts("strides", nil)) || !allZero64(n.AttrInts("pads", nil)) {
			continue
		}
		w := s.vals[st.ins[1]]
		if len(w.Shape) != 4 || w.Shape[2] != 1 || w.Shape[3] != 1 {
			continue
		}
		j, ok := consumer[st.outs[0]]
		if !ok || dead[j] {
			continue
		}
		d := steps[j]
		dn := d.node
		if dn.Op != "Conv" || d.sum || len(d.outs) != 1 || d.ins[0] != st.outs[0] || len(d.ins) < 2 || d.ins[1] < 0 || !s.fixed[d.ins[1]] {
			continue
		}
		dw := s.vals[d.ins[1]]
		m := w.Shape[0]
		if dw.DType != model.Float32 || !slices.Equal(dw.Shape, []int{m, 1, 3, 3}) || dn.AttrInt("group", 1) != int64(m) ||
			!allOnes64(dn.AttrInts("dilations", nil)) || dn.AttrString("auto_pad", "NOTSET") != "NOTSET" {
			continue
		}
		if ks := dn.AttrInts("kernel_shape", nil); ks != nil && !slices.Equal(ks, []int64{3, 3}) {
			continue
		}
		if sv := dn.AttrInts("strides", nil); sv != nil && (len(sv) != 2 || sv[0] != sv[1] || sv[0] < 1 || sv[0] > 2) {
			continue
		}
		var bias []float32
		if len(d.ins) > 2 && d.ins[2] >= 0 {
			b := s.vals[d.ins[2]]
			if !s.fixed[d.ins[2]] || b.DType != model.Float32 || len(b.F32) != m {
				continue
			}
			bias = b.F32
		}
		st.dw = &expandDW{node: dn, w: dw.F32, bias: bias, act: d.act}
		st.outs, st.types = d.outs, d.types
		dead[j] = true
	}
}

func allZero64(v []int64) bool {
	for _, d := range v {
		if d != 0 {
			return false
		}
	}
	return true
}
