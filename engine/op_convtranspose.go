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
	x, err := s.needF32(0)
	if err != nil {
		return err
	}
	w, err := s.needF32(1)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	if r < 3 || len(w.Shape) != r {
		return fmt.Errorf("X %v and W %v must have the same rank >= 3", x.Shape, w.Shape)
	}
	n, c := x.Shape[0], x.Shape[1]
	group := int(s.node.AttrInt("group", 1))
	if group < 1 || w.Shape[0] != c || c%group != 0 {
		return fmt.Errorf("X %v, W %v and group %d do not agree (W dim 0 must be C)", x.Shape, w.Shape, group)
	}
	cg, mg := c/group, w.Shape[1]
	m := mg * group
	kshape := w.Shape[2:]
	if ks := s.node.AttrInts("kernel_shape", nil); ks != nil {
		for i, v := range ks {
			if i >= len(kshape) || int(v) != kshape[i] {
				return fmt.Errorf("kernel_shape %v does not match W %v", ks, w.Shape)
			}
		}
	}
	var bias []float32
	if b := s.opt(2); b != nil {
		if len(b.F32) != m {
			return fmt.Errorf("B %v must be [%d]", b.Shape, m)
		}
		bias = b.F32
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
	r := len(in)
	inSize, outSize := numel(in), numel(g.Out)
	ost := strides(g.Out)
	kidx := make([]int, r)
	pidx := make([]int, r)
	last := r - 1
	iw, sw, dw, pw, ow := in[last], g.Stride[last], g.Dil[last], g.PadB[last], g.Out[last]
	row := 0
	for ch := range channels {
		yc := y[ch*outSize : (ch+1)*outSize]
		clear(kidx)
		for {
			src := col[row*inSize : (row+1)*inSize]
			row++
			clear(pidx[:last])
			off := 0
			for {
				base, ok := 0, true
				for d := range last {
					o := pidx[d]*g.Stride[d] - g.PadB[d] + kidx[d]*g.Dil[d]
					if o < 0 || o >= g.Out[d] {
						ok = false
						break
					}
					base += o * ost[d]
				}
				line := src[off : off+iw]
				off += iw
				if ok {
					o0 := kidx[last]*dw - pw
					for p, v := range line {
						if o := o0 + p*sw; o >= 0 && o < ow {
							yc[base+o] += v
						}
					}
				}
				if !odometer(pidx[:last], in[:last]) {
					break
				}
			}
			if !odometer(kidx, k) {
				break
			}
		}
	}
}
