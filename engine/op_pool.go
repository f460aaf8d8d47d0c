package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// poolKernel is MaxPool (isMax) or AveragePool on X [N, C, D1..Dk]:
// kernel_shape, strides, pads, auto_pad, ceil_mode and dilations as in
// windowFor. MaxPool takes the max of the taps inside the input.
// AveragePool divides the sum of the taps inside the input by their count,
// or with count_include_pad=1 by the count of taps inside the padded input
// (taps a ceil_mode window puts beyond the end padding never count). The
// optional Indices output of MaxPool is not supported.
func poolKernel(isMax bool) kernel {
	return func(s *step) error {
		x, err := s.needF32(0)
		if err != nil {
			return err
		}
		if len(s.outs) > 1 && s.outs[1] >= 0 {
			return fmt.Errorf("engine: %w: MaxPool Indices output", model.ErrUnsupported)
		}
		r := len(x.Shape)
		if r < 3 {
			return fmt.Errorf("X %v must have rank >= 3", x.Shape)
		}
		ks := s.node.AttrInts("kernel_shape", nil)
		if len(ks) != r-2 {
			return fmt.Errorf("kernel_shape %v does not fit X %v", ks, x.Shape)
		}
		k := make([]int, len(ks))
		for i, v := range ks {
			k[i] = int(v)
		}
		if s.node.AttrInt("storage_order", 0) != 0 {
			return fmt.Errorf("engine: %w: storage_order 1", model.ErrUnsupported)
		}
		g, err := windowFor(s.node, x.Shape[2:], k, s.node.AttrInt("ceil_mode", 0) != 0)
		if err != nil {
			return err
		}
		includePad := s.node.AttrInt("count_include_pad", 0) != 0
		y := setF32(s.out[0], append([]int{x.Shape[0], x.Shape[1]}, g.out...))
		planes := x.Shape[0] * x.Shape[1]
		inSize, outSize := numel(g.in), numel(g.out)
		sd := len(k)
		ist := strides(g.in)
		oidx, kidx := make([]int, sd), make([]int, sd)
		lo, hi, cnt := make([]int, sd), make([]int, sd), make([]int, sd)
		if sd == 2 && isMax {
			cv := conv2D(g)
			parallel(planes, parts(planes*outSize*k[0]*k[1], planes), func(lo, hi int) {
				kernels.MaxPool(cv, x.F32, y, lo, hi)
			})
			return nil
		}
		if sd == 2 {
			cols := poolCols(g)
			parallel(planes, parts(planes*outSize*k[0]*k[1], planes), func(lo, hi int) {
				for p := lo; p < hi; p++ {
					pool2D(y[p*outSize:(p+1)*outSize], x.F32[p*inSize:(p+1)*inSize], g, cols, isMax, includePad)
				}
			})
			return nil
		}
		for p := range planes {
			xp := x.F32[p*inSize : (p+1)*inSize]
			yp := y[p*outSize : (p+1)*outSize]
			clear(oidx)
			for o := range yp {
				// Per dim: window start, and the padded-window tap count.
				padded := 1
				for d := range sd {
					lo[d] = oidx[d]*g.stride[d] - g.padB[d]
					end := min(lo[d]+(k[d]-1)*g.dil[d]+1, g.in[d]+g.padE[d])
					cnt[d] = (end - lo[d] + g.dil[d] - 1) / g.dil[d]
					hi[d] = end
					padded *= cnt[d]
				}
				acc := float32(0)
				if isMax {
					acc = float32(math.Inf(-1))
				}
				inside := 0
				clear(kidx)
				for {
					off, ok := 0, true
					for d := range sd {
						q := lo[d] + kidx[d]*g.dil[d]
						if q < 0 || q >= g.in[d] || q >= hi[d] {
							ok = false
							break
						}
						off += q * ist[d]
					}
					if ok {
						v := xp[off]
						if isMax {
							if v > acc || v != v {
								acc = v
							}
						} else {
							acc += v
						}
						inside++
					}
					if !odometer(kidx, cnt) {
						break
					}
				}
				switch {
				case isMax:
				case includePad:
					acc /= float32(padded)
				case inside > 0:
					acc /= float32(inside)
				}
				yp[o] = acc
				odometer(oidx, g.out)
			}
		}
		return nil
	}
}

