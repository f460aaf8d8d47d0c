package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// tap is one contribution of a transposed convolution: input position in,
// kernel offset k, output position out (flat spatial indices).
type tap struct{ in, k, out int }

// lowerConvTranspose lowers ONNX ConvTranspose (Keras's Conv1D/2DTranspose)
// with the engine's geometry (model.ConvTransposeGeometry): every input
// element scatters through the kernel into the output; the gradients
// gather the same taps back (input, kernel) and sum the output (bias).
func lowerConvTranspose(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	w, err := lw.in(n, 1)
	if err != nil {
		return nil, err
	}
	var b *G.Node
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		if b, err = lw.in(n, 2); err != nil {
			return nil, err
		}
	}
	xs, ws := x.Shape(), w.Shape()
	r := len(xs) - 2
	if r < 1 || len(ws) != r+2 {
		return nil, fmt.Errorf("ConvTranspose X %v and W %v", xs, ws)
	}
	group := int(n.AttrInt("group", 1))
	batch, c, mg := xs[0], xs[1], ws[1]
	if group < 1 || c%group != 0 || ws[0] != c {
		return nil, fmt.Errorf("ConvTranspose X %v, W %v and group %d do not agree", xs, ws, group)
	}
	geo, err := model.ConvTransposeGeometry(n, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	m := mg * group
	out := append(tensor.Shape{batch, m}, geo.Out...)
	inSize, kSize, outSize := prod(xs[2:]), prod(ws[2:]), prod(geo.Out)
	var taps []tap
	ic := make([]int, r)
	for i := range inSize {
		kc := make([]int, r)
		for k := range kSize {
			o, ok := 0, true
			for d := range r {
				p := ic[d]*geo.Stride[d] - geo.PadB[d] + kc[d]*geo.Dil[d]
				if p < 0 || p >= geo.Out[d] {
					ok = false
					break
				}
				o = o*geo.Out[d] + p
			}
			if ok {
				taps = append(taps, tap{i, k, o})
			}
			incr(kc, ws[2:])
		}
		incr(ic, xs[2:])
	}
	cg := c / group
	g := ctGeom{batch: batch, c: c, cg: cg, mg: mg, m: m, inSize: inSize, kSize: kSize, outSize: outSize, taps: taps}
	dt := x.Dtype()
	arity := 2
	if b != nil {
		arity = 3
	}
	op := newOp("ConvTranspose", dt, out, arity)
	op.do = func(in []*tensor.Dense, y *tensor.Dense) error {
		if dt == tensor.Float64 {
			var bias []float64
			if b != nil {
				bias = f64(in[2])
			}
			ctForward(g, f64(in[0]), f64(in[1]), bias, f64(y))
		} else {
			var bias []float32
			if b != nil {
				bias = f32(in[2])
			}
			ctForward(g, f32(in[0]), f32(in[1]), bias, f32(y))
		}
		return nil
	}
	op.wrt = []bool{true, true, true}[:arity]
	op.diff = func(ins G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dx := newOp("ConvTransposeGradX", dt, xs, 2)
		dx.do = func(in []*tensor.Dense, d *tensor.Dense) error {
			if dt == tensor.Float64 {
				ctGradX(g, f64(in[0]), f64(in[1]), f64(d))
			} else {
				ctGradX(g, f32(in[0]), f32(in[1]), f32(d))
			}
			return nil
		}
		dw := newOp("ConvTransposeGradW", dt, ws, 2)
		dw.do = func(in []*tensor.Dense, d *tensor.Dense) error {
			if dt == tensor.Float64 {
				ctGradW(g, f64(in[0]), f64(in[1]), f64(d))
			} else {
				ctGradW(g, f32(in[0]), f32(in[1]), f32(d))
			}
			return nil
		}
		gx, err := dx.apply(grad, ins[1])
		if err != nil {
			return nil, err
		}
		gw, err := dw.apply(ins[0], grad)
		if err != nil {
			return nil, err
		}
		if b == nil {
			return G.Nodes{gx, gw}, nil
		}
		db := newOp("ConvTransposeGradB", dt, tensor.Shape{m}, 1)
		db.do = func(in []*tensor.Dense, d *tensor.Dense) error {
			if dt == tensor.Float64 {
				ctGradB(g, f64(in[0]), f64(d))
			} else {
				ctGradB(g, f32(in[0]), f32(d))
			}
			return nil
		}
		gb, err := db.apply(grad)
		return G.Nodes{gx, gw, gb}, err
	}
	if b != nil {
		return op.apply(x, w, b)
	}
	return op.apply(x, w)
}

type ctGeom struct {
	batch, c, cg, mg, m, inSize, kSize, outSize int
	taps                                        []tap
}

// ctForward: y[n, grp*mg+j, t.out] += x[n, ch, t.in] * w[ch, j, t.k] for ch
// in group grp, plus the bias.
func ctForward[T floats](g ctGeom, x, w, bias, y []T) {
	clear(y)
	for n := range g.batch {
		for ch := range g.c {
			grp := ch / g.cg
			xc := x[(n*g.c+ch)*g.inSize:]
			for j := range g.mg {
				yc := y[(n*g.m+grp*g.mg+j)*g.outSize:]
				wc := w[(ch*g.mg+j)*g.kSize:]
				for _, t := range g.taps {
					yc[t.out] += xc[t.in] * wc[t.k]
				}
			}
		}
		if bias != nil {
			for o := range g.m {
				row := y[(n*g.m+o)*g.outSize : (n*g.m+o+1)*g.outSize]
				for i := range row {
					row[i] += bias[o]
				}
			}
		}
	}
}

func ctGradX[T floats](g ctGeom, gy, w, dx []T) {
	clear(dx)
	for n := range g.batch {
		for ch := range g.c {
			grp := ch / g.cg
			dc := dx[(n*g.c+ch)*g.inSize:]
			for j := range g.mg {
				gc := gy[(n*g.m+grp*g.mg+j)*g.outSize:]
				wc := w[(ch*g.mg+j)*g.kSize:]
				for _, t := range g.taps {
					dc[t.in] += gc[t.out] * wc[t.k]
				}
			}
		}
	}
}

func ctGradW[T floats](g ctGeom, x, gy, dw []T) {
	clear(dw)
	for n := range g.batch {
		for ch := range g.c {
			grp := ch / g.cg
			xc := x[(n*g.c+ch)*g.inSize:]
			for j := range g.mg {
				gc := gy[(n*g.m+grp*g.mg+j)*g.outSize:]
				dc := dw[(ch*g.mg+j)*g.kSize:]
				for _, t := range g.taps {
					dc[t.k] += xc[t.in] * gc[t.out]
				}
			}
		}
	}
}

func ctGradB[T floats](g ctGeom, gy, db []T) {
	clear(db)
	for n := range g.batch {
		for o := range g.m {
			for _, v := range gy[(n*g.m+o)*g.outSize : (n*g.m+o+1)*g.outSize] {
				db[o] += v
			}
		}
	}
}
