// Package layers builds Keras layers as model.Layer groups of ONNX nodes.
//
// It is the one place that knows a Keras layer kind: one file per kind holds
// its typed spec, the builder that expresses it in ONNX semantics, the
// writer of its Keras config (when the builder is given none) and the reader
// of its Keras config and stored weights (ReadKeras, registry in
// kerasread.go). The Keras importer calls ReadKeras for every layer of a
// file, the Keras exporter calls it to check that a config still describes
// its layer, surgery calls the builders to add a head, channelslast to
// rewrite ONNX models as Keras layers, the demo to build the book's models.
// A package that needs one setting of a built layer's kept config asks here
// too, through a typed accessor beside the kind's reader (KernelPenalty,
// NoiseRate, BatchNormConfig, RReLUConfig, ConfigActivation), which reads it
// with the readers' own methods and errors (a *ConfigError naming the
// layer), and an edit that changes what a config must say asks for the new
// config (TrainableConfig, UseBiasConfig); no other package parses or sets
// a Keras layer config key.
// A builder returns a layer whose Config is the Keras config a Keras writer
// can emit as is.
//
// Layout rules (see package model): params keep Keras's layout (Dense kernel
// [in, out]; Conv kernels [k..., in, out]); channels-last layers wrap their
// channels-first ONNX ops in Transpose nodes.
package layers
