package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// window describes a sliding window over the spatial dims of an NC... tensor
// (ONNX Conv and pooling attributes).
type window struct {
	spatial, kernel, out []int
	strides, dilations   []int
	padBegin, padEnd     []int
	sp, kp, op           int // products of spatial, kernel and out dims
}

// newWindow reads kernel_shape (or kernel from the weight), strides, pads,
// dilations and auto_pad for input spatial dims.
func newWindow(n *model.Node, spatial, kernel []int) (*window, error) {
	r := len(spatial)
	w := &window{spatial: spatial, kernel: kernel}
	ints := func(name string, def int) ([]int, error) {
		v := n.AttrInts(name, nil)
		out := make([]int, r)
		for i := range out {
			out[i] = def
		}
		if v == nil {
			return out, nil
		}
		if len(v) != r {
			return nil, fmt.Errorf("%s %v: want %d values", name, v, r)
		}
		for i, x := range v {
			if x < 1 {
				return nil, fmt.Errorf("%s %v: values must be positive", name, v)
			}
			out[i] = int(x)
		}
		return out, nil
	}
	var err error
	if w.strides, err = ints("strides", 1); err != nil {
		return nil, err
	}
	if w.dilations, err = ints("dilations", 1); err != nil {
		return nil, err
	}
	w.padBegin, w.padEnd = make([]int, r), make([]int, r)
	if p := n.AttrInts("pads", nil); p != nil {
		if len(p) != 2*r {
			return nil, fmt.Errorf("pads %v: want %d values", p, 2*r)
		}
		for i := 0; i < r; i++ {
			w.padBegin[i], w.padEnd[i] = int(p[i]), int(p[i+r])
			if w.padBegin[i] < 0 || w.padEnd[i] < 0 {
				return nil, fmt.Errorf("pads %v: negative", p)
			}
		}
	}
	if n.AttrInt("ceil_mode", 0) != 0 {
		return nil, fmt.Errorf("ceil_mode 1 is not supported")
	}
	auto := n.AttrString("auto_pad", "NOTSET")
	w.out = make([]int, r)
	for i := 0; i < r; i++ {
		ext := w.dilations[i]*(kernel[i]-1) + 1
		switch auto {
		case "SAME_UPPER", "SAME_LOWER":
			o := (spatial[i] + w.strides[i] - 1) / w.strides[i]
			total := max((o-1)*w.strides[i]+ext-spatial[i], 0)
			w.padBegin[i] = total / 2
			if auto == "SAME_LOWER" {
				w.padBegin[i] = total - total/2
			}
			w.padEnd[i] = total - w.padBegin[i]
		case "VALID":
			w.padBegin[i], w.padEnd[i] = 0, 0
		case "NOTSET":
		default:
			return nil, fmt.Errorf("auto_pad %q", auto)
		}
		w.out[i] = (spatial[i]+w.padBegin[i]+w.padEnd[i]-ext)/w.strides[i] + 1
		if w.out[i] < 1 {
			return nil, fmt.Errorf("window %v does not fit input %v", kernel, spatial)
		}
	}
	w.sp, w.kp, w.op = prod(spatial), prod(kernel), prod(w.out)
	return w, nil
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// index returns, for each kernel position kk and output position o, the
// input spatial offset read (or -1 in the padding): idx[kk*op + o].
func (w *window) index() []int {
	r := len(w.spatial)
	idx := make([]int, w.kp*w.op)
	kc := make([]int, r)
	for kk := 0; kk < w.kp; kk++ {
		oc := make([]int, r)
		for o := 0; o < w.op; o++ {
			off := 0
			for i := 0; i < r; i++ {
				p := oc[i]*w.strides[i] - w.padBegin[i] + kc[i]*w.dilations[i]
				if p < 0 || p >= w.spatial[i] {
					off = -1
					break
				}
				off = off*w.spatial[i] + p
			}
			idx[kk*w.op+o] = off
			incr(oc, w.out)
		}
		incr(kc, w.kernel)
	}
	return idx
}

// incr advances a row-major coordinate c within dims.
func incr(c, dims []int) {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]++
		if c[i] < dims[i] {
			return
		}
		c[i] = 0
	}
}

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

