package engine

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// padKernel is Pad. Before opset 11 (fromInputs false) pads and the
// constant value are attributes; from 11 they are inputs 1 and 2, and from
// 18 an optional input 3 names the axes the pads apply to. pads lists the
// begin pads of every (chosen) axis then the end pads; negative pads crop.
// Modes: constant, reflect (mirror without repeating the edge), edge.
func padKernel(fromInputs bool) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		mode := s.node.AttrString("mode", "constant")
		var pads []int64
		var cf float32
		var ci int64
		if !fromInputs {
			pads = s.node.AttrInts("pads", s.node.AttrInts("paddings", nil))
			cf = s.node.AttrFloat("value", 0)
		} else {
			pt, err := s.need(1)
			if err != nil {
				return fmt.Errorf("pads: %w", err)
			}
			if pads, err = ints(pt); err != nil {
				return fmt.Errorf("pads: %w", err)
			}
			if cv := s.opt(2); cv != nil && numel(cv.Shape) > 0 {
				if cv.DType != x.DType {
					return fmt.Errorf("constant_value has dtype %v, data %v", cv.DType, x.DType)
				}
				if isInt(x) {
					ci = cv.I64[0]
				} else {
					cf = cv.F32[0]
				}
			}
		}
		axes := make([]int, r)
		for i := range axes {
			axes[i] = i
		}
		if at := s.opt(3); fromInputs && s.opset >= 18 && at != nil {
			a, err := ints(at)
			if err != nil {
				return fmt.Errorf("axes: %w", err)
			}
			axes = axes[:0]
			for _, v := range a {
				ax, err := model.NormAxis(v, r)
				if err != nil {
					return err
				}
				axes = append(axes, ax)
			}
		}
		if len(pads) != 2*len(axes) {
			return fmt.Errorf("pads %v has %d entries, want %d for %d axes", pads, len(pads), 2*len(axes), len(axes))
		}
		pb, pe := make([]int, r), make([]int, r)
		for i, ax := range axes {
			pb[ax], pe[ax] = int(pads[i]), int(pads[i+len(axes)])
		}
		shape := make([]int, r)
		for d := range r {
			shape[d] = x.Shape[d] + pb[d] + pe[d]
			if shape[d] < 0 {
				return fmt.Errorf("pads %v crop more than input %v has", pads, x.Shape)
			}
			if mode != "constant" && x.Shape[d] == 0 && shape[d] > 0 {
				return fmt.Errorf("%s padding of an empty axis", mode)
			}
		}
		switch mode {
		case "constant", "reflect", "edge":
		default:
			return fmt.Errorf("engine: %w: Pad mode %q (supported: constant, reflect, edge)", model.ErrUnsupported, mode)
		}
		setLike(s.out[0], x, shape)
		if isInt(x) {
			pad(s.out[0].I64, x.I64, x.Shape, shape, pb, mode, ci)
		} else {
			pad(s.out[0].F32, x.F32, x.Shape, shape, pb, mode, cf)
		}
		return nil
	}
}

func pad[T float32 | int64](dst, src []T, in, out, pb []int, mode string, cv T) {
	r := len(in)
	ist := strides(in)
	idx := make([]int, r)
	if len(dst) == 0 {
		return
	}
	for o := range dst {
		off, inside := 0, true
		for d := range r {
			p := idx[d] - pb[d]
			n := in[d]
			if p < 0 || p >= n {
				switch mode {
				case "constant":
					inside = false
				case "edge":
					p = min(max(p, 0), n-1)
				case "reflect":
					p = reflect(p, n)
				}
			}
			if !inside {
				break
			}
			off += p * ist[d]
		}
		if inside {
			dst[o] = src[off]
		} else {
			dst[o] = cv
		}
		odometer(idx, out)
	}
}

// reflect maps p into [0, n) by mirroring at the edges without repeating
// them (numpy's "reflect"), periodically for pads wider than the axis.
func reflect(p, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	p %= period
	if p < 0 {
		p += period
	}
	if p >= n {
		p = period - p
	}
	return p
}
