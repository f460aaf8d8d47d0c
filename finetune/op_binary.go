package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// lowerBinary lowers ONNX Add, Sub, Mul and Div with numpy broadcasting
// (bias adds, the SE blocks' channel scales [N,C,H,W]*[N,C,1,1], ConvNeXt's
// layer scales). A scalar const operand makes the op affine, alpha*x+beta.
func lowerBinary(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	if len(n.Inputs) != 2 || n.Inputs[0] == "" || n.Inputs[1] == "" {
		return nil, fmt.Errorf("%s needs 2 inputs", n.Op)
	}
	ca, aConst := lw.scalarConst(n.Inputs[0])
	cb, bConst := lw.scalarConst(n.Inputs[1])
	switch {
	case aConst && bConst:
		return nil, fmt.Errorf("%s of a scalar const by a scalar const", n.Op)
	case bConst:
		a, err := lw.in(n, 0)
		if err != nil {
			return nil, err
		}
		k := map[string]kernels.Act{"Add": {Alpha: 1, Beta: cb}, "Sub": {Alpha: 1, Beta: -cb}, "Mul": {Alpha: cb}, "Div": {Alpha: 1 / cb}}[n.Op]
		k.Op = "Affine"
		return activation(k, a)
	case aConst && n.Op != "Div":
		b, err := lw.in(n, 1)
		if err != nil {
			return nil, err
		}
		k := map[string]kernels.Act{"Add": {Alpha: 1, Beta: ca}, "Sub": {Alpha: -1, Beta: ca}, "Mul": {Alpha: ca}}[n.Op]
		k.Op = "Affine"
		return activation(k, b)
	}
	a, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	b, err := lw.in(n, 1)
	if err != nil {
		return nil, err
	}
	need := [2]bool{lw.gradOf(n.Inputs[0]), lw.gradOf(n.Inputs[1])}
	return broadcastOp(n.Op, a, b, need)
}

// scalarConst returns the value of a one-element float const.
func (lw *lowerer) scalarConst(name string) (float64, bool) {
	c, ok := lw.consts[name]
	if !ok || c.DType != model.Float32 || len(c.F32) != 1 || len(c.Shape) > 1 {
		return 0, false
	}
	return float64(c.F32[0]), true
}

// add returns a + b with broadcasting (Gemm's C), both gradients.
func add(a, b *G.Node) (*G.Node, error) {
	return broadcastOp("Add", a, b, [2]bool{true, true})
}

// bplan is how two shapes broadcast to their output (numpy rules), with
// runs of dims of the same kind merged: dims are the merged output dims,
// sa and sb each input's strides over them (0 where it repeats).
type bplan struct {
	out    tensor.Shape
	dims   []int
	sa, sb []int
}

func newBplan(as, bs tensor.Shape) (*bplan, error) {
	r := max(len(as), len(bs))
	pa, pb := make([]int, r), make([]int, r)
	for i := range r {
		pa[i], pb[i] = 1, 1
	}
	copy(pa[r-len(as):], as)
	copy(pb[r-len(bs):], bs)
	p := &bplan{out: make(tensor.Shape, r)}
	kind := func(i int) int { // 0: both, 1: a repeats, 2: b repeats, 3: both 1
		switch {
		case pa[i] == pb[i] && pa[i] == 1:
			return 3
		case pa[i] == pb[i]:
			return 0
		case pa[i] == 1:
			return 1
		default:
			return 2
		}
	}
	var kinds []int
	for i := range r {
		if pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1 {
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", as, bs)
		}
		p.out[i] = max(pa[i], pb[i])
		k := kind(i)
		if k == 3 {
			continue
		}
		if len(kinds) > 0 && kinds[len(kinds)-1] == k {
			p.dims[len(p.dims)-1] *= p.out[i]
			continue
		}
		kinds = append(kinds, k)
		p.dims = append(p.dims, p.out[i])
	}
	if len(p.dims) == 0 {
		p.dims, kinds = []int{1}, []int{0}
	}
	p.sa, p.sb = make([]int, len(p.dims)), make([]int, len(p.dims))
	sa, sb := 1, 1
	for i := len(p.dims) - 1; i >= 0; i-- {
		if kinds[i] != 1 {
			p.sa[i] = sa
			sa *= p.dims[i]
		}
		if kinds[i] != 2 {
			p.sb[i] = sb
			sb *= p.dims[i]
		}
	}
	return p, nil
}

// each calls f for every innermost run of the output: its offset o, the
// offsets ia and ib in a and b, the run length n, and a's and b's strides
// along it (1, or 0 where the input repeats).
func (p *bplan) each(f func(o, ia, ib, n, da, db int)) {
	last := len(p.dims) - 1
	n, da, db := p.dims[last], p.sa[last], p.sb[last]
	outer := p.out.TotalSize() / max(n, 1)
	if n == 0 {
		return
	}
	idx := make([]int, last)
	ia, ib := 0, 0
	for r := range outer {
		f(r*n, ia, ib, n, da, db)
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			ia += p.sa[d]
			ib += p.sb[d]
			if idx[d] < p.dims[d] {
				break
			}
			ia -= p.sa[d] * p.dims[d]
			ib -= p.sb[d] * p.dims[d]
			idx[d] = 0
		}
	}
}

