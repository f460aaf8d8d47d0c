// Package finetune trains xfer models: it lowers a model.Model to a
// gorgonia expression graph, differentiates the loss with respect to the
// trainable params only, and updates them with Keras's optimizers and
// gradient clipping, writing the trained values into a new model.
//
// # Split execution
//
// Training splits the model at its frozen boundary (split.go): the frozen
// prefix, every node whose output depends on no trainable param and on
// nothing random in training, runs in package engine; the rest is lowered
// to gorgonia with the boundary values as its inputs. When nothing random
// is in the prefix and no augmentation changes the examples, the prefix
// runs once per example and its output is cached (features.go: in memory,
// or in a temporary file above a quarter of the memory ceiling). Before
// the engine plans the prefix, each BatchNormalization that alone reads a
// Conv there is folded into the Conv's weight and bias (prefixbn.go: frozen,
// it runs in inference mode), so the engine runs Conv and activation in one
// pass. When it
// runs at every step instead (no cache, or images decoded from a folder),
// the next batch's prefix runs on its own goroutine while the current
// batch trains (prefetch.go): the two sides share no state and each keeps
// its order of operations, so the figures are the same bits. With
// Config.WholeGraph everything is lowered to gorgonia.
//
// # Lowering
//
// Each ONNX node is lowered by its entry in registry (registry.go): one
// op_*.go file per op, holding the forward op and its gradient together,
// and every element-wise activation of internal/kernels' table that has a
// gradient. A Keras Dense (MatMul by a kernel, Add of a bias, an
// activation) becomes one fused op whose product runs in OpenBLAS; Conv
// (any rank, padding, strides, dilations, groups) is im2col plus OpenBLAS;
// the activations, softmax, element-wise arithmetic with numpy
// broadcasting, PRelu, batch and layer normalisation, pooling (ceil_mode
// included), Resize (the engine's taps, internal/kernels), reductions, the
// noise layers and the losses are xfer's own gorgonia Ops (fnOp) with
// hand-written gradients, checked against finite differences in float64
// and against PyTorch's autograd on the same graphs (ops_test.go); Gemm,
// Transpose, Reshape, Flatten and Concat are gorgonia's own.
// Noise layers (Dropout, AlphaDropout, GaussianNoise, GaussianDropout,
// RReLU) are active only in training, and not inside a nested model called
// with training=False. A BatchNormalization layer that is trainable uses
// batch statistics in training and updates its moving averages (momentum
// from its Keras config) unless Config.BNMode says otherwise; a frozen one
// runs in inference mode, as in Keras >= 2.1.3.
//
// # Losses
//
// Sparse categorical cross-entropy, binary cross-entropy and mean squared
// error, chosen from the head unless Config.Loss says: a Softmax head with
// class labels, a 1-unit Sigmoid head, anything else. With a Softmax or
// Sigmoid head the cross-entropies read its logits, as Keras's TensorFlow
// backend does in graph mode; otherwise probabilities are clipped to
// [1e-7, 1-1e-7] as Keras does.
//
// # Optimizers
//
// SGD (learning rate, momentum, Nesterov) and Adam with Keras's formulas.
// Gradients are the batch mean; then exactly one of ClipValue, ClipNorm and
// GlobalClipNorm clips them (Keras semantics); then the update. gorgonia's
// solvers are not used: their WithClip clamps after their own batch scaling,
// which is not what Keras does.
//
// # Speed
//
// The gorgonia graph is built once per batch size and its tape machine is
// run again at every step; batches are copied into the input tensors'
// backing arrays and params are updated in place, so a step allocates
// almost nothing. Matrix products go to OpenBLAS (cgo; the build tag
// xfer_purego selects gonum's pure-Go BLAS) kept single-threaded, and large
// ones are split over the engine's thread count (engine.SetThreads, default
// GOMAXPROCS) by internal/kernels' one splitter; results are bit-for-bit
// reproducible for a fixed seed and thread count. The element-wise kernels
// are internal/kernels', shared with the engine: the activation table
// (forward and backward), and with cgo their vectorised C twins (a fused
// Dense's bias and activation, the activations' gradients, the bias
// gradient, the momentum and Nesterov updates, clip-value and clip-norm
// scaling), compiled without FMA contraction so that they return the Go
// kernels' bits, NaN payloads included. BenchmarkTrainStep32 and
// bench/train_vs_torch.sh measure it.
//
// Train never modifies its input model.
package finetune
