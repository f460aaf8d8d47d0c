package finetune

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opIDs numbers custom ops so that no two are ever merged by gorgonia's
// hash-consing: each has its own state (masks, caches, batch statistics).
var opIDs atomic.Int64

// fnOp is a gorgonia Op made of Go functions: xfer's own kernels for the
// element-wise, normalisation, noise and loss ops, each with its gradient
// written as more fnOps (gorgonia's symbolic differentiation calls diff).
type fnOp struct {
	id    int64
	name  string
	arity int
	dt    tensor.Dtype
	shape tensor.Shape // output shape; nil for a scalar
	// do computes the output from the inputs' backing arrays into out
	// (len = shape's size, reused across calls).
	do func(in []*tensor.Dense, out *tensor.Dense) error
	// diff returns one gradient node per input (nil where wrt is false).
	diff func(in G.Nodes, out, grad *G.Node) (G.Nodes, error)
	wrt  []bool
	buf  *tensor.Dense
}

func newOp(name string, dt tensor.Dtype, shape tensor.Shape, arity int) *fnOp {
	return &fnOp{id: opIDs.Add(1), name: name, dt: dt, shape: shape, arity: arity}
}

func (o *fnOp) Arity() int { return o.arity }

func (o *fnOp) Type() hm.Type {
	args := make(hm.Types, 0, o.arity+1)
	for i := 0; i < o.arity; i++ {
		args = append(args, hm.TypeVariable(rune('p'+i))) // not 'b': gorgonia names the return type 'b'
	}
	var ret hm.Type = o.dt
	if len(o.shape) > 0 {
		ret = G.TensorType{Dims: len(o.shape), Of: o.dt}
	}
	return hm.NewFnType(append(args, ret)...)
}

func (o *fnOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if len(o.shape) == 0 {
		return tensor.ScalarShape(), nil
	}
	return o.shape.Clone(), nil
}

func (o *fnOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != o.arity {
		return nil, fmt.Errorf("finetune: op %s: %d inputs, want %d", o.name, len(vals), o.arity)
	}
	in := make([]*tensor.Dense, len(vals))
	for i, v := range vals {
		switch t := v.(type) {
		case *tensor.Dense:
			in[i] = t
		case *G.F32:
			in[i] = tensor.New(tensor.WithBacking([]float32{float32(*t)}), tensor.WithShape(1))
		case *G.F64:
			in[i] = tensor.New(tensor.WithBacking([]float64{float64(*t)}), tensor.WithShape(1))
		default:
			return nil, fmt.Errorf("finetune: op %s: input %d is %T", o.name, i, v)
		}
	}
	if len(o.shape) == 0 {
		out := tensor.New(tensor.Of(o.dt), tensor.WithShape(1))
		if err := o.do(in, out); err != nil {
			return nil, err
		}
		if o.dt == tensor.Float64 {
			return G.NewF64(out.Data().([]float64)[0]), nil
		}
		return G.NewF32(out.Data().([]float32)[0]), nil
	}
	if o.buf == nil {
		o.buf = tensor.New(tensor.Of(o.dt), tensor.WithShape(o.shape.Clone()...))
	}
	if err := o.do(in, o.buf); err != nil {
		return nil, err
	}
	return o.buf, nil
}

func (o *fnOp) ReturnsPtr() bool      { return false }
func (o *fnOp) CallsExtern() bool     { return false }
func (o *fnOp) OverwritesInput() int  { return -1 }
func (o *fnOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "xfer.%s#%d", o.name, o.id) }
func (o *fnOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *fnOp) String() string { return o.name }

// DiffWRT and SymDiff make fnOp a gorgonia SDOp.
func (o *fnOp) DiffWRT(n int) []bool {
	if o.wrt == nil {
		return make([]bool, n)
	}
	return o.wrt
}

func (o *fnOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if o.diff == nil {
		return nil, fmt.Errorf("finetune: op %s is not differentiable", o.name)
	}
	return o.diff(in, out, grad)
}

// apply adds o to the graph with the given inputs.
func (o *fnOp) apply(in ...*G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(o, in...)
	if err != nil {
		return nil, fmt.Errorf("finetune: op %s: %w", o.name, err)
	}
	return n, nil
}

// f64 and f32 return a tensor's backing array; exactly one is non-nil.
func f32(t *tensor.Dense) []float32 {
	if v, ok := t.Data().([]float32); ok {
		return v
	}
	return nil
}

func f64(t *tensor.Dense) []float64 {
	if v, ok := t.Data().([]float64); ok {
		return v
	}
	return nil
}

// floats is the element type of xfer's kernels: float32 for training,
// float64 for gradient checks.
type floats interface{ ~float32 | ~float64 }

// arr returns t's backing array as []T; nil when t holds the other element
// type.
func arr[T floats](t *tensor.Dense) []T {
	s, _ := t.Data().([]T)
	return s
}

// dtypeOf is the gorgonia element type of T.
func dtypeOf[T floats]() tensor.Dtype {
	var z T
	if _, ok := any(z).(float64); ok {
		return tensor.Float64
	}
	return tensor.Float32
}

// gradSpec is the op that computes one input's gradient: kernel writes the
// gradient (of shape) from the backing arrays of the nodes in.
type gradSpec struct {
	name   string
	shape  tensor.Shape
	kernel func(in []*tensor.Dense, d *tensor.Dense)
	in     G.Nodes
}

// gradOps adds one op of element type dt per spec to the graph and returns
// their nodes, for an fnOp's diff; a nil spec (an input that needs no
// gradient) gives a nil node.
func gradOps(dt tensor.Dtype, specs ...*gradSpec) (G.Nodes, error) {
	grads := make(G.Nodes, len(specs))
	for k, s := range specs {
		if s == nil {
			continue
		}
		op := newOp(s.name, dt, s.shape, len(s.in))
		op.do = func(in []*tensor.Dense, d *tensor.Dense) error {
			s.kernel(in, d)
			return nil
		}
		g, err := op.apply(s.in...)
		if err != nil {
			return nil, err
		}
		grads[k] = g
	}
	return grads, nil
}
