package engine

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// fusedDense is a MatMul (or Gemm) by a constant weight, optionally followed
// by the Add of a constant bias row and an element-wise activation, run as
// one matrix product and one pass over its result:
//
//	y = act(x @ op(W) + bias)
//
// x is [..., K] (Gemm: [M, K]), W is [K, N] ([N, K] with transB).
type fusedDense struct {
	transB bool
	alpha  float32
	k, n   int
	bias   []float32    // len n, or nil
	act    *kernels.Act // nil for none
	// packed is the weight in the layout of the engine's own product
	// (see pack), or nil when OpenBLAS runs the product.
	packed []float32
	ops    []string // the fused op types, for messages
}

// fusable activations: element-wise ops with no extra inputs.
var fusableActs = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Elu": true, "Selu": true, "Celu": true, "Sigmoid": true,
	"HardSigmoid": true, "HardSwish": true, "Tanh": true, "Softplus": true, "Softsign": true,
	"Mish": true, "ThresholdedRelu": true, "Gelu": true,
}

// fuse rewrites steps, replacing MatMul/Gemm + Add + activation chains by
// fused steps when the intermediate values are used by nothing else.
func fuse(steps []*step, s *Session, shapes map[string]*model.Value) []*step {
	uses := make([]int, len(s.vals))
	for _, st := range steps {
		for _, id := range st.ins {
			if id >= 0 {
				uses[id]++
			}
		}
	}
	for _, id := range s.outIDs {
		uses[id] += 2 // a model output is never fused away
	}
	consumer := map[int]int{} // value id -> index of its only consuming step
	for i, st := range steps {
		for _, id := range st.ins {
			if id >= 0 && uses[id] == 1 {
				consumer[id] = i
			}
		}
	}
	fixedF32 := func(id int) *model.Tensor {
		if id < 0 || !s.fixed[id] || s.vals[id].DType != model.Float32 {
			return nil
		}
		return s.vals[id]
	}
	dead := make([]bool, len(steps))
	fuseConvAdds(steps, consumer, dead, shapes)
	fuseConvActs(steps, s, consumer, dead)
	planWinograd(steps, s)
	planPointwise(steps, s)
	fuseExpandDepthwise(steps, s, consumer, dead)
	out := make([]*step, 0, len(steps))
	for i, st := range steps {
		if dead[i] {
			continue
		}
		f, ok := denseHead(st, fixedF32, shapes)
		if !ok {
			out = append(out, st)
			continue
		}
		last := st.outs[0]
		// Bias Add.
		if j, ok := consumer[last]; ok && f.bias == nil && steps[j].node.Op == "Add" && len(steps[j].ins) == 2 {
			add := steps[j]
			other := add.ins[0]
			if other == last {
				other = add.ins[1]
			}
			if b := fixedF32(other); b != nil && other != last && isRow(b.Shape, f.n) && len(b.Shape) <= rankOf(shapes, st) {
				f.bias = b.F32
				f.ops = append(f.ops, "Add")
				dead[j] = true
				last = add.outs[0]
			}
		}
		// Activation.
		if j, ok := consumer[last]; ok && fusableActs[steps[j].node.Op] && len(steps[j].outs) == 1 {
			if act, err := kernels.ActOf(steps[j].node); err == nil {
				f.act = &act
				f.ops = append(f.ops, steps[j].node.Op)
				dead[j] = true
				last = steps[j].outs[0]
			}
		}
		if len(f.ops) == 1 && f.bias == nil {
			out = append(out, st) // nothing fused: keep the plain kernel
			continue
		}
		f.pack(s.vals[st.ins[1]])
		out = append(out, &step{
			node: st.node, layer: st.layer, opset: st.opset, run: fusedDenseKernel,
			ins: st.ins[:2], outs: []int{last}, fused: f,
		})
	}
	return out
}

