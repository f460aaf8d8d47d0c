package finetune

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// lowerConvTranspose lowers ONNX ConvTranspose (Keras's Conv1D/2DTranspose)
// with the engine's geometry (model.ConvTransposeGeometry): every input
// element scatters through the kernel into the output; the gradients
// gather the same taps back (input, kernel) and sum the output (bias).
func lowerConvTranspose(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	ins, err := lw.insOpt(n, 2, 3)
	if err != nil {
		return nil, err
	}
	x, w := ins[0], ins[1]
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
	var tin, tk, tout []int
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
				tin, tk, tout = append(tin, i), append(tk, k), append(tout, o)
			}
			incr(kc, ws[2:])
		}
		incr(ic, xs[2:])
	}
	cg := c / group
	g := ctGeom{batch: batch, c: c, cg: cg, mg: mg, m: m, inSize: inSize, kSize: kSize, outSize: outSize, tin: tin, tk: tk, tout: tout}
	if x.Dtype() == tensor.Float64 {
		return ctNode[float64](g, out, ins)
	}
	return ctNode[float32](g, out, ins)
}

// ctNode adds the ConvTranspose op of geometry g on ins (x, w and the bias
// if any) in element type T, with the gradients of all of them.
func ctNode[T floats](g ctGeom, out tensor.Shape, ins G.Nodes) (*G.Node, error) {
	dt, xs, ws := dtypeOf[T](), ins[0].Shape(), ins[1].Shape()
	op := newOp("ConvTranspose", dt, out, len(ins))
	op.do = func(in []*tensor.Dense, y *tensor.Dense) error {
		var bias []T
		if len(in) > 2 {
			bias = arr[T](in[2])
		}
		ctForward(g, arr[T](in[0]), arr[T](in[1]), bias, arr[T](y))
		return nil
	}
	op.wrt = []bool{true, true, true}[:len(ins)]
	op.diff = func(ins G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		specs := []*gradSpec{
			{"ConvTransposeGradX", xs, func(in []*tensor.Dense, d *tensor.Dense) {
				ctGradX(g, arr[T](in[0]), arr[T](in[1]), arr[T](d))
			}, G.Nodes{grad, ins[1]}},
			{"ConvTransposeGradW", ws, func(in []*tensor.Dense, d *tensor.Dense) {
				ctGradW(g, arr[T](in[0]), arr[T](in[1]), arr[T](d))
			}, G.Nodes{ins[0], grad}},
		}
		if len(ins) > 2 {
			specs = append(specs, &gradSpec{"ConvTransposeGradB", tensor.Shape{g.m}, func(in []*tensor.Dense, d *tensor.Dense) {
				ctGradB(g, arr[T](in[0]), arr[T](d))
			}, G.Nodes{grad}})
		}
		return gradOps(dt, specs...)
	}
	return op.apply(ins...)
}

type ctGeom struct {
	batch, c, cg, mg, m, inSize, kSize, outSize int
	// The taps: contribution t of a transposed convolution goes from input
	// position tin[t] through kernel offset tk[t] to output position
	// tout[t] (flat spatial indices).
	tin, tk, tout []int
}

// each calls f with the offsets of input channel ch of example n (xo),
// of the kernel slice from ch to output channel j of its group (wo) and of
// that output channel (yo), for every n, ch and j.
func (g ctGeom) each(f func(xo, wo, yo int)) {
	for n := range g.batch {
		for ch := range g.c {
			grp := ch / g.cg
			for j := range g.mg {
				f((n*g.c+ch)*g.inSize, (ch*g.mg+j)*g.kSize, (n*g.m+grp*g.mg+j)*g.outSize)
			}
		}
	}
}

// ctForward: y[n, grp*mg+j, t.out] += x[n, ch, t.in] * w[ch, j, t.k] for ch
// in group grp, plus the bias.
func ctForward[T floats](g ctGeom, x, w, bias, y []T) {
	clear(y)
	g.each(func(xo, wo, yo int) { tapMAC(y[yo:], g.tout, x[xo:], g.tin, w[wo:], g.tk) })
	addBias(y, bias, g.batch, g.m, g.outSize)
}

// tapMAC accumulates along every tap t: d[di[t]] += a[ai[t]] * b[bi[t]].
func tapMAC[T floats](d []T, di []int, a []T, ai []int, b []T, bi []int) {
	for t, i := range di {
		d[i] += a[ai[t]] * b[bi[t]]
	}
}

func ctGradX[T floats](g ctGeom, gy, w, dx []T) {
	clear(dx)
	g.each(func(xo, wo, yo int) { tapMAC(dx[xo:], g.tin, gy[yo:], g.tout, w[wo:], g.tk) })
}

func ctGradW[T floats](g ctGeom, x, gy, dw []T) {
	clear(dw)
	g.each(func(xo, wo, yo int) { tapMAC(dw[wo:], g.tk, x[xo:], g.tin, gy[yo:], g.tout) })
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
