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
	var cols any // im2col of the batch, kept for the weight gradient
	if !p.direct {
		if dt == tensor.Float64 {
			cols = make([]float64, c*win.kp*p.width)
		} else {
			cols = make([]float32, c*win.kp*p.width)
		}
	}
	ins := []*G.Node{x, w}
	if b != nil {
		ins = append(ins, b)
	}
	op := newOp("Conv", dt, outShape, len(ins))
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		var bias any
		if len(in) > 2 {
			bias = in[2].Data()
		}
		if dt == tensor.Float64 {
			convForward(p, f64(in[0]), f64(in[1]), asT[float64](bias), f64(out), asT[float64](cols))
		} else {
			convForward(p, f32(in[0]), f32(in[1]), asT[float32](bias), f32(out), asT[float32](cols))
		}
		return nil
	}
	op.wrt = []bool{need.x, need.w, need.b}[:len(ins)]
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		grads := make(G.Nodes, len(ins))
		if need.x {
			dxop := newOp("ConvGradX", dt, xs, 2)
			dxop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					convGradX(p, f64(in[0]), f64(in[1]), f64(out))
				} else {
					convGradX(p, f32(in[0]), f32(in[1]), f32(out))
				}
				return nil
			}
			d, err := dxop.apply(grad, in[1])
			if err != nil {
				return nil, err
			}
			grads[0] = d
		}
		if need.w {
			// The direct path reads x itself; the im2col path the cols the
			// forward op kept.
			dwop := newOp("ConvGradW", dt, ws, 2)
			dwop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					convGradW(p, f64(in[0]), f64(in[1]), asT[float64](cols), f64(out))
				} else {
					convGradW(p, f32(in[0]), f32(in[1]), asT[float32](cols), f32(out))
				}
				return nil
			}
			d, err := dwop.apply(grad, in[0])
			if err != nil {
				return nil, err
			}
			grads[1] = d
		}
		if b != nil && need.b {
			dbop := newOp("ConvGradB", dt, tensor.Shape{m}, 1)
			dbop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					sumChannels(f64(in[0]), f64(out), nb, m, win.op)
				} else {
					sumChannels(f32(in[0]), f32(out), nb, m, win.op)
				}
				return nil
			}
			d, err := dbop.apply(grad)
			if err != nil {
				return nil, err
			}
			grads[2] = d
		}
		return grads, nil
	}
	return op.apply(ins...)
}

// asT returns v as []T, or nil.
func asT[T floats](v any) []T {
	s, _ := v.([]T)
	return s
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

// im2col writes cols [C*K, N*P]: row ch*K+kk holds, for every example and
// output position, the input value tap kk reads (0 in the padding).
func im2colBatch[T floats](p *convPlan, x, cols []T) {
	win := p.win
	for ch := range p.c {
		for kk := range win.kp {
			dst := cols[(ch*win.kp+kk)*p.width : (ch*win.kp+kk+1)*p.width]
			src := p.idx[kk*win.op : (kk+1)*win.op]
			for n := range p.nb {
				xc := x[(n*p.c+ch)*win.sp : (n*p.c+ch+1)*win.sp]
				d := dst[n*win.op : (n+1)*win.op]
				for o, i := range src {
					if i < 0 {
						d[o] = 0
					} else {
						d[o] = xc[i]
					}
				}
			}
		}
	}
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
	if b != nil {
		for n := range p.nb {
			for ch := range p.m {
				row := y[(n*p.m+ch)*win.op : (n*p.m+ch+1)*win.op]
				for o := range row {
					row[o] += b[ch]
				}
			}
		}
	}
}

// directForward is a Conv whose groups read one input channel each: y[n,
// m, o] = sum over taps of w[m, kk] * x[n, m/mg, idx[kk, o]].
func directForward[T floats](p *convPlan, x, w, y []T) {
	win := p.win
	clear(y)
	for n := range p.nb {
		for ch := range p.m {
			xc := x[(n*p.c+ch/p.mg)*win.sp : (n*p.c+ch/p.mg+1)*win.sp]
			yr := y[(n*p.m+ch)*win.op : (n*p.m+ch+1)*win.op]
			for kk := range win.kp {
				wv := w[ch*win.kp+kk]
				for o, i := range p.idx[kk*win.op : (kk+1)*win.op] {
					if i >= 0 {
						yr[o] += wv * xc[i]
					}
				}
			}
		}
	}
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
		for n := range p.nb {
			for ch := range p.m {
				xc := x[(n*p.c+ch/p.mg)*win.sp : (n*p.c+ch/p.mg+1)*win.sp]
				gr := g[(n*p.m+ch)*win.op : (n*p.m+ch+1)*win.op]
				for kk := range win.kp {
					var s T
					for o, i := range p.idx[kk*win.op : (kk+1)*win.op] {
						if i >= 0 {
							s += gr[o] * xc[i]
						}
					}
					dw[ch*win.kp+kk] += s
				}
			}
		}
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
		for n := range p.nb {
			for ch := range p.m {
				dxc := dx[(n*p.c+ch/p.mg)*win.sp : (n*p.c+ch/p.mg+1)*win.sp]
				gr := g[(n*p.m+ch)*win.op : (n*p.m+ch+1)*win.op]
				for kk := range win.kp {
					wv := w[ch*win.kp+kk]
					for o, i := range p.idx[kk*win.op : (kk+1)*win.op] {
						if i >= 0 {
							dxc[i] += wv * gr[o]
						}
					}
				}
			}
		}
		return
	}
	gt := gatherRows(p, g)
	dcols := buf[T](p, "dcols", p.c*win.kp*p.width)
	for gi := range p.group {
		gemm(true, false, p.rows, p.width, p.mg, w[gi*p.mg*p.rows:(gi+1)*p.mg*p.rows], gt[gi*p.mg*p.width:(gi+1)*p.mg*p.width], dcols[gi*p.rows*p.width:(gi+1)*p.rows*p.width], 0)
	}
	for ch := range p.c {
		for kk := range win.kp {
			src := dcols[(ch*win.kp+kk)*p.width : (ch*win.kp+kk+1)*p.width]
			taps := p.idx[kk*win.op : (kk+1)*win.op]
			for n := range p.nb {
				dxc := dx[(n*p.c+ch)*win.sp : (n*p.c+ch+1)*win.sp]
				s := src[n*win.op : (n+1)*win.op]
				for o, i := range taps {
					if i >= 0 {
						dxc[i] += s[o]
					}
				}
			}
		}
	}
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
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	w, err := lw.in(n, 1)
	if err != nil {
		return nil, err
	}
	var b *G.Node
	need := denseGrads{x: lw.needsGrad[n.Inputs[0]], w: lw.gradOf(n.Inputs[1])}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		if b, err = lw.in(n, 2); err != nil {
			return nil, err
		}
		need.b = lw.gradOf(n.Inputs[2])
	}
	return conv(n, x, w, b, need)
}