// pool is ONNX MaxPool, AveragePool, GlobalAveragePool or GlobalMaxPool on
// x [N, C, S...].
func pool(n *model.Node, x *G.Node) (*G.Node, error) {
	dt, xs := x.Dtype(), x.Shape()
	if len(xs) < 3 {
		return nil, fmt.Errorf("%s of shape %v: need [N, C, spatial...]", n.Op, xs)
	}
	nb, c := xs[0], xs[1]
	var win *window
	var err error
	isMax := n.Op == "MaxPool" || n.Op == "GlobalMaxPool"
	if n.Op == "GlobalAveragePool" || n.Op == "GlobalMaxPool" {
		win, err = newWindow(&model.Node{}, xs[2:], xs[2:])
	} else {
		var k []int
		for _, v := range n.AttrInts("kernel_shape", nil) {
			k = append(k, int(v))
		}
		if len(k) != len(xs)-2 {
			return nil, fmt.Errorf("%s: kernel_shape %v for input %v", n.Op, k, xs)
		}
		win, err = newWindow(n, xs[2:], k)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Op, err)
	}
	if isMax && len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return nil, fmt.Errorf("MaxPool's Indices output is not supported")
	}
	idx := win.index()
	includePad := n.AttrInt("count_include_pad", 0) != 0
	outShape := append(tensor.Shape{nb, c}, win.out...)
	if n.Op == "GlobalAveragePool" || n.Op == "GlobalMaxPool" {
		outShape = append(tensor.Shape{nb, c}, make([]int, len(xs)-2)...)
		for i := range outShape[2:] {
			outShape[2+i] = 1
		}
	}
	// src[(nc)*op + o] is the flat input index the output takes its value
	// from (max) or, for averages, the divisor.
	arg := make([]int, nb*c*win.op)
	div := make([]float64, win.op)
	for o := range div {
		cnt := 0
		for kk := 0; kk < win.kp; kk++ {
			if includePad || idx[kk*win.op+o] >= 0 {
				cnt++
			}
		}
		div[o] = float64(max(cnt, 1))
	}
	op := newOp(n.Op, dt, outShape, 1)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			poolForward(f64(in[0]), f64(out), arg, div, idx, win, nb*c, isMax)
		} else {
			poolForward(f32(in[0]), f32(out), arg, div, idx, win, nb*c, isMax)
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		gop := newOp(n.Op+"Grad", dt, xs, 2)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				poolBackward(f64(in[1]), f64(out), arg, div, idx, win, nb*c, isMax)
			} else {
				poolBackward(f32(in[1]), f32(out), arg, div, idx, win, nb*c, isMax)
			}
			return nil
		}
		d, err := gop.apply(y, grad) // y orders it after the forward
		return G.Nodes{d}, err
	}
	return op.apply(x)
}

func poolForward[T floats](x, y []T, arg []int, div []float64, idx []int, win *window, planes int, isMax bool) {
	for p := 0; p < planes; p++ {
		xp := x[p*win.sp : (p+1)*win.sp]
		for o := 0; o < win.op; o++ {
			best, bi := T(0), -1
			var sum T
			for kk := 0; kk < win.kp; kk++ {
				i := idx[kk*win.op+o]
				if i < 0 {
					continue
				}
				v := xp[i]
				sum += v
				if bi < 0 || v > best {
					best, bi = v, i
				}
			}
			if isMax {
				y[p*win.op+o] = best
				arg[p*win.op+o] = p*win.sp + bi
			} else {
				y[p*win.op+o] = sum / T(div[o])
			}
		}
	}
}

func poolBackward[T floats](g, dx []T, arg []int, div []float64, idx []int, win *window, planes int, isMax bool) {
	clear(dx)
	for p := 0; p < planes; p++ {
		for o := 0; o < win.op; o++ {
			gv := g[p*win.op+o]
			if isMax {
				if arg[p*win.op+o] >= 0 {
					dx[arg[p*win.op+o]] += gv
				}
				continue
			}
			for kk := 0; kk < win.kp; kk++ {
				if i := idx[kk*win.op+o]; i >= 0 {
					dx[p*win.sp+i] += gv / T(div[o])
				}
			}
		}
	}
}

// reduce is ONNX ReduceMean or ReduceSum over non-batch axes.
func reduce(lw *lowerer, n *model.Node, x *G.Node) (*G.Node, error) {
	dt, xs := x.Dtype(), x.Shape()
	r := len(xs)
	axes := n.AttrInts("axes", nil)
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		c, ok := lw.consts[n.Inputs[1]]
		if !ok || c.DType != model.Int64 {
			return nil, fmt.Errorf("axes %q is not an int64 const", n.Inputs[1])
		}
		axes = c.I64
	}
	red := make([]bool, r)
	if len(axes) == 0 {
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return x, nil
		}
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || int(a) >= r {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, r)
		}
		red[a] = true
	}
	if red[0] {
		return nil, fmt.Errorf("reducing the batch axis is not supported")
	}
	keep := n.AttrInt("keepdims", 1) != 0
	var outShape tensor.Shape
	for i, d := range xs {
		switch {
		case !red[i]:
			outShape = append(outShape, d)
		case keep:
			outShape = append(outShape, 1)
		}
	}
	// to[i] is the output element input element i adds into.
	total := xs.TotalSize()
	to := make([]int, total)
	coord := make([]int, r)
	cnt := 1
	for i, d := range xs {
		if red[i] {
			cnt *= d
		}
	}
	for i := 0; i < total; i++ {
		o := 0
		for k := 0; k < r; k++ {
			if !red[k] {
				o = o*xs[k] + coord[k]
			}
		}
		to[i] = o
		incr(coord, xs)
	}
	scale := 1.0
	if n.Op == "ReduceMean" {
		scale = 1 / float64(cnt)
	}
	op := newOp(n.Op, dt, outShape, 1)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			reduceForward(f64(in[0]), f64(out), to, scale)
		} else {
			reduceForward(f32(in[0]), f32(out), to, scale)
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		gop := newOp(n.Op+"Grad", dt, xs, 1)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				g, d := f64(in[0]), f64(out)
				for i, o := range to {
					d[i] = g[o] * scale
				}
			} else {
				g, d := f32(in[0]), f32(out)
				for i, o := range to {
					d[i] = g[o] * float32(scale)
				}
			}
			return nil
		}
		d, err := gop.apply(grad)
		return G.Nodes{d}, err
	}
	return op.apply(x)
}

func reduceForward[T floats](x, y []T, to []int, scale float64) {
	clear(y)
	for i, o := range to {
		y[o] += x[i]
	}
	for i := range y {
		y[i] *= T(scale)
	}
}
