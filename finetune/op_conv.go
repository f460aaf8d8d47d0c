package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// conv is ONNX Conv: x [N, C, S...], w [M, C/group, K...], b [M] or nil.
// The whole batch goes through one matrix product per group: im2col of
// every example side by side (cols [C*K, N*P] for P output positions),
// W_g [M/g, C/g*K] times cols_g, then the result [M, N*P] back to
// [N, M, P]; the gradients are the same products transposed (dW = G'
// colsᵀ, dcols = Wᵀ G', then col2im). A product per example would be
// [M, C*K] by [C*K, P]: narrow and slow for the small P of a network's
// last blocks. A convolution whose groups each read one input channel
// (depthwise) runs as direct loops instead, without im2col.
func conv(n *model.Node, x, w, b *G.Node, need denseGrads) (*G.Node, error) {
	dt, xs, ws := x.Dtype(), x.Shape(), w.Shape()
	if len(xs) < 3 || len(ws) != len(xs) {
		return nil, fmt.Errorf("input %v by weight %v: need [N, C, spatial...] and [M, C/group, kernel...]", xs, ws)
	}
	group := int(n.AttrInt("group", 1))
	nb, c, m := xs[0], xs[1], ws[0]
	if group < 1 || c%group != 0 || m%group != 0 || ws[1] != c/group {
		return nil, fmt.Errorf("%d input channels, weight %v and group %d do not agree", c, ws, group)
	}
	win, err := newWindow(n, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	p := &convPlan{win: win, idx: win.index(), nb: nb, c: c, m: m, group: group, cg: c / group, mg: m / group}
	p.rows, p.width = p.cg*win.kp, nb*win.op
	p.direct = p.cg == 1
	outShape := append(tensor.Shape{nb, m}, win.out...)
	ins := []*G.Node{x, w}
	if b != nil {
		ins = append(ins, b)
	}
	if dt == tensor.Float64 {
		return convNode[float64](p, outShape, ins, need)
	}
	return convNode[float32](p, outShape, ins, need)
}

// convNode adds the Conv op of plan p on ins (x, w and the bias if any) in
// element type T, with the gradients need asks for.
func convNode[T floats](p *convPlan, outShape tensor.Shape, ins G.Nodes, need denseGrads) (*G.Node, error) {
	dt, xs, ws := dtypeOf[T](), ins[0].Shape(), ins[1].Shape()
	var cols []T // im2col of the batch, kept for the weight gradient
	if !p.direct {
		cols = make([]T, p.c*p.win.kp*p.width)
	}
	op := newOp("Conv", dt, outShape, len(ins))
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		var bias []T
		if len(in) > 2 {
			bias = arr[T](in[2])
		}
		convForward(p, arr[T](in[0]), arr[T](in[1]), bias, arr[T](out), cols)
		return nil
	}
	op.wrt = []bool{need.x, need.w, need.b}[:len(ins)]
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		var dx, dw, db *gradSpec
		if need.x {
			dx = &gradSpec{"ConvGradX", xs, func(in []*tensor.Dense, d *tensor.Dense) {
				convGradX(p, arr[T](in[0]), arr[T](in[1]), arr[T](d))
			}, G.Nodes{grad, in[1]}}
		}
		if need.w {
			// The direct path reads x itself; the im2col path the cols the
			// forward op kept.
			dw = &gradSpec{"ConvGradW", ws, func(in []*tensor.Dense, d *tensor.Dense) {
				convGradW(p, arr[T](in[0]), arr[T](in[1]), cols, arr[T](d))
			}, G.Nodes{grad, in[0]}}
		}
		if len(in) > 2 && need.b {
			db = &gradSpec{"ConvGradB", tensor.Shape{p.m}, func(in []*tensor.Dense, d *tensor.Dense) {
				sumChannels(arr[T](in[0]), arr[T](d), p.nb, p.m, p.win.op)
			}, G.Nodes{grad}}
		}
		grads, err := gradOps(dt, dx, dw, db)
		if err != nil {
			return nil, err
		}
		return grads[:len(in)], nil
	}
	return op.apply(ins...)
}

