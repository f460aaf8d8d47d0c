// Package layers builds Keras layers as model.Layer groups of ONNX nodes.
//
// It is the one place that knows how a Keras layer kind is expressed in ONNX
// semantics: the Keras importer calls it for every layer of a file, surgery
// calls it to add a head, the demo calls it to build the book's models. One
// file per layer kind. Builders take the layer's Keras config already parsed
// into Go values and return a layer whose Config is the Keras config a Keras
// writer can emit as is.
//
// Layout rules (see package model): params keep Keras's layout (Dense kernel
// [in, out]; Conv kernels [k..., in, out]); channels-last layers wrap their
// channels-first ONNX ops in Transpose nodes.
package layers
