package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// rowOp applies fn to each row of the last axis (softmax and log-softmax).
func softmaxLike(name string, x *G.Node) (*G.Node, error) {
	dt := x.Dtype()
	shape := x.Shape()
	if len(shape) == 0 {
		return nil, fmt.Errorf("finetune: %s of a scalar", name)
	}
	c := shape[len(shape)-1]
	log := name == "LogSoftmax"
	op := newOp(name, dt, shape, 1)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			softmaxRows(f64(in[0]), f64(out), c, log)
		} else {
			softmaxRows(f32(in[0]), f32(out), c, log)
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		gop := newOp(name+"Grad", dt, shape, 2)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				softmaxRowsGrad(f64(in[0]), f64(in[1]), f64(out), c, log)
			} else {
				softmaxRowsGrad(f32(in[0]), f32(in[1]), f32(out), c, log)
			}
			return nil
		}
		dx, err := gop.apply(y, grad)
		return G.Nodes{dx}, err
	}
	return op.apply(x)
}

func softmaxRows[T floats](x, y []T, c int, log bool) {
	for r := 0; r+c <= len(x); r += c {
		row, out := x[r:r+c], y[r:r+c]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for i, v := range row {
			e := math.Exp(float64(v - m))
			out[i] = T(e)
			s += e
		}
		if log {
			ls := T(math.Log(s))
			for i, v := range row {
				out[i] = v - m - ls
			}
		} else {
			for i := range out {
				out[i] = T(float64(out[i]) / s)
			}
		}
	}
}

// softmaxRowsGrad: softmax dx = y (g - sum(g y)); log-softmax dx = g - e^y sum(g).
func softmaxRowsGrad[T floats](y, g, dx []T, c int, log bool) {
	for r := 0; r+c <= len(y); r += c {
		yr, gr, dr := y[r:r+c], g[r:r+c], dx[r:r+c]
		var s T
		if log {
			for _, v := range gr {
				s += v
			}
			for i := range dr {
				dr[i] = gr[i] - T(math.Exp(float64(yr[i])))*s
			}
			continue
		}
		for i := range gr {
			s += gr[i] * yr[i]
		}
		for i := range dr {
			dr[i] = yr[i] * (gr[i] - s)
		}
	}
}

// lowerSoftmax lowers Softmax and LogSoftmax over the last axis (opset 13's
// default; before 13 the default axis is 1, the last one of a [N, C] input).
func lowerSoftmax(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape())
	axis := int(n.AttrInt("axis", -1))
	if lw.m.Opset > 0 && lw.m.Opset < 13 {
		axis = int(n.AttrInt("axis", 1))
	}
	if axis < 0 {
		axis += r
	}
	if axis != r-1 {
		return nil, fmt.Errorf("axis %d of a rank-%d input: only the last axis is supported", axis, r)
	}
	return softmaxLike(n.Op, x)
}