// convPlan is a Conv's geometry: window and taps (idx), batch, channels,
// groups, the rows of one group's im2col (cg*K) and the width of the
// batch's im2col (N*P).
type convPlan struct {
	win             *window
	idx             []int
	nb, c, m, group int
	cg, mg          int
	rows, width     int
	direct          bool
	// scratch holds the products' temporary buffers between steps, by
	// use ("tmp", "gt", "dcols"); one graph runs its ops one at a time.
	scratch map[string]any
}

// buf returns p's scratch buffer name of n Ts.
func buf[T floats](p *convPlan, name string, n int) []T {
	if b, ok := p.scratch[name].([]T); ok && len(b) == n {
		return b
	}
	if p.scratch == nil {
		p.scratch = map[string]any{}
	}
	b := make([]T, n)
	p.scratch[name] = b
	return b
}

// eachCol calls f for every input channel ch, tap kk and example n with
// the offset of their run in the batch's im2col ([C*K, N*P]: row ch*K+kk,
// columns n*P...), the tap's index (idx[o] is the input position output
// position o reads, -1 in the padding) and the offset of x's channel.
func (p *convPlan) eachCol(f func(co int, taps []int, xo int)) {
	win := p.win
	for ch := range p.c {
		for kk := range win.kp {
			taps := p.idx[kk*win.op : (kk+1)*win.op]
			for n := range p.nb {
				f((ch*win.kp+kk)*p.width+n*win.op, taps, (n*p.c+ch)*win.sp)
			}
		}
	}
}

// im2colBatch writes cols [C*K, N*P]: row ch*K+kk holds, for every example
// and output position, the input value tap kk reads (0 in the padding).
func im2colBatch[T floats](p *convPlan, x, cols []T) {
	win := p.win
	p.eachCol(func(co int, taps []int, xo int) {
		d, xc := cols[co:co+win.op], x[xo:xo+win.sp]
		for o, i := range taps {
			if i < 0 {
				d[o] = 0
			} else {
				d[o] = xc[i]
			}
		}
	})
}

func convForward[T floats](p *convPlan, x, w, b, y, cols []T) {
	win := p.win
	if p.direct {
		directForward(p, x, w, y)
	} else {
		im2colBatch(p, x, cols)
		tmp := buf[T](p, "tmp", p.m*p.width)
		for g := range p.group {
			gemm(false, false, p.mg, p.width, p.rows, w[g*p.mg*p.rows:(g+1)*p.mg*p.rows], cols[g*p.rows*p.width:(g+1)*p.rows*p.width], tmp[g*p.mg*p.width:(g+1)*p.mg*p.width], 0)
		}
		// [M, N*P] to [N, M, P].
		for ch := range p.m {
			for n := range p.nb {
				copy(y[(n*p.m+ch)*win.op:(n*p.m+ch+1)*win.op], tmp[ch*p.width+n*win.op:ch*p.width+(n+1)*win.op])
			}
		}
	}
	addBias(y, b, p.nb, p.m, win.op)
}

// addBias adds b[ch] to channel ch of y [N, M, size] (nothing for a nil b).
func addBias[T floats](y, b []T, nb, m, size int) {
	if b == nil {
		return
	}
	for n := range nb {
		for ch := range m {
			row := y[(n*m+ch)*size : (n*m+ch+1)*size]
			for o := range row {
				row[o] += b[ch]
			}
		}
	}
}

// eachDirect calls f for every example n and output channel ch of a
// direct (depthwise) plan with the offsets of that output channel (yo) and
// of the input channel it reads (xo).
func (p *convPlan) eachDirect(f func(ch, xo, yo int)) {
	for n := range p.nb {
		for ch := range p.m {
			f(ch, (n*p.c+ch/p.mg)*p.win.sp, (n*p.m+ch)*p.win.op)
		}
	}
}

// axpyTaps adds a times src to dst along one tap's index idx (idx[o] is
// the input position output position o reads, -1 in the padding):
// dst[o] += a*src[idx[o]], or with scatter dst[idx[o]] += a*src[o].
func axpyTaps[T floats](dst, src []T, idx []int, a T, scatter bool) {
	if scatter {
		for o, i := range idx {
			if i >= 0 {
				dst[i] += a * src[o]
			}
		}
		return
	}
	for o, i := range idx {
		if i >= 0 {
			dst[o] += a * src[i]
		}
	}
}