// globalPoolKernel is GlobalMaxPool (isMax) or GlobalAveragePool: X [N, C,
// D...] to [N, C, 1...].
func globalPoolKernel(isMax bool) kernel {
	return func(s *step) error {
		x, err := s.needF32(0)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		if r < 2 {
			return fmt.Errorf("X %v must have rank >= 2", x.Shape)
		}
		shape := []int{x.Shape[0], x.Shape[1]}
		for range r - 2 {
			shape = append(shape, 1)
		}
		y := setF32(s.out[0], shape)
		size := numel(x.Shape[2:])
		for p := range y {
			plane := x.F32[p*size : (p+1)*size]
			if isMax {
				m := float32(math.Inf(-1))
				for _, v := range plane {
					if v > m || v != v {
						m = v
					}
				}
				y[p] = m
				continue
			}
			var sum float64
			for _, v := range plane {
				sum += float64(v)
			}
			y[p] = float32(sum / float64(size))
		}
		return nil
	}
}

// poolTaps returns, for a window starting at lo on an axis of size n with
// k taps dilated by d and the end padding pe: the first and last+1 tap
// index inside the input, and the tap count inside the padded input.
func poolTaps(lo, n, k, d, pe int) (t0, t1, padded int) {
	end := min(lo+(k-1)*d+1, n+pe)
	padded = (end - lo + d - 1) / d
	t0 = 0
	if lo < 0 {
		t0 = (-lo + d - 1) / d
	}
	t1 = padded
	if last := min(end, n); lo+(t1-1)*d >= last {
		t1 = max((last-lo+d-1)/d, t0)
	}
	return t0, t1, padded
}

// poolCol is one output column's window on the input's last axis: its
// start, its taps inside the input [b0, b1), its taps in the padded input.
type poolCol struct{ w0, b0, b1, padded int }

// poolCols returns the windows of g's output columns (the same for every
// row and plane).
func poolCols(g window) []poolCol {
	cols := make([]poolCol, g.out[1])
	for ow := range cols {
		w0 := ow*g.stride[1] - g.padB[1]
		b0, b1, pw := poolTaps(w0, g.in[1], g.k[1], g.dil[1], g.padE[1])
		cols[ow] = poolCol{w0, b0, b1, pw}
	}
	return cols
}

// pool2D is the 2-D case of poolKernel on one plane, with the window
// clipped to the input once per output row and column (cols: poolCols)
// instead of per tap.
func pool2D(y, x []float32, g window, cols []poolCol, isMax, includePad bool) {
	iw := g.in[1]
	dh, dw := g.dil[0], g.dil[1]
	o := 0
	for oh := range g.out[0] {
		h0 := oh*g.stride[0] - g.padB[0]
		a0, a1, ph := poolTaps(h0, g.in[0], g.k[0], dh, g.padE[0])
		for _, c := range cols {
			var acc float32
			if isMax {
				acc = float32(math.Inf(-1))
			}
			for a := a0; a < a1; a++ {
				row := x[(h0+a*dh)*iw:]
				for b := c.b0; b < c.b1; b++ {
					v := row[c.w0+b*dw]
					if isMax {
						if v > acc || v != v {
							acc = v
						}
					} else {
						acc += v
					}
				}
			}
			switch {
			case isMax:
			case includePad:
				acc /= float32(ph * c.padded)
			case (a1-a0)*(c.b1-c.b0) > 0:
				acc /= float32((a1 - a0) * (c.b1 - c.b0))
			}
			y[o] = acc
			o++
		}
	}
}
