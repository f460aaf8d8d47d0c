package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

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
			if i := idx[kk*win.op+o]; i >= 0 || includePad && i == -1 {
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
				if bi < 0 { // no tap inside the input: -Inf, as the engine
					y[p*win.op+o], arg[p*win.op+o] = T(math.Inf(-1)), -1
				}
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

// lowerPool lowers MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
func lowerPool(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	return pool(n, x)
}
