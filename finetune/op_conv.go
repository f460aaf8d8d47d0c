package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// conv is ONNX Conv: x [N, C, S...], w [M, C/group, K...], b [M] or nil,
// through im2col and one matrix product per example and group.
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
	idx := win.index()
	outShape := append(tensor.Shape{nb, m}, win.out...)
	colsLen := c * win.kp * win.op
	var cols any // im2col of every example, kept for the gradient
	if dt == tensor.Float64 {
		cols = make([]float64, nb*colsLen)
	} else {
		cols = make([]float32, nb*colsLen)
	}
	ins := []*G.Node{x, w}
	if b != nil {
		ins = append(ins, b)
	}
	op := newOp("Conv", dt, outShape, len(ins))
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			convForward(in, out, cols.([]float64), idx, win, nb, c, m, group, f64)
		} else {
			convForward(in, out, cols.([]float32), idx, win, nb, c, m, group, f32)
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
					convGradX(in[0], in[1], out, idx, win, nb, c, m, group, f64)
				} else {
					convGradX(in[0], in[1], out, idx, win, nb, c, m, group, f32)
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
			dwop := newOp("ConvGradW", dt, ws, 1)
			dwop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
				if dt == tensor.Float64 {
					convGradW(f64(in[0]), cols.([]float64), f64(out), win, nb, c, m, group)
				} else {
					convGradW(f32(in[0]), cols.([]float32), f32(out), win, nb, c, m, group)
				}
				return nil
			}
			d, err := dwop.apply(grad)
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

func convForward[T floats](in []*tensor.Dense, out *tensor.Dense, cols []T, idx []int, win *window, nb, c, m, group int, get func(*tensor.Dense) []T) {
	x, w, y := get(in[0]), get(in[1]), get(out)
	cg, mg := c/group, m/group
	rows := cg * win.kp
	colsLen := c * win.kp * win.op
	for n := 0; n < nb; n++ {
		xn := x[n*c*win.sp : (n+1)*c*win.sp]
		cn := cols[n*colsLen : (n+1)*colsLen]
		for ch := 0; ch < c; ch++ {
			xc := xn[ch*win.sp : (ch+1)*win.sp]
			for kk := 0; kk < win.kp; kk++ {
				dst := cn[(ch*win.kp+kk)*win.op : (ch*win.kp+kk+1)*win.op]
				src := idx[kk*win.op : (kk+1)*win.op]
				for o, i := range src {
					if i < 0 {
						dst[o] = 0
					} else {
						dst[o] = xc[i]
					}
				}
			}
		}
		yn := y[n*m*win.op : (n+1)*m*win.op]
		for g := 0; g < group; g++ {
			gemm(false, false, mg, win.op, rows, w[g*mg*rows:(g+1)*mg*rows], cn[g*rows*win.op:(g+1)*rows*win.op], yn[g*mg*win.op:(g+1)*mg*win.op], 0)
		}
		if len(in) > 2 {
			b := get(in[2])
			for ch := 0; ch < m; ch++ {
				row := yn[ch*win.op : (ch+1)*win.op]
				for o := range row {
					row[o] += b[ch]
				}
			}
		}
	}
}

func convGradW[T floats](g, cols, dw []T, win *window, nb, c, m, group int) {
	cg, mg := c/group, m/group
	rows := cg * win.kp
	colsLen := c * win.kp * win.op
	for n := 0; n < nb; n++ {
		gn := g[n*m*win.op : (n+1)*m*win.op]
		cn := cols[n*colsLen : (n+1)*colsLen]
		beta := T(1)
		if n == 0 {
			beta = 0
		}
		for gi := 0; gi < group; gi++ {
			gemm(false, true, mg, rows, win.op, gn[gi*mg*win.op:(gi+1)*mg*win.op], cn[gi*rows*win.op:(gi+1)*rows*win.op], dw[gi*mg*rows:(gi+1)*mg*rows], beta)
		}
	}
}

func convGradX[T floats](gt, wt, out *tensor.Dense, idx []int, win *window, nb, c, m, group int, get func(*tensor.Dense) []T) {
	g, w, dx := get(gt), get(wt), get(out)
	cg, mg := c/group, m/group
	rows := cg * win.kp
	dcols := make([]T, c*win.kp*win.op)
	clear(dx)
	for n := 0; n < nb; n++ {
		gn := g[n*m*win.op : (n+1)*m*win.op]
		for gi := 0; gi < group; gi++ {
			gemm(true, false, rows, win.op, mg, w[gi*mg*rows:(gi+1)*mg*rows], gn[gi*mg*win.op:(gi+1)*mg*win.op], dcols[gi*rows*win.op:(gi+1)*rows*win.op], 0)
		}
		dxn := dx[n*c*win.sp : (n+1)*c*win.sp]
		for ch := 0; ch < c; ch++ {
			dxc := dxn[ch*win.sp : (ch+1)*win.sp]
			for kk := 0; kk < win.kp; kk++ {
				src := dcols[(ch*win.kp+kk)*win.op : (ch*win.kp+kk+1)*win.op]
				for o, i := range idx[kk*win.op : (kk+1)*win.op] {
					if i >= 0 {
						dxc[i] += src[o]
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
