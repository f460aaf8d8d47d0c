package model

import (
	"fmt"
	"slices"
	"strings"
)

// ConvTransposeWindow is the resolved geometry of a ConvTranspose over the
// spatial dims: strides, dilations, begin and end pads, output padding and
// output size.
type ConvTransposeWindow struct {
	Stride, Dil, PadB, PadE, OutPad, Out []int
}

// ConvTransposeGeometry resolves ONNX ConvTranspose's attributes for spatial
// input dims in and kernel dims k (ONNX spec, opset 11):
//
//	out = stride*(in-1) + output_padding + (k-1)*dil + 1 - padB - padE
//
// with explicit pads (NOTSET, VALID: none); when output_shape is given, or
// auto_pad is SAME_UPPER/SAME_LOWER (output in*stride), the total padding
// follows from the output and is split as the spec says: SAME_UPPER puts
// the odd one at the end, otherwise at the beginning. An unknown input dim
// (-1) gives an unknown output dim. The engine and shape inference share it.
func ConvTransposeGeometry(n *Node, in, k []int) (ConvTransposeWindow, error) {
	r := len(in)
	w := ConvTransposeWindow{Stride: make([]int, r), Dil: make([]int, r), PadB: make([]int, r), PadE: make([]int, r), OutPad: make([]int, r), Out: make([]int, r)}
	pads := make([]int, 2*r)
	for _, g := range []struct {
		name string
		def  int
		dst  []int
	}{{"strides", 1, w.Stride}, {"dilations", 1, w.Dil}, {"output_padding", 0, w.OutPad}, {"pads", 0, pads}} {
		if err := n.AttrIntsTo(g.name, g.def, g.dst); err != nil {
			return w, err
		}
	}
	copy(w.PadB, pads[:r])
	copy(w.PadE, pads[r:])
	for i := range r {
		if w.Stride[i] < 1 || w.Dil[i] < 1 || k[i] < 1 {
			return w, fmt.Errorf("strides %v, dilations %v and kernel %v must be positive", w.Stride, w.Dil, k)
		}
		if w.PadB[i] < 0 || w.PadE[i] < 0 || w.OutPad[i] < 0 {
			return w, fmt.Errorf("pads %v and output_padding %v must not be negative", pads, w.OutPad)
		}
		if w.OutPad[i] >= max(w.Stride[i], w.Dil[i]) {
			return w, fmt.Errorf("output_padding %v must be smaller than the stride %v or the dilation %v", w.OutPad, w.Stride, w.Dil)
		}
	}
	outShape := n.AttrInts("output_shape", nil)
	if outShape != nil {
		if len(outShape) == r+2 {
			outShape = outShape[2:] // some exporters give N and C too
		}
		if len(outShape) != r {
			return w, fmt.Errorf("output_shape %v does not fit %d spatial dims", outShape, r)
		}
	}
	autoPad := strings.ToUpper(n.AttrString("auto_pad", "NOTSET"))
	switch autoPad {
	case "NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return w, fmt.Errorf("%w: auto_pad %q (want NOTSET, VALID, SAME_UPPER or SAME_LOWER)", ErrUnsupported, autoPad)
	}
	for i := range r {
		if autoPad == "VALID" {
			w.PadB[i], w.PadE[i] = 0, 0
		}
		if in[i] < 0 {
			w.Out[i] = -1
			continue
		}
		full := w.Stride[i]*(in[i]-1) + w.OutPad[i] + (k[i]-1)*w.Dil[i] + 1
		target := -1
		switch {
		case outShape != nil:
			target = int(outShape[i])
		case autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER":
			target = in[i] * w.Stride[i]
		}
		if target >= 0 {
			// A target beyond the full output gives negative pads: extra
			// positions that only the bias reaches (floor division, as
			// ONNX's reference implementation computes it).
			total := full - target
			half := total / 2
			if total < 0 && total%2 != 0 {
				half--
			}
			if autoPad == "SAME_UPPER" {
				w.PadB[i], w.PadE[i] = half, total-half
			} else {
				w.PadB[i], w.PadE[i] = total-half, half
			}
		}
		w.Out[i] = full - w.PadB[i] - w.PadE[i]
		if w.Out[i] < 0 {
			return w, fmt.Errorf("pads %v leave no output for input %v and kernel %v", pads, in, k)
		}
	}
	return w, nil
}

// convTransposeShape is ConvTranspose: X [N, C, D...], W [C, M/group,
// K...], optional B [M]; output [N, M, out...].
func convTransposeShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	w, err := c.need(1, "W")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	if r < 3 || len(w.Shape) != r {
		return nil, fmt.Errorf("X %v and W %v must have the same rank >= 3 (channels-first: [N, C, D...])", x.Shape, w.Shape)
	}
	group := int(c.node.AttrInt("group", 1))
	if group < 1 {
		return nil, fmt.Errorf("group %d must be positive", group)
	}
	if x.Shape[1] >= 0 && w.Shape[0] >= 0 && (x.Shape[1] != w.Shape[0] || w.Shape[0]%group != 0) {
		return nil, fmt.Errorf("X has %d channels but W %v (group %d) expects %d", x.Shape[1], w.Shape, group, w.Shape[0])
	}
	m := -1
	if w.Shape[1] >= 0 {
		m = w.Shape[1] * group
	}
	k := slices.Clone(w.Shape[2:])
	if ks := c.node.AttrInts("kernel_shape", nil); ks != nil {
		if len(ks) != r-2 {
			return nil, fmt.Errorf("kernel_shape %v does not fit X %v", ks, x.Shape)
		}
		for i, v := range ks {
			if k[i] >= 0 && int(v) != k[i] {
				return nil, fmt.Errorf("kernel_shape %v does not match W %v", ks, w.Shape)
			}
			k[i] = int(v)
		}
	}
	if slices.Contains(k, -1) {
		return unknownDims(x.DType, r)
	}
	if b := c.in(2); b != nil {
		if len(b.Shape) != 1 || !dimsAgree(b.Shape[0], m) {
			return nil, fmt.Errorf("bias B %v must be [%d]", b.Shape, m)
		}
	}
	g, err := ConvTransposeGeometry(c.node, x.Shape[2:], k)
	if err != nil {
		return nil, err
	}
	return []*Value{{DType: x.DType, Shape: append([]int{x.Shape[0], m}, g.Out...)}}, nil
}