// directForward is a Conv whose groups read one input channel each: y[n,
// m, o] = sum over taps of w[m, kk] * x[n, m/mg, idx[kk, o]].
func directForward[T floats](p *convPlan, x, w, y []T) {
	win := p.win
	clear(y)
	p.eachDirect(func(ch, xo, yo int) {
		for kk := range win.kp {
			axpyTaps(y[yo:yo+win.op], x[xo:xo+win.sp], p.idx[kk*win.op:(kk+1)*win.op], w[ch*win.kp+kk], false)
		}
	})
}

// gatherRows writes g [N, M, P] as [M, N*P].
func gatherRows[T floats](p *convPlan, g []T) []T {
	op := p.win.op
	out := buf[T](p, "gt", p.m*p.width)
	for ch := range p.m {
		for n := range p.nb {
			copy(out[ch*p.width+n*op:ch*p.width+(n+1)*op], g[(n*p.m+ch)*op:(n*p.m+ch+1)*op])
		}
	}
	return out
}

func convGradW[T floats](p *convPlan, g, x, cols, dw []T) {
	win := p.win
	if p.direct {
		clear(dw)
		p.eachDirect(func(ch, xo, yo int) {
			xc, gr := x[xo:xo+win.sp], g[yo:yo+win.op]
			for kk := range win.kp {
				var s T
				for o, i := range p.idx[kk*win.op : (kk+1)*win.op] {
					if i >= 0 {
						s += gr[o] * xc[i]
					}
				}
				dw[ch*win.kp+kk] += s
			}
		})
		return
	}
	gt := gatherRows(p, g)
	for gi := range p.group {
		gemm(false, true, p.mg, p.rows, p.width, gt[gi*p.mg*p.width:(gi+1)*p.mg*p.width], cols[gi*p.rows*p.width:(gi+1)*p.rows*p.width], dw[gi*p.mg*p.rows:(gi+1)*p.mg*p.rows], 0)
	}
}

func convGradX[T floats](p *convPlan, g, w, dx []T) {
	win := p.win
	clear(dx)
	if p.direct {
		p.eachDirect(func(ch, xo, yo int) {
			for kk := range win.kp {
				axpyTaps(dx[xo:xo+win.sp], g[yo:yo+win.op], p.idx[kk*win.op:(kk+1)*win.op], w[ch*win.kp+kk], true)
			}
		})
		return
	}
	gt := gatherRows(p, g)
	dcols := buf[T](p, "dcols", p.c*win.kp*p.width)
	for gi := range p.group {
		gemm(true, false, p.rows, p.width, p.mg, w[gi*p.mg*p.rows:(gi+1)*p.mg*p.rows], gt[gi*p.mg*p.width:(gi+1)*p.mg*p.width], dcols[gi*p.rows*p.width:(gi+1)*p.rows*p.width], 0)
	}
	// col2im: each column entry goes back to the input position it read.
	p.eachCol(func(co int, taps []int, xo int) {
		s, dxc := dcols[co:co+win.op], dx[xo:xo+win.sp]
		for o, i := range taps {
			if i >= 0 {
				dxc[i] += s[o]
			}
		}
	})
}

func sumChannels[T floats](g, out []T, nb, m, op int) {
	clear(out)
	for n := 0; n < nb; n++ {
		for ch := 0; ch < m; ch++ {
			var s T
			for _, v := range g[(n*m+ch)*op : (n*m+ch+1)*op] {
				s += v
			}
			out[ch] += s
		}
	}
}

// lowerConv lowers ONNX Conv, with gradients only for the inputs on a path
// to a trainable param.
func lowerConv(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	ins, err := lw.insOpt(n, 2, 3)
	if err != nil {
		return nil, err
	}
	var b *G.Node
	need := denseGrads{x: lw.needsGrad[n.Inputs[0]], w: lw.gradOf(n.Inputs[1])}
	if len(ins) > 2 {
		b, need.b = ins[2], lw.gradOf(n.Inputs[2])
	}
	return conv(n, ins[0], ins[1], b, need)
}
