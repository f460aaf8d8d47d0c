package finetune

import (
	"fmt"

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
	ceil := n.AttrInt("ceil_mode", 0) != 0
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
		span := spatial[i] + w.padBegin[i] + w.padEnd[i] - ext
		if span < 0 {
			return nil, fmt.Errorf("window %v does not fit input %v", kernel, spatial)
		}
		w.out[i] = span/w.strides[i] + 1
		// ceil_mode rounds the output size up, dropping a last window that
		// would start in the end padding (as the engine and PyTorch do).
		if ceil && span%w.strides[i] != 0 {
			w.out[i]++
			if (w.out[i]-1)*w.strides[i] >= spatial[i]+w.padBegin[i] {
				w.out[i]--
			}
		}
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
// input spatial offset read, -1 in the padding, or -2 beyond the end
// padding (where a ceil_mode window reaches): idx[kk*op + o].
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
				if p >= w.spatial[i]+w.padEnd[i] {
					off = -2
					break
				}
				if p < 0 || p >= w.spatial[i] {
					off = -1
				}
				if off < 0 {
					continue
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
