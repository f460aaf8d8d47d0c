// Package kernels is xfer's one set of float32 compute kernels, shared by
// inference (package engine) and training (package finetune), so that a
// model's activations get the same bits in both:
//
//   - exp.go: Exp, ExpNeg, Tanh, Sigmoid, the Cephes single-precision
//     algorithms (S. L. Moshier, Cephes Math Library, expf.c and tanhf.c):
//     range reduction plus a minimax polynomial, accurate to about 1 ulp
//     and several times faster than math.Exp on float64;
//   - act.go: the activation table (every element-wise op with its ONNX
//     defaults, forward and backward, float32 and float64) and bias adds;
//   - update.go: the training update loops (momentum, clipping, the
//     non-finite scan);
//   - dense.go: the fused dense layer's packing;
//   - conv.go: the engine's convolution kernels: depthwise 2-D convolution
//     and 2-D max pooling (over zero- or -Inf-padded phase planes, so that
//     every tap runs over a whole plane; on AVX-512 a 3x3 depthwise
//     convolution reads the input rows directly, avx512.h), 2-D im2col,
//     the bias + activation epilogue of a convolution's rows, and a fused
//     residual's add + activation;
//   - winograd.go: Winograd F(2x2, 3x3) transforms for 3x3 stride-1
//     convolutions;
//   - pointwise.go: a convolution's product W @ X with its bias and
//     activation in the same pass (1x1 convolutions on X as it is, others
//     on im2col or Winograd matrices), on weights packed once;
//   - gemm.go: the one matrix-product splitter (Split, with the thread
//     count passed in by the caller) over internal/blas32.
//
// Each Go loop has a vectorised C twin beside it (act.h, dense.h, conv.h,
// winograd.h, pointwise.h, avx512.h, bound in
// kernels_cgo.go), compiled without FMA contraction so that it returns the
// Go loop's bits, NaN payloads included (act_test.go compares them on
// special and random values; pointwise.h's products use fused
// multiply-adds, which PointwiseGo computes through float64 and can round
// twice, so there the test allows a few ulp); the Go loops alone run with the build tag
// xfer_purego or without cgo. The results are part of xfer's
// reproducibility contract: changing an operation here changes trained
// weights and predictions in their last bits.
//
// Nothing here keeps global state other than the CPU's feature level: the
// callers own their thread counts.
package kernels
