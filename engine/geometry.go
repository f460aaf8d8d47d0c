package engine

import (
	"fmt"
	"strings"

	"github.com/xferml/xfer/model"
)

// window is the spatial geometry shared by Conv and the pools: per spatial
// dim, input size, kernel size, stride, dilation, begin and end padding and
// the output size.
type window struct {
	in, k, stride, dil, padB, padE, out []int
}

// windowFor computes the geometry of node n on spatial input dims in with
// kernel dims k, following the ONNX spec of Conv/MaxPool/AveragePool:
//
//	NOTSET: explicit pads (default 0);
//	out = floor((in + padB + padE - ((k-1)*dil + 1)) / stride) + 1
//	(ceil instead of floor with ceil_mode, dropping a last window that
//	would start in the end padding);
//	VALID: no padding;
//	SAME_UPPER / SAME_LOWER: out = ceil(in / stride), total padding
//	(out-1)*stride + (k-1)*dil + 1 - in split evenly, the odd one at the end
//	(UPPER) or the beginning (LOWER).
func windowFor(n *model.Node, in, k []int, ceilMode bool) (window, error) {
	r := len(in)
	w := window{in: in, k: k, stride: make([]int, r), dil: make([]int, r), padB: make([]int, r), padE: make([]int, r), out: make([]int, r)}
	if err := n.AttrIntsTo("strides", 1, w.stride); err != nil {
		return w, err
	}
	if err := n.AttrIntsTo("dilations", 1, w.dil); err != nil {
		return w, err
	}
	pads := make([]int, 2*r)
	if err := n.AttrIntsTo("pads", 0, pads); err != nil {
		return w, err
	}
	copy(w.padB, pads[:r])
	copy(w.padE, pads[r:])
	for i := range r {
		if w.stride[i] < 1 || w.dil[i] < 1 || k[i] < 1 {
			return w, fmt.Errorf("strides %v, dilations %v and kernel %v must be positive", w.stride, w.dil, k)
		}
		if w.padB[i] < 0 || w.padE[i] < 0 {
			return w, fmt.Errorf("pads %v must not be negative", pads)
		}
	}
	autoPad := strings.ToUpper(n.AttrString("auto_pad", "NOTSET"))
	for i := range r {
		ext := (k[i]-1)*w.dil[i] + 1
		switch autoPad {
		case "NOTSET", "":
		case "VALID":
			w.padB[i], w.padE[i] = 0, 0
		case "SAME_UPPER", "SAME_LOWER":
			out := (in[i] + w.stride[i] - 1) / w.stride[i]
			total := max(0, (out-1)*w.stride[i]+ext-in[i])
			small := total / 2
			if autoPad == "SAME_UPPER" {
				w.padB[i], w.padE[i] = small, total-small
			} else {
				w.padB[i], w.padE[i] = total-small, small
			}
		default:
			return w, fmt.Errorf("engine: %w: auto_pad %q (want NOTSET, VALID, SAME_UPPER or SAME_LOWER)", model.ErrUnsupported, autoPad)
		}
		span := in[i] + w.padB[i] + w.padE[i] - ext
		if span < 0 {
			return w, fmt.Errorf("kernel %v (dilations %v) is larger than the padded input %v", k, w.dil, in)
		}
		o := span/w.stride[i] + 1
		if ceilMode && span%w.stride[i] != 0 {
			o++
			if (o-1)*w.stride[i] >= in[i]+w.padB[i] {
				o--
			}
		}
		w.out[i] = o
	}
	return w, nil
}

// odometer advances idx over shape; it returns false after the last index.
// colLine is one line of an im2col-style matrix (see colLines).
type colLine struct {
	row, line, ch int // the matrix row, the line's index in it, the channel
	kLast         int // the row's kernel offset on the last axis
	base          int // offset in space of the outer dims' position
	ok            bool
}

// colLines walks the lines of a matrix of channels*prod(k) rows, row (ch,
// kernel offset kidx), whose columns are the positions of lines (a line:
// one position of the outer dims, all of the last), as im2col and col2im
// use it. For each line it calls f with the offset (strides of space) of
// position idx*stride - padB + kidx*dil on the outer dims of space, ok
// false when that lies outside space.
func colLines(channels int, k, lines, space, stride, dil, padB []int, f func(colLine)) {
	r := len(k)
	last := r - 1
	st := strides(space)
	kidx, lidx := make([]int, r), make([]int, r)
	row := 0
	for ch := range channels {
		clear(kidx)
		for {
			clear(lidx[:last])
			for line := 0; ; line++ {
				l := colLine{row: row, line: line, ch: ch, kLast: kidx[last], ok: true}
				for d := range last {
					p := lidx[d]*stride[d] - padB[d] + kidx[d]*dil[d]
					if p < 0 || p >= space[d] {
						l.ok = false
						break
					}
					l.base += p * st[d]
				}
				f(l)
				if !odometer(lidx[:last], lines[:last]) {
					break
				}
			}
			row++
			if !odometer(kidx, k) {
				break
			}
		}
	}
}

func odometer(idx, shape []int) bool {
	for d := len(idx) - 1; d >= 0; d-- {
		idx[d]++
		if idx[d] < shape[d] {
			return true
		}
		idx[d] = 0
	}
	return false
}
