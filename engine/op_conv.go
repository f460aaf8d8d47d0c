package engine

import (
	"fmt"
	"slices"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// convKernel is ONNX Conv on X [N, C, D1..Dk] (any k >= 1) with W [M, C/group,
// K1..Kk] and optional B [M]: pads, strides, dilations, group and auto_pad
// as in windowFor. Each (image, group) is one matrix product of the group's
// weights [M/g, C/g*K] by the im2col matrix [C/g*K, out positions]. A
// fused residual (step.sum) is added to the result, then the activation
// applied, in one pass at the end.
func convKernel(s *step) (err error) {
	if s.dw != nil {
		return expandDepthwise(s)
	}
	x, w, err := convInputs(s)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	n, c := x.Shape[0], x.Shape[1]
	m, cg := w.Shape[0], w.Shape[1]
	group := int(s.node.AttrInt("group", 1))
	if group < 1 || c%group != 0 || m%group != 0 || cg != c/group {
		return fmt.Errorf("X %v, W %v and group %d do not agree (W dim 1 must be C/group)", x.Shape, w.Shape, group)
	}
	kshape := w.Shape[2:]
	bias, err := convKernelBias(s, w, m)
	if err != nil {
		return err
	}
	g, err := windowFor(s.node, x.Shape[2:], kshape, false)
	if err != nil {
		return err
	}
	shape := append([]int{n, m}, g.out...)
	// act is the activation the convolution applies itself: after the
	// residual's add when there is one (step.sum), so not here then.
	act := s.act
	var z []float32
	if s.sum {
		zt := s.opt(3)
		if zt == nil || !slices.Equal(zt.Shape, shape) || len(zt.F32) != numel(shape) {
			return fmt.Errorf("internal error (please report): the fused residual does not have the output's shape %v", shape)
		}
		act, z = nil, zt.F32
	}
	y := setF32(s.out[0], shape)
	defer func() {
		if err == nil && s.sum { // y = s.act(y + z), split between the threads
			parallel(len(y), parts(len(y), len(y)/4096+1), func(lo, hi int) { kernels.AddAct(y[lo:hi], z[lo:hi], s.act) })
		}
	}()
	inSize, outSize, kSize := numel(g.in), numel(g.out), numel(kshape)
	mg := m / group
	if r == 4 && cg == 1 && mg == 1 {
		depthwise(x.F32, w.F32, bias, y, n, c, g, act)
		return nil
	}
	if s.hasWinograd(m, c) && r == 4 && group == 1 && kSize == 9 && allOnes(g.stride) && allOnes(g.dil) &&
		n*numel(g.out) >= 4*winogradMinCols {
		winograd(s, x.F32, bias, y, n, c, m, g, act)
		return nil
	}
	rows := cg * kSize // rows of the im2col matrix
	direct := kSize == 1 && allOnes(g.stride) && !slices.ContainsFunc(g.padB, nonZero) && !slices.ContainsFunc(g.padE, nonZero)
	if s.pw != nil && r == 4 && group == 1 && !direct && outSize >= wideCols {
		im2colBands(s, x.F32, w.F32, bias, y, n, c, m, g, act)
		return nil
	}
	// A small output plane (7x7 or 14x14 in a network's last blocks) makes
	// a narrow product that runs well below the BLAS's speed: nb images go
	// side by side into one product of about wideCols columns, whose
	// result is then scattered to the images.
	nb := 1
	if n > 1 && outSize < wideCols {
		nb = min(n, (wideCols+outSize-1)/outSize)
	}
	blocks := (n + nb - 1) / nb
	cols := nb * outSize // columns of the product
	colSize, tmpSize := 0, 0
	if !direct || nb > 1 {
		colSize = rows * cols
	}
	if nb > 1 {
		tmpSize = mg * cols
	}
	// One block of images per thread when there are several blocks: the
	// im2col and the products of a block run on one thread. A single
	// block splits its im2col by channels and its products by rows of
	// output channels (gemm) instead.
	p := parts(n*m*outSize*rows, blocks)
	per := colSize + tmpSize
	if cap(s.scratch) < p*per {
		s.scratch = make([]float32, p*per)
	}
	mul := gemm
	if p > 1 {
		mul = sgemm
	}
	block := func(blk, b int) {
		col := s.scratch[blk*per : blk*per+colSize]
		tmp := s.scratch[blk*per+colSize : (blk+1)*per]
		i0, i1 := b*nb, min(n, (b+1)*nb)
		for gi := range group {
			xAt := func(img int) []float32 { return x.F32[(img*c+gi*cg)*inSize : (img*c+(gi+1)*cg)*inSize] }
			src, ld := col, cols // the product's right-hand side
			switch {
			case direct && nb == 1:
				src, ld = xAt(i0), outSize // a 1x1 stride-1 unpadded conv reads X as it is
			case direct:
				for k := range i1 - i0 {
					xg := xAt(i0 + k)
					for ch := range cg {
						copy(col[ch*cols+k*outSize:ch*cols+(k+1)*outSize], xg[ch*inSize:(ch+1)*inSize])
					}
				}
			default:
				pi := 1 // a lone block splits its im2col by channels
				if p == 1 {
					pi = parts(rows*outSize, cg)
				}
				for k := range i1 - i0 {
					xg := xAt(i0 + k)
					parallel(cg, pi, func(lo, hi int) {
						dst, src := col[lo*kSize*cols+k*outSize:], xg[lo*inSize:hi*inSize]
						if r == 4 {
							kernels.Im2col(conv2D(g), src, hi-lo, dst, cols)
						} else {
							im2col(dst, cols, src, hi-lo, g)
						}
					})
				}
			}
			wg := w.F32[gi*mg*rows : (gi+1)*mg*rows]
			var bg []float32
			if bias != nil {
				bg = bias[gi*mg : (gi+1)*mg]
			}
			if nb == 1 {
				yg := y[(i0*m+gi*mg)*outSize : (i0*m+(gi+1)*mg)*outSize]
				if s.pw != nil {
					pointwise(mg, outSize, rows, wg, s.pw, src, ld, bg, yg, outSize, act, p == 1)
					continue
				}
				mul(false, false, mg, outSize, rows, 1, wg, rows, src, ld, 0, yg, outSize)
				kernels.RowBiasAct(mg, outSize, yg, outSize, bg, act)
				continue
			}
			ncols := (i1 - i0) * outSize
			if s.pw != nil {
				pointwise(mg, ncols, rows, wg, s.pw, src, ld, bg, tmp, cols, act, p == 1)
			} else {
				mul(false, false, mg, ncols, rows, 1, wg, rows, src, ld, 0, tmp, cols)
			}
			for k := range i1 - i0 {
				yg := y[((i0+k)*m+gi*mg)*outSize : ((i0+k)*m+(gi+1)*mg)*outSize]
				for r := range mg {
					copy(yg[r*outSize:(r+1)*outSize], tmp[r*cols+k*outSize:r*cols+(k+1)*outSize])
				}
				if s.pw == nil {
					kernels.RowBiasAct(mg, outSize, yg, outSize, bg, act)
				}
			}
		}
	}
	parallelBlocks(blocks, p, func(blk, lo, hi int) {
		for b := lo; b < hi; b++ {
			block(blk, b)
		}
	})
	return nil
}

// colBandBytes is the size of the im2col matrix im2colBands builds at a
// time: built, then multiplied, while in L2. (A variable for the tests,
// which make bands of a few rows.)
var colBandBytes = 256 << 10

// im2colBands runs a one-group 2-D Conv with packed weights (s.pw) whose
// output plane is large in bands of output rows: the im2col matrix of a
// band (about colBandBytes) is built and multiplied while in cache,
// rather than the whole plane's (ResNet-18's first Conv at 224x224: 147 x
// 12544 floats per image). The bands of all the images are shared between
// the threads. Each band's columns get the bits the whole plane's would:
// the product's sums do not depend on which columns go together.
func im2colBands(s *step, x, w, bias, y []float32, n, c, m int, g window, act *kernels.Act) {
	cv := conv2D(g)
	h, wd, oh, ow := cv.H, cv.W, cv.OH, cv.OW
	k := c * cv.KH * cv.KW
	ob := min(oh, max(1, colBandBytes/(4*k*ow)))
	bands := (oh + ob - 1) / ob
	tasks := n * bands
	p := parts(n*m*oh*ow*k, tasks)
	per := k * ob * ow
	if cap(s.scratch) < p*per {
		s.scratch = make([]float32, p*per)
	}
	parallelBlocks(tasks, p, func(blk, lo, hi int) {
		col := s.scratch[blk*per : (blk+1)*per]
		for t := lo; t < hi; t++ {
			img, b := t/bands, t%bands
			o0, o1 := b*ob, min(oh, (b+1)*ob)
			// The input rows under output rows [o0, o1) inside the image.
			r0 := max(0, o0*cv.SH-cv.PT)
			r1 := max(r0, min(h, (o1-1)*cv.SH-cv.PT+(cv.KH-1)*cv.DH+1))
			gb := cv
			gb.H, gb.OH, gb.PT = r1-r0, o1-o0, r0-(o0*cv.SH-cv.PT)
			ncol := (o1 - o0) * ow
			xi := x[img*c*h*wd:]
			for ch := range c {
				kernels.Im2col(gb, xi[ch*h*wd+r0*wd:], 1, col[ch*cv.KH*cv.KW*ncol:], ncol)
			}
			kernels.Pointwise(m, ncol, k, w, s.pw, col, ncol, bias, y[img*m*oh*ow+o0*ow:], oh*ow, act)
		}
	})
}

// pointwise is a Conv's product with its bias and activation by a packed
// weight (kernels.Pointwise): y [m, n] (row stride ldy) = act(w [m, k] @ x
// [k, n] (row stride ldx) + bias). With split (a lone block of images) the
// threads share it by panels of 32 columns, or by blocks of rows when
// there are too few panels.
func pointwise(m, n, k int, w, packed, x []float32, ldx int, bias, y []float32, ldy int, act *kernels.Act, split bool) {
	const mr, nr = kernels.PointwiseRows, kernels.PointwiseCols
	panels, rowBlocks := (n+nr-1)/nr, (m+mr-1)/mr
	p := 1
	if split {
		p = parts(m*n*k, max(panels, rowBlocks))
	}
	switch {
	case p == 1:
		kernels.Pointwise(m, n, k, w, packed, x, ldx, bias, y, ldy, act)
	case panels >= 2*p || rowBlocks < p:
		parallel(panels, min(p, panels), func(lo, hi int) {
			j0, j1 := lo*nr, min(n, hi*nr)
			kernels.Pointwise(m, j1-j0, k, w, packed, x[j0:], ldx, bias, y[j0:], ldy, act)
		})
	default:
		parallel(rowBlocks, p, func(lo, hi int) {
			r0, r1 := lo*mr, min(m, hi*mr)
			var b []float32
			if bias != nil {
				b = bias[r0:r1]
			}
			var pk []float32
			if packed != nil {
				pk = packed[r0*k:]
			}
			var wr []float32
			if w != nil {
				wr = w[r0*k : r1*k]
			}
			kernels.Pointwise(r1-r0, n, k, wr, pk, x, ldx, b, y[r0*ldy:], ldy, act)
		})
	}
}

// wideCols is the product width (output positions) below which Conv puts
// several images side by side (OpenBLAS sgemm [512 x 4608] by [4608 x n]
// on one core, CPU time: 66 GFLOP/s at n = 49, 89 at n = 392).
const wideCols = 384

// winograd runs a 3x3 stride-1 2-D convolution as Winograd F(2x2, 3x3)
// with the weight planned in s.wino: per block of images (several side by
// side when their outputs are small, as in convKernel), the input
// transform, 16 products U[k] [M, C] x V[k] [C, tiles], the output
// transform with the bias, then the activation. A lone block splits its
// transforms by channels and its products by rows between the threads.
func winograd(s *step, x, bias, y []float32, n, c, m int, g window, act *kernels.Act) {
	h, w, oh, ow := g.in[0], g.in[1], g.out[0], g.out[1]
	inSize, outSize := h*w, oh*ow
	th, tw := kernels.WinogradTiles(oh, ow)
	tiles := th * tw
	nb := 1
	if n > 1 && tiles < wideCols {
		nb = min(n, (wideCols+tiles-1)/tiles)
	}
	blocks := (n + nb - 1) / nb
	ld := nb * tiles
	vSize := 16 * c * ld
	per := vSize + 16*m*ld
	p := parts(n*m*c*tiles*16, blocks)
	if cap(s.scratch) < p*per {
		s.scratch = make([]float32, p*per)
	}
	mul := gemm
	if p > 1 {
		mul = sgemm
	}
	parallelBlocks(blocks, p, func(blk, lo, hi int) {
		v := s.scratch[blk*per : blk*per+vSize]
		prod := s.scratch[blk*per+vSize : (blk+1)*per]
		for b := lo; b < hi; b++ {
			i0, i1 := b*nb, min(n, (b+1)*nb)
			cols := (i1 - i0) * tiles
			pi, po := 1, 1
			if p == 1 {
				pi, po = parts(16*c*cols, c), parts(16*m*cols, m)
			}
			for k := range i1 - i0 {
				xi := x[(i0+k)*c*inSize : (i0+k+1)*c*inSize]
				parallel(c, pi, func(c0, c1 int) {
					kernels.WinogradInput(xi, h, w, g.padB[0], g.padB[1], th, tw, v, c, c0, c1, ld, k*tiles)
				})
			}
			for q := range 16 {
				if s.winoPW != nil {
					pointwise(m, cols, c, nil, s.winoPW[q*len(s.winoPW)/16:], v[q*c*ld:], ld, nil, prod[q*m*ld:], ld, nil, p == 1)
					continue
				}
				mul(false, false, m, cols, c, 1, s.wino[q*m*c:(q+1)*m*c], c, v[q*c*ld:], ld, 0, prod[q*m*ld:], ld)
			}
			for k := range i1 - i0 {
				yi := y[(i0+k)*m*outSize : (i0+k+1)*m*outSize]
				parallel(m, po, func(m0, m1 int) {
					kernels.WinogradOutput(prod, m, m0, m1, ld, k*tiles, bias, yi, oh, ow)
					kernels.RowBiasAct(m1-m0, outSize, yi[m0*outSize:], outSize, nil, act)
				})
			}
		}
	})
}

// hasWinograd reports whether s holds Winograd weights (planWinograd) for
// m output and c input channels, plain or packed.
func (s *step) hasWinograd(m, c int) bool {
	const mr = kernels.PointwiseRows
	return len(s.wino) == 16*m*c || s.winoPW != nil && len(s.winoPW) == 16*((m+mr-1)/mr)*mr*c
}

// depthwise runs a 2-D depthwise convolution (one filter per channel,
// group = C = M) with kernels.Depthwise, its bias and fused activation
// included, the (image, channel) planes split between the threads.
func depthwise(x, w, bias, y []float32, n, c int, g window, act *kernels.Act) {
	cv := conv2D(g)
	in, out := cv.H*cv.W, cv.OH*cv.OW
	work := n * c * out * cv.KH * cv.KW
	parallel(n*c, parts(work, n*c), func(lo, hi int) {
		for lo < hi {
			img, c0 := lo/c, lo%c
			c1 := min(c, c0+hi-lo)
			kernels.Depthwise(cv, x[img*c*in:(img+1)*c*in], w, bias, y[img*c*out:(img+1)*c*out], c0, c1, act)
			lo += c1 - c0
		}
	})
}

// convInputs returns Conv's and ConvTranspose's X and W: float tensors of
// one rank, at least 3.
func convInputs(s *step) (x, w *model.Tensor, err error) {
	if x, w, err = s.need2F32(); err != nil {
		return nil, nil, err
	}
	if r := len(x.Shape); r < 3 || len(w.Shape) != r {
		return nil, nil, fmt.Errorf("X %v and W %v must have the same rank >= 3", x.Shape, w.Shape)
	}
	return x, w, nil
}

// convKernelBias checks Conv's and ConvTranspose's kernel_shape attribute
// against W's kernel dims and returns the optional bias B, which must hold
// m values (nil when absent).
func convKernelBias(s *step, w *model.Tensor, m int) ([]float32, error) {
	kshape := w.Shape[2:]
	if ks := s.node.AttrInts("kernel_shape", nil); ks != nil {
		for i, v := range ks {
			if i >= len(kshape) || int(v) != kshape[i] {
				return nil, fmt.Errorf("kernel_shape %v does not match W %v", ks, w.Shape)
			}
		}
	}
	b := s.opt(2)
	if b == nil {
		return nil, nil
	}
	if len(b.F32) != m {
		return nil, fmt.Errorf("B %v must be [%d]", b.Shape, m)
	}
	return b.F32, nil
}

// conv2D is the kernels package's form of a 2-D window.
func conv2D(g window) kernels.Conv2D {
	return kernels.Conv2D{H: g.in[0], W: g.in[1], OH: g.out[0], OW: g.out[1], KH: g.k[0], KW: g.k[1],
		SH: g.stride[0], SW: g.stride[1], DH: g.dil[0], DW: g.dil[1], PT: g.padB[0], PL: g.padB[1]}
}

func allOnes(v []int) bool {
	for _, d := range v {
		if d != 1 {
			return false
		}
	}
	return true
}

func nonZero(v int) bool { return v != 0 }

// im2col fills col [channels*K, outSize] (row stride ld) from x
// [channels, in...]: row (ch, kernel offset), column output position;
// taps in the padding are 0.
func im2col(col []float32, ld int, x []float32, channels int, g window) {
	inSize := numel(g.in)
	last := len(g.in) - 1
	ow, sw, dw, pw, iw := g.out[last], g.stride[last], g.dil[last], g.padB[last], g.in[last]
	colLines(channels, g.k, g.out, g.in, g.stride, g.dil, g.padB, func(l colLine) {
		out := col[l.row*ld+l.line*ow : l.row*ld+(l.line+1)*ow]
		if !l.ok {
			clear(out)
			return
		}
		// Taps p0 + o*sw inside [0, iw) for o in [lo, hi).
		p0 := l.kLast*dw - pw
		lo, hi := 0, ow
		if p0 < 0 {
			lo = min((-p0+sw-1)/sw, ow)
		}
		if last := p0 + (ow-1)*sw; last >= iw {
			hi = max(min((iw-p0+sw-1)/sw, ow), lo)
		}
		if hi <= lo {
			// Every tap of the row is in the padding (a begin pad beyond
			// the output: pytorch-converted test_Conv1d_pad2size1).
			lo, hi = 0, 0
		}
		clear(out[:lo])
		clear(out[hi:])
		if hi > lo {
			src := x[l.ch*inSize+l.base+p0+lo*sw:]
			if sw == 1 {
				copy(out[lo:hi], src[:hi-lo])
			} else {
				for o := range hi - lo {
					out[lo+o] = src[o*sw]
				}
			}
		}
	})
}