// broadcastOp is a op b element-wise with broadcasting; need says which
// inputs get a gradient: the output gradient times the op's partial
// derivative, summed over the positions where the input repeats.
func broadcastOp(op string, a, b *G.Node, need [2]bool) (*G.Node, error) {
	dt := a.Dtype()
	p, err := newBplan(a.Shape(), b.Shape())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if dt == tensor.Float64 {
		return broadcastNode[float64](op, p, a, b, need)
	}
	return broadcastNode[float32](op, p, a, b, need)
}

func broadcastNode[T floats](op string, p *bplan, a, b *G.Node, need [2]bool) (*G.Node, error) {
	dt := dtypeOf[T]()
	fop := newOp(op, dt, p.out, 2)
	fop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		bcastForward(op, p, arr[T](in[0]), arr[T](in[1]), arr[T](out))
		return nil
	}
	fop.wrt = need[:]
	fop.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		var specs [2]*gradSpec
		pass := make(G.Nodes, 2)
		for k := range 2 {
			switch {
			case !need[k]:
			case in[k].Shape().Eq(p.out) && (op == "Add" || (op == "Sub" && k == 0)):
				// An Add or Sub input of the output's shape takes the
				// gradient as it is (Sub's second negated).
				pass[k] = grad
			default:
				specs[k] = &gradSpec{op + "Grad", in[k].Shape(), func(ins []*tensor.Dense, d *tensor.Dense) {
					bcastBackward(op, p, k, arr[T](ins[0]), arr[T](ins[1]), arr[T](ins[2]), arr[T](d))
				}, G.Nodes{in[0], in[1], grad}}
			}
		}
		grads, err := gradOps(dt, specs[:]...)
		if err != nil {
			return nil, err
		}
		for k, g := range pass {
			if g != nil {
				grads[k] = g
			}
		}
		return grads, nil
	}
	return fop.apply(a, b)
}

// arith is op (Add, Sub, Mul or Div) as a function.
func arith[T floats](op string) func(a, b T) T {
	return map[string]func(a, b T) T{
		"Add": func(a, b T) T { return a + b },
		"Sub": func(a, b T) T { return a - b },
		"Mul": func(a, b T) T { return a * b },
		"Div": func(a, b T) T { return a / b },
	}[op]
}

func bcastForward[T floats](op string, p *bplan, a, b, y []T) {
	p.each(func(o, ia, ib, n, da, db int) {
		yr := y[o : o+n]
		switch {
		case da == 1 && db == 1:
			ar, br := a[ia:ia+n], b[ib:ib+n]
			switch op {
			case "Add":
				for i := range yr {
					yr[i] = ar[i] + br[i]
				}
			case "Sub":
				for i := range yr {
					yr[i] = ar[i] - br[i]
				}
			case "Mul":
				for i := range yr {
					yr[i] = ar[i] * br[i]
				}
			case "Div":
				for i := range yr {
					yr[i] = ar[i] / br[i]
				}
			}
		case da == 1:
			ar, bv := a[ia:ia+n], b[ib]
			switch op {
			case "Add":
				for i := range yr {
					yr[i] = ar[i] + bv
				}
			case "Sub":
				for i := range yr {
					yr[i] = ar[i] - bv
				}
			case "Mul":
				for i := range yr {
					yr[i] = ar[i] * bv
				}
			case "Div":
				for i := range yr {
					yr[i] = ar[i] / bv
				}
			}
		default:
			f := arith[T](op)
			for i := range yr {
				yr[i] = f(a[ia+i*da], b[ib+i*db])
			}
		}
	})
}

// bcastBackward writes d (input k's gradient) from a, b and the output
// gradient g.
func bcastBackward[T floats](op string, p *bplan, k int, a, b, g, d []T) {
	clear(d)
	p.each(func(o, ia, ib, n, da, db int) {
		gr := g[o : o+n]
		at, step := ia, da
		if k == 1 {
			at, step = ib, db
		}
		for i, gv := range gr {
			av, bv := a[ia+i*da], b[ib+i*db]
			var v T
			switch op {
			case "Add":
				v = gv
			case "Sub":
				v = gv
				if k == 1 {
					v = -gv
				}
			case "Mul":
				v = gv * bv
				if k == 1 {
					v = gv * av
				}
			case "Div":
				v = gv / bv
				if k == 1 {
					v = -gv * av / (bv * bv)
				}
			}
			d[at+i*step] += v
		}
	})
}