// denseHead recognises the product that starts a fused group.
func denseHead(st *step, fixedF32 func(int) *model.Tensor, shapes map[string]*model.Value) (*fusedDense, bool) {
	n := st.node
	if len(st.outs) != 1 || len(st.ins) < 2 || st.ins[0] < 0 {
		return nil, false
	}
	w := fixedF32(st.ins[1])
	if w == nil || len(w.Shape) != 2 {
		return nil, false
	}
	x, ok := shapes[n.Inputs[0]]
	if !ok || x.DType != model.Float32 {
		return nil, false
	}
	switch n.Op {
	case "MatMul":
		if len(x.Shape) < 2 {
			return nil, false
		}
		return &fusedDense{alpha: 1, k: w.Shape[0], n: w.Shape[1], ops: []string{"MatMul"}}, true
	case "Gemm":
		if n.AttrInt("transA", 0) != 0 || len(x.Shape) != 2 {
			return nil, false
		}
		f := &fusedDense{transB: n.AttrInt("transB", 0) != 0, alpha: n.AttrFloat("alpha", 1), k: w.Shape[0], n: w.Shape[1], ops: []string{"Gemm"}}
		if f.transB {
			f.k, f.n = f.n, f.k
		}
		if len(st.ins) > 2 && st.ins[2] >= 0 {
			c := fixedF32(st.ins[2])
			beta := n.AttrFloat("beta", 1)
			if c == nil || !(isRow(c.Shape, f.n) || numel(c.Shape) == 1) {
				return nil, false
			}
			f.bias = make([]float32, f.n)
			for j := range f.bias {
				f.bias[j] = beta * c.F32[j%len(c.F32)]
			}
		}
		return f, true
	}
	return nil, false
}

// isRow reports whether shape is [n] with any number of leading 1 dims.
func isRow(shape []int, n int) bool {
	if len(shape) == 0 || shape[len(shape)-1] != n {
		return false
	}
	for _, d := range shape[:len(shape)-1] {
		if d != 1 {
			return false
		}
	}
	return true
}

func rankOf(shapes map[string]*model.Value, st *step) int {
	if v, ok := shapes[st.node.Outputs[0]]; ok {
		return len(v.Shape)
	}
	return 0
}

// fusedDenseKernel runs a fusedDense step: in[0] is x, in[1] the weight.
func fusedDenseKernel(s *step) error {
	f := s.fused
	x, err := s.needF32(0)
	if err != nil {
		return err
	}
	w := s.in[1]
	r := len(x.Shape)
	if r < 2 || x.Shape[r-1] != f.k {
		return fmt.Errorf("input %v does not fit weight %v (%v)", x.Shape, w.Shape, f.ops)
	}
	if s.node.Op == "Gemm" && r != 2 {
		return fmt.Errorf("A %v must be 2-D", x.Shape)
	}
	shape := append(slices.Clone(x.Shape[:r-1]), f.n)
	y := setF32(s.out[0], shape)
	rows := numel(x.Shape[:r-1])
	ldw := w.Shape[1]
	// Each block of rows: product, bias, activation, while it is in cache.
	block := func(lo, hi int) { f.denseBlock(x.F32, w.F32, ldw, y, lo, hi) }
	p := parts(rows*f.n*f.k, rows)
	if f.packed != nil && rows*f.n*f.k < packParallelMin {
		p = 1
	}
	if p > 1 && f.packed != nil && rows >= 2*packTileRows {
		// The packed product computes each row alone, in the same order
		// whatever the blocks, so the threads can take chunks of rows as
		// they come: a thread slowed by another process leaves its share
		// to the others, and the results stay the same.
		chunk := max(packTileRows, (rows/(4*p)+packTileRows-1)/packTileRows*packTileRows)
		var next atomic.Int64
		kernels.Parallel(p, p, func(int, int) {
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= rows {
					return
				}
				block(lo, min(lo+chunk, rows))
			}
		})
		return nil
	}
	if p > 1 {
		kernels.Parallel(rows, p, block)
		return nil
	}
	block(0, rows)
	return nil
}
