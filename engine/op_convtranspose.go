package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// convTransposeKernel is ONNX ConvTranspose on X [N, C, D1..Dk] (any k >= 1)
// with W [C, M/group, K1..Kk] and optional B [M]: strides, dilations, pads,
// output_padding, output_shape, group and auto_pad as
// model.ConvTransposeGeometry resolves them. Per image and group, one
// product W_g^T [M/g*K, C/g] x X_g [C/g, in positions] gives every tap's
// contribution, which col2im adds into the output (the transpose of Conv's
// im2col).
func convTransposeKernel(s *step) error {
	x, w, err := convInputs(s)
	if err != nil {
		return err
	}
	n, c := x.Shape[0], x.Shape[1]
	group := int(s.node.AttrInt("group", 1))
	if group < 1 || w.Shape[0] != c || c%group != 0 {
		return fmt.Errorf("X %v, W %v and group %d do not agree (W dim 0 must be C)", x.Shape, w.Shape, group)
	}
	cg, mg := c/group, w.Shape[1]
	m := mg * group
	kshape := w.Shape[2:]
	bias, err := convKernelBias(s, w, m)
	if err != nil {
		return err
	}
	in := x.Shape[2:]
	g, err := model.ConvTransposeGeometry(s.node, in, kshape)
	if err != nil {
		return err
	}
	y := setF32(s.out[0], append([]int{n, m}, g.Out...))
	inSize, outSize, kSize := numel(in), numel(g.Out), numel(kshape)
	rows := mg * kSize // rows of the column matrix
	if cap(s.scratch) < rows*inSize {
		s.scratch = make([]float32, rows*inSize)
	}
	col := s.scratch[:rows*inSize]
	for img := range n {
		for gi := range group {
			xg := x.F32[(img*c+gi*cg)*inSize : (img*c+(gi+1)*cg)*inSize]
			wg := w.F32[gi*cg*rows : (gi+1)*cg*rows] // [cg, mg*K]
			// col [mg*K, in] = wg^T [mg*K, cg] x xg [cg, in]
			gemm(true, false, rows, inSize, cg, 1, wg, rows, xg, inSize, 0, col, inSize)
			yg := y[(img*m+gi*mg)*outSize : (img*m+(gi+1)*mg)*outSize]
			clear(yg)
			col2im(yg, col, mg, in, kshape, g)
		}
		if bias != nil {
			for j := range m {
				row := y[(img*m+j)*outSize : (img*m+j+1)*outSize]
				for i := range row {
					row[i] += bias[j]
				}
			}
		}
	}
	return nil
}

// col2im adds col [channels*K, in positions] into y [channels, out...]:
// the tap (ch, kernel offset k) of input position p lands on output
// position p*stride - padB + k*dil, when that is inside the output.
func col2im(y, col []float32, channels int, in, k []int, g model.ConvTransposeWindow) {
	inSize, outSize := numel(in), numel(g.Out)
	last := len(in) - 1
	iw, sw, dw, pw, ow := in[last], g.Stride[last], g.Dil[last], g.PadB[last], g.Out[last]
	colLines(channels, k, in, g.Out, g.Stride, g.Dil, g.PadB, func(l colLine) {
		if !l.ok {
			return
		}
		line := col[l.row*inSize+l.line*iw : l.row*inSize+(l.line+1)*iw]
		yc := y[l.ch*outSize : (l.ch+1)*outSize]
		o0 := l.kLast*dw - pw
		for p, v := range line {
			if o := o0 + p*sw; o >= 0 && o < ow {
				yc[l.base+o] += v
			}
		}
	})
}
