package kernels

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// Resize's interpolation (ONNX Resize and Upsample), shared by the engine
// and training: separable, one pass per resized axis, each output index
// reading up to four input indices with weights.

// ResizeTaps are, per output index, the input indices read (clamped to the
// axis) and their weights; outside marks an index whose source coordinate
// lies outside the roi (tf_crop_and_resize), which gets the extrapolation
// value.
type ResizeTaps struct {
	Idx     []int
	W       []float64
	Outside []bool
}

// ResizeWeights computes the taps of one axis from in to out elements, as
// ONNX's reference (onnx/reference/ops/op_resize.py) does for one output
// coordinate x: the source coordinate x_ori by the transform, then, with
// base = ceil(x_ori)-1 and ratio = x_ori-base in (0, 1], the neighbours
// base, base+1 (nearest, linear) or base-1..base+2 (cubic).
func ResizeWeights(in, out int, scale float64, coord, mode, nearest string, taps int, cubicA float64, exclude bool, roiLo, roiHi float64) (ResizeTaps, error) {
	tw := ResizeTaps{Idx: make([]int, out*taps), W: make([]float64, out*taps), Outside: make([]bool, out)}
	// The reference uses the float output length scale*in for
	// align_corners and tf_crop_and_resize.
	outF := scale * float64(in)
	for x := range out {
		xf := float64(x)
		var xo float64
		switch coord {
		case "half_pixel":
			xo = (xf+0.5)/scale - 0.5
		case "pytorch_half_pixel":
			xo = -0.5
			if outF > 1 {
				xo = (xf+0.5)/scale - 0.5
			}
		case "align_corners":
			if outF != 1 {
				xo = xf * float64(in-1) / (outF - 1)
			}
		case "asymmetric":
			xo = xf / scale
		case "tf_half_pixel_for_nn":
			xo = (xf + 0.5) / scale
		case "tf_crop_and_resize":
			if outF == 1 {
				xo = (roiHi - roiLo) * float64(in-1) / 2
			} else {
				xo = xf * (roiHi - roiLo) * float64(in-1) / (outF - 1)
			}
			xo += roiLo * float64(in-1)
			if xo < 0 || xo > float64(in-1) {
				tw.Outside[x] = true
				continue
			}
		default:
			return tw, fmt.Errorf("%w: coordinate_transformation_mode %q", model.ErrUnsupported, coord)
		}
		base := math.Ceil(xo) - 1
		ratio := xo - base
		var c [4]float64
		switch mode {
		case "nearest":
			up := false
			if ratio == 1 {
				up = true
			} else {
				switch nearest {
				case "round_prefer_floor":
					up = ratio > 0.5
				case "round_prefer_ceil":
					up = ratio >= 0.5
				case "floor":
				case "ceil":
					up = true
				}
			}
			if up {
				c[1] = 1
			} else {
				c[0] = 1
			}
		case "linear":
			c[0], c[1] = 1-ratio, ratio
		case "cubic":
			a := cubicA
			r1, r2 := ratio+1, 2-ratio
			c[0] = ((a*r1-5*a)*r1+8*a)*r1 - 4*a
			c[1] = ((a+2)*ratio-(a+3))*ratio*ratio + 1
			c[2] = ((a+2)*(1-ratio)-(a+3))*(1-ratio)*(1-ratio) + 1
			c[3] = ((a*r2-5*a)*r2+8*a)*r2 - 4*a
			base--
		}
		first := int(base)
		if exclude {
			sum := 0.0
			for t := range taps {
				if i := first + t; i < 0 || i >= in {
					c[t] = 0
				}
				sum += c[t]
			}
			if sum != 0 {
				for t := range taps {
					c[t] /= sum
				}
			}
		}
		for t := range taps {
			tw.Idx[x*taps+t] = min(max(first+t, 0), in-1)
			tw.W[x*taps+t] = c[t]
		}
	}
	return tw, nil
}

// ResizeAxis resizes the middle axis of src [outer, in, inner] into dst
// [outer, out, inner] with the taps of tw (weights rounded to T first).
func ResizeAxis[T Floats](dst, src []T, outer, in, out, inner int, tw ResizeTaps, taps int, extrap T) {
	for o := range outer {
		s := src[o*in*inner : (o+1)*in*inner]
		for x := range out {
			d := dst[(o*out+x)*inner : (o*out+x+1)*inner]
			if tw.Outside[x] {
				for i := range d {
					d[i] = extrap
				}
				continue
			}
			clear(d)
			for t := range taps {
				w := T(tw.W[x*taps+t])
				if w == 0 {
					continue
				}
				row := s[tw.Idx[x*taps+t]*inner:]
				for i := range d {
					d[i] += w * row[i]
				}
			}
		}
	}
}

// ResizeAxisGrad is ResizeAxis's gradient: dsrc [outer, in, inner] (set,
// not added to) from ddst [outer, out, inner].
func ResizeAxisGrad[T Floats](dsrc, ddst []T, outer, in, out, inner int, tw ResizeTaps, taps int) {
	clear(dsrc)
	for o := range outer {
		s := dsrc[o*in*inner : (o+1)*in*inner]
		for x := range out {
			if tw.Outside[x] {
				continue
			}
			g := ddst[(o*out+x)*inner : (o*out+x+1)*inner]
			for t := range taps {
				w := T(tw.W[x*taps+t])
				if w == 0 {
					continue
				}
				row := s[tw.Idx[x*taps+t]*inner : (tw.Idx[x*taps+t]+1)*inner]
				for i, v := range g {
					row[i] += w * v
				}
			}
		}
	}
}
