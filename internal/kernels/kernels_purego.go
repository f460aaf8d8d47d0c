//go:build !cgo || xfer_purego

package kernels

import "github.com/xferml/xfer/internal/blas32"

// Without cgo (or with xfer_purego) the Go loops do all the work: the C
// twins below report false and the callers fall back to Go.

// NativeAct reports whether the C kernels run activation a: never here.
func NativeAct(Act) bool { return false }

func biasActC(Act, int, int, []float32, int, []float32, []float32, int) bool { return false }

func actBackwardC(Act, []float32, []float32, []float32, []float32) bool { return false }

func sumRowsC([]float32, []float32) bool { return false }

func momentumC([]float32, []float32, []float32, float32, float32, bool) bool { return false }

func clipValueC([]float32, float32) bool { return false }

func scaleC([]float32, float32) bool { return false }

func anyNonFiniteC([]float32) (found, ok bool) { return false, false }

// HasAVX512 is false in the pure-Go build: no packed product.
const HasAVX512 = false

// DenseBLAS is c = f(a @ op(b) * alpha + bias) for a [m,k] (row stride
// lda), b [k,n] ([n,k] when transB; row stride ldb), c [m,n] (row stride
// ldc), through gonum's BLAS then Go loops.
func DenseBLAS(transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32, act *Act) {
	if m == 0 || n == 0 {
		return
	}
	blas32.Sgemm(false, transB, m, n, k, alpha, a, lda, b, ldb, 0, c, ldc)
	finishRows(m, n, c, ldc, bias, act)
}

// DensePacked is never called in the pure-Go build (HasAVX512 is false).
func DensePacked(m, n, k int, alpha float32, a, packed, c []float32, bias []float32, act *Act) {
	panic("kernels: DensePacked without AVX-512")
}

func depthwiseC(Conv2D, []float32, []float32, []float32, []float32, int, int, *Act) bool {
	return false
}

func rowBiasActC(int, int, []float32, int, []float32, *Act) bool { return false }

func im2colC(Conv2D, []float32, int, []float32, int) bool { return false }

func winogradInputC([]float32, int, int, int, int, int, int, []float32, int, int, int, int, int) bool {
	return false
}

func winogradOutputC([]float32, int, int, int, int, int, []float32, []float32, int, int) bool {
	return false
}

func maxPoolC(Conv2D, []float32, []float32, int, int) bool { return false }

func pointwiseC(int, int, int, []float32, []float32, int, []float32, []float32, int, *Act) bool {
	return false
}

func addActC([]float32, []float32, *Act) bool { return false }
