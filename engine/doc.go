// Package engine is xfer's inference interpreter over a model.Model.
//
// It runs the ONNX operators of a model's layers in float32 (int64 for shape
// arithmetic), batch first, with ONNX semantics for the model's opset: each
// node resolves to the highest implemented version of its op not above
// Model.Opset (0 means model.DefaultOpset). Training (package finetune,
// gorgonia) is checked against this engine; the engine is a separate float32
// interpreter because ONNX semantics (asymmetric pads, auto_pad, groups,
// dilations, int64 shape arithmetic, opset-dependent attributes) and the
// speed target are out of gorgonia's reach.
//
// # Use
//
//	s, err := engine.New(m)   // validates m, infers shapes, plans once
//	y, err := s.Predict(x)    // one input, one output
//	outs, err := s.Run(map[string]*model.Tensor{"input": x})
//
// New plans the graph in layer order then node order (the order model.Validate
// guarantees to be topological), fuses MatMul or Gemm followed by a bias Add
// and an activation into one step (and the activation that alone reads a
// Conv's output into the Conv), transforms the constant weights of 3x3
// stride-1 convolutions for Winograd F(2x2, 3x3) once, and resolves every op
// to its kernel. Run
// checks the inputs against the graph inputs (a -1 dim, such as the batch, is
// free), runs the steps, and returns fresh tensors: nothing returned aliases
// the Session's buffers or the caller's inputs.
//
// # Invariants
//
//   - Inputs are never modified. Params and consts of the model are read in
//     place, not copied: the model must not be modified while a Session built
//     from it is in use.
//   - A Session recycles the storage of intermediate values: a value's
//     buffer goes back to the session's arena after its last reader (and
//     its last view, such as a Reshape's output), and a later output takes
//     the smallest free buffer that holds it. A session so keeps about its
//     largest working set between runs, not every value of the graph.
//     Kernels write every element of their outputs; with the environment
//     variable XFER_ENGINE_POISON=1 (PoisonEnv) every recycled buffer is
//     filled with NaN first, and the conformance suite runs so.
//   - Run is safe to call from several goroutines (runs are serialised).
//   - Matrix products go through BLAS (package internal/blas32, shared
//     with finetune): OpenBLAS through cgo by default, gonum's pure-Go BLAS
//     when built with the tag xfer_purego or without cgo. The engine owns
//     the parallelism: large products and fused dense layers are split into
//     one block of rows (or columns) per thread (see SetThreads), each block
//     calling a single-threaded OpenBLAS. The split depends only on sizes
//     and the thread count, so results are deterministic for a fixed thread
//     count. On an AVX-512 CPU where
//     OpenBLAS chose AVX2 kernels and OPENBLAS_CORETYPE is unset,
//     internal/blas32 switches OpenBLAS to its SkylakeX kernels at start-up
//     (BLASCore names the kernels in use).
//   - On a CPU with AVX-512 (cgo build), fused dense layers skip BLAS: New
//     packs each weight (up to 16M floats) into 32-column panels and a C
//     kernel computes 12x32 tiles in registers (internal/kernels); every
//     output is summed in the same order whatever the split, so these
//     layers give the same bits for any thread count, and threads take
//     chunks of rows as they free up. Rows of one sample (batch 1) still go
//     to OpenBLAS's sgemv.
//   - Element-wise activations, exp, tanh and sigmoid, the fused dense
//     product and the product splitter are package internal/kernels, shared
//     with finetune: float32 polynomial kernels accurate to a few ulp, not
//     math.Exp on float64. The bias and activation of a fused dense layer
//     run in vectorised C in the same cgo call as the product, with the
//     same bits as the Go kernels.
package engine
