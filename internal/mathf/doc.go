// Package mathf holds xfer's float32 element-wise math kernels: Exp, Tanh,
// Sigmoid and ExpNeg. Inference (package engine) and training (package
// finetune) both use them, so a model's activations get the same bits in
// both.
//
// Exp and Tanh are the Cephes single-precision algorithms (S. L. Moshier,
// Cephes Math Library, expf.c and tanhf.c): range reduction plus a minimax
// polynomial, accurate to about 1 ulp on float32 and several times faster
// than math.Exp on float64. The results are part of xfer's reproducibility
// contract: changing an operation here changes trained weights and
// predictions in their last bits (engine's C activation kernels in
// engine/dense_openblas.go repeat Exp step for step and must keep the same
// bits).
package mathf
