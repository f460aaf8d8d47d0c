package engine

import (
	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// The fused dense layer's product, bias and activation run in package
// internal/kernels (shared with training): through OpenBLAS, or on CPUs
// with AVX-512 through xfer's own product on weights packed at New.

// packMaxFloats bounds the weights packed per layer (64 MB of float32): the
// packed copy lives as long as the Session, beside the model's own weights.
const packMaxFloats = 16 << 20

// packParallelMin is the product size (multiply-adds) from which a packed
// product is split over threads. Measured on model A (2 vCPUs, AVX-512,
// bench/predict_vs_ort.sh): splitting its 7.7M multiply-add second layer at
// batch 256, or any of its layers at batch 32, made predictions slower
// (batch 32: 345k samples/s on one thread, 302k split over two); only the
// 60M first layer at batch 256 gains (436k to 494k samples/s).
const packParallelMin = 16_000_000

// packTileRows is the rows of one tile of the packed product.
const packTileRows = kernels.PackRows

// packRowsMin is the number of rows from which denseBlock uses the packed
// product; below it, OpenBLAS's sgemv (one row) is as fast.
var packRowsMin = 2

// pack prepares f for the packed product: w ([k,n], or [n,k] when transB)
// is copied into panels. It does nothing without AVX-512 or for very large
// weights.
func (f *fusedDense) pack(w *model.Tensor) {
	if !kernels.HasAVX512 || f.k*f.n == 0 || f.k*f.n > packMaxFloats || len(w.Shape) != 2 {
		return
	}
	f.packed = kernels.Pack(w.F32, w.Shape[1], f.k, f.n, f.transB)
}

// denseBlock computes rows [lo, hi) of a fused dense step: y = act(x @
// op(W) * alpha + bias).
func (f *fusedDense) denseBlock(x, w []float32, ldw int, y []float32, lo, hi int) {
	if hi <= lo || f.n == 0 {
		return
	}
	yb := y[lo*f.n : hi*f.n]
	if f.packed != nil && hi-lo >= packRowsMin {
		kernels.DensePacked(hi-lo, f.n, f.k, f.alpha, x[lo*f.k:], f.packed, yb, f.bias, f.act)
		return
	}
	kernels.DenseBLAS(f.transB, hi-lo, f.n, f.k, f.alpha, x[lo*f.k:], f.k, w, ldw, yb, f.n, f.bias, f.act)
}
