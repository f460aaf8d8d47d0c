// Package keras writes model.Model as Keras files: WriteH5 writes the
// legacy HDF5 full save, WriteKeras the Keras 3 .keras zip. Both are atomic
// (internal/atomicfile: a failed write leaves no file) and deterministic
// (the same model gives the same bytes: HDF5 objects carry no timestamps,
// zip members have fixed times, JSON keys keep the order they were read in).
//
// # Which Keras each file is for
//
// Keras itself cannot be installed on the build machines (no pip), so the
// files are written to match, attribute by attribute, the Keras-written
// fixtures under ../shared/interop/keras (tf.keras 2.3-2.13 .h5) and
// ../shared/interop/keras3 (Keras 3.16 .h5 and .keras), and are checked with
// Debian's h5py and Python's zipfile and json, and against our own importer,
// not with keras.models.load_model. The tests show: for the files tf.keras
// 2.13.1 wrote, the same objects, attributes (HDF5 string types and
// character sets included) and model_config string, byte for byte, except
// our xfer_history attribute and the first layer's batch_input_shape that
// tf.keras repeats from the InputLayer; for Keras 3.16's .keras files, the
// same zip members and header fields, the same model.weights.h5 objects and
// attributes, and the same config.json string except Keras's
// shared_object_id (Python object ids) and InputLayer's optional (a
// key of recent Keras 3 releases only, left out so that older ones load the
// file).
//
//   - .h5 is always written in ONE dialect, tf.keras 2.13's: keras_version
//     "2.13.1", backend "tensorflow", layer dtypes as policy-name strings,
//     initializers/regularizers/constraints as {"module", "class_name",
//     "config", "registered_name"}, InputLayer with batch_input_shape,
//     weight_names "<layer>/<weight>:0", the top_level_model_weights group.
//     A model read from a Keras 3 file is converted to it: its DTypePolicy
//     objects become names and config keys tf.keras 2.13's constructors
//     would refuse (quantization_config, the variance-scaling initializers'
//     input_axes/output_axes, InputLayer's optional...) are dropped; Keras 3's
//     LeakyReLU negative_slope becomes alpha. Why one dialect: the legacy .h5
//     is the format for tf.keras 2 users and Keras 3's legacy loader reads
//     the tf.keras 2 dialect (it maps batch_input_shape to batch_shape
//     itself), whereas tf.keras 2 cannot read Keras 3's dialect (DTypePolicy
//     objects, unknown keyword arguments). One dialect also means one thing
//     to test and a file that does not change meaning with its origin.
//   - .keras is Keras 3's layout: config.json as serialize_keras_object
//     writes it (module, class_name, config, registered_name, build_config;
//     Keras 3 inbound_nodes with __keras_tensor__ args for Functional
//     models), metadata.json, model.weights.h5 with layers/<path>/vars/<i>.
//     <path> is what Keras 3's saving_lib uses: the snake-case class name with
//     a per-class counter ("dense", "dense_1", "batch_normalization"), not
//     the layer name. tf.keras 2 configs are converted the other way
//     (DTypePolicy objects, batch_shape, negative_slope).
//
// Keras loads a legacy Sequential .h5 reliably only when its config begins
// with an explicit InputLayer (Keras 3 in particular), so WriteH5 always
// writes one, built from the model's graph input; a Sequential model's
// layer_names omits it, as Keras's do. Functional models get an InputLayer
// per graph input (the model's own InputLayer layers, or added ones).
//
// Trainable flags are each layer config's "trainable"; initializers stay in
// the configs. The model's history travels as the root attribute
// xfer_history (.h5) or the metadata.json key xfer_history (.keras), a JSON
// array of model.Event; Keras ignores both.
//
// # Keras layers only
//
// Every layer is written from its Keras config (Layer.Config), with its name
// and trainable flag updated and its weights in Keras's order for the kind
// (Dense and Conv kernel, bias; DepthwiseConv2D depthwise_kernel, bias;
// BatchNormalization gamma, beta, moving_mean, moving_variance, those
// present; PReLU alpha). Package layers writes the config of every layer it
// builds. A layer without one (read from ONNX) is refused with an error
// naming it: package channelslast rewrites such a model as Keras layers
// (formats.ToKeras does for xfer's commands), channels-first ONNX models
// included. Before a layer is written its config is reconciled with its
// nodes (reconcile.go): the layer is read back from the config and weights
// about to be written (layers.ReadKeras) and run beside the original on a
// seeded random input; a config that no longer describes the layer (an edit
// of the nodes its config did not follow) is refused with ErrConfigDrift
// naming the layer. A functional model's layers are written in Keras's
// model.layers order (see plan.go, kerasOrder), which Keras's loaders give
// the weights by.
package keras
