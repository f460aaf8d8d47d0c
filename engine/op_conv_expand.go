package engine

import (
	"fmt"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// expandDW is a depthwise 3x3 Conv fused into the 1x1 Conv whose output
// only it reads (MobileNetV2's expansion and depthwise layers; see
// fuseExpandDepthwise): the step computes the expansion for a band of
// rows at a time, into a buffer that stays in cache, and the depthwise
// convolution on it, instead of writing the whole expanded tensor (at
// 224x224, 96 x 112 x 112 floats per image) and reading it back.
type expandDW struct {
	node    *model.Node // the depthwise Conv's node (its window attributes)
	w, bias []float32   // its weight [M, 1, 3, 3] and bias [M] (nil: none)
	act     *kernels.Act
}

// expandBandBytes is the size of one band of the expanded tensor: the
// rows of each band are computed, then read by the depthwise taps, while
// in L2. (A variable for the tests, which make bands of a few rows.)
var expandBandBytes = 512 << 10

// expandDepthwise runs a fused step (s.dw): x [N, C, H, W] through the 1x1
// Conv (s.pw, bias in[2], activation s.act) to [N, M, H, W], then the
// depthwise Conv to y [N, M, OH, OW], band by band of output rows; the
// bands are shared between the threads. Each element gets the bits the
// two Conv steps give apart: the product's sums do not depend on which
// columns are computed together, and the band's edges are the image's
// or rows the band holds.
func expandDepthwise(s *step) error {
	x, w, err := convInputs(s)
	if err != nil {
		return err
	}
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m := w.Shape[0]
	if len(x.Shape) != 4 || w.Shape[1] != c || len(w.F32) != m*c || len(s.dw.w) != 9*m {
		return fmt.Errorf("X %v and the fused weights W %v, depthwise [%d 1 3 3] do not agree", x.Shape, w.Shape, len(s.dw.w)/9)
	}
	bias, err := convKernelBias(s, w, m)
	if err != nil {
		return err
	}
	g, err := windowFor(s.dw.node, []int{h, wd}, []int{3, 3}, false)
	if err != nil {
		return err
	}
	oh, ow, st, pt := g.out[0], g.out[1], g.stride[0], g.padB[0]
	y := setF32(s.out[0], []int{n, m, oh, ow})
	// Output rows per band: their input rows, (ob-1)*st + 3, times the
	// row of M channels fill about expandBandBytes.
	ob := max(1, ((expandBandBytes/(4*wd*m))-3)/st+1)
	ob = min(ob, oh)
	bands := (oh + ob - 1) / ob
	inRows := (ob-1)*st + 3
	inSize, bandIn, bandOut := h*wd, m*inRows*wd, m*ob*ow
	tasks := n * bands
	p := parts(n*m*(c*h*wd+9*oh*ow), tasks)
	per := bandIn + bandOut
	if cap(s.scratch) < p*per {
		s.scratch = make([]float32, p*per)
	}
	cv := conv2D(g)
	parallelBlocks(tasks, p, func(blk, lo, hi int) {
		band := s.scratch[blk*per : blk*per+bandIn]
		out := s.scratch[blk*per+bandIn : (blk+1)*per]
		for t := lo; t < hi; t++ {
			img, b := t/bands, t%bands
			o0, o1 := b*ob, min(oh, (b+1)*ob)
			// The input rows under output rows [o0, o1) inside the image.
			r0, r1 := max(0, o0*st-pt), min(h, (o1-1)*st-pt+3)
			r1 = max(r1, r0)
			rows := r1 - r0
			if rows > 0 {
				xi := x.F32[img*c*inSize+r0*wd:]
				kernels.Pointwise(m, rows*wd, c, w.F32, s.pw, xi, inSize, bias, band, rows*wd, s.act)
			}
			g := cv
			g.H, g.OH, g.PT = rows, o1-o0, r0-(o0*st-pt)
			kernels.Depthwise(g, band, s.dw.w, s.dw.bias, out, 0, m, s.dw.act)
			size := (o1 - o0) * ow
			for ch := range m {
				copy(y[((img*m+ch)*oh+o0)*ow:], out[ch*size:(ch+1)*size])
			}
		}
	})
	return nil
}
