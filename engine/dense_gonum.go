//go:build !cgo || xfer_purego

package engine

import "github.com/xferml/xfer/model"

// hasAVX512 is false in the pure-Go build: no packed product.
const hasAVX512 = false

// packParallelMin is unused without the packed product.
const packParallelMin = 0

// packTileRows is the tile height of the packed product (unused here).
const packTileRows = 12

// pack does nothing in the pure-Go build (no packed product).
func (f *fusedDense) pack(*model.Tensor) {}

// nativeAct reports whether denseBlock runs activation op itself: never in
// the pure-Go build, where fusedDense.act runs it.
func nativeAct(string) bool { return false }

// denseBlock computes rows [lo, hi) of a fused dense step: y = act(x @
// op(W) * alpha + bias).
func (f *fusedDense) denseBlock(x, w []float32, ldw int, y []float32, lo, hi int) {
	yb := y[lo*f.n : hi*f.n]
	sgemm(false, f.transB, hi-lo, f.n, f.k, f.alpha, x[lo*f.k:], f.k, w, ldw, 0, yb, f.n)
	f.finish(yb)
}
