// Package keras reads Keras models into model.Model.
//
// ReadFile handles the legacy HDF5 full save (root attribute model_config
// plus group model_weights) written by Keras 2.2 to 2.15 (standalone and
// tf.keras) and by Keras 3's legacy .h5 writer; weights-only HDF5 files
// (save_weights, legacy layout or Keras 3's layers/<name>/vars/<i>) together
// with a JSON config (Options.ConfigPath); and Keras 3's .keras zip
// (config.json, metadata.json, model.weights.h5).
//
// Every file is untrusted: HDF5 guards live in internal/hdf5 (no links, no
// external or virtual storage, shapes checked against stored bytes); this
// package reads the model's graph (layers, calls, nested models, shared
// layers, operation nodes) and the stored weights, and package layers reads
// each layer's config (layers.ReadKeras: known classes, sane values, every
// weight's shape the one the config implies). Legacy weights are read in
// the order of each layer's weight_names attribute, never by rebuilding
// names; Keras 3 weights (layers/<path>/vars/<i>) are found by Keras 3's own
// save path, the snake-case class name with a counter ("dense", "dense_1"),
// which is not the layer name in general. A file holding weights for layers
// the config does not have is refused (a config that does not belong to a
// weights-only file).
//
// libhdf5 itself can crash the process (SIGSEGV) on some corrupted HDF5
// object headers (see internal/hdf5); truncated and non-HDF5 files are
// refused cleanly. No Go code can recover from such a crash, and whether one
// happens depends on the reading process's heap, so probing a file in
// another process first is no guarantee. Library callers that read untrusted
// files must call ReadFile in a child process: formats.Read with
// Options.IsolateHDF5 does (the child sends the model back in xfer's native
// encoding), and the xfer command reads every Keras file that way.
//
// The result follows package model's conventions: one model.Layer per Keras
// layer (a Functional model's InputLayers included, a Sequential model's
// InputLayer not), Layer.Config the layer's Keras config object as read,
// Param.Role the Keras weight name, Param.Init the config's initializer (a
// custom initializer's name is kept as is). Keras semantics that changed
// between versions (hard_sigmoid, LeakyReLU's alpha/negative_slope) are
// resolved with the file's keras_version.
package keras
