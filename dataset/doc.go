// Package dataset loads the data sets xfer trains and evaluates on.
//
// A data set is a Set: inputs (batch first, float32) and labels (one
// float32 per example: a class index for classification, a value for
// regression; or one-hot rows for categorical_crossentropy). Inputs are
// held in memory (X) or, for an image folder, streamed: decoded and resized
// batch by batch, with a bounded cache, so memory does not grow with the
// folder. Sources, named by a spec string (LoadSplit):
//
//   - "fashion-mnist:A", "fashion-mnist:B", with an optional split suffix
//     ":train" (the default), ":valid" or ":test": the splits of Géron's
//     chapter 11 notebook (ageron/handson-ml2, 11_training_deep_neural_networks);
//     "fashion-mnist:all" (10 classes) and "mnist", raw 0..255 pixels as
//     keras.datasets' load_data returns them, with the same splits;
//   - "images:DIR": one sub-folder per class, read with the semantics of
//     Keras's image_dataset_from_directory (LoadImages): classes in sorted
//     order, PNG/JPEG/GIF/BMP told by content, bilinear resize as
//     tf.image.resize, Keras's seeded shuffle and validation subset;
//   - "csv:FILE" with a label column (LoadCSV), "npz:FILE[:X_KEY,Y_KEY]"
//     (NumPy archives such as Keras's mnist.npz, ReadNPZ) and
//     "npy:X.npy,Y.npy" (a user's own arrays).
//
// The chapter-11 splits follow the notebook exactly: the validation set is
// the first 5,000 training images, the rest are training; pixels are
// divided by 255; task A keeps the 8 classes other than sandal (5) and
// shirt (6) and moves labels 7, 8, 9 to 5, 6, 7; task B is sandal vs shirt
// with label 1.0 for shirt, and its training set is its first 200 images.
//
// Fashion-MNIST's IDX files (gzip-compressed or not) are looked for, in
// order, in Options.DataDir, $XFER_DATA, ~/.keras/datasets/fashion-mnist and
// /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
//
// Set.Rescale is Keras's Rescaling layer applied to every batch;
// Augmentation (Keras 3's RandomFlip, RandomRotation, RandomZoom,
// RandomTranslation, RandomContrast transforms, checked against Keras's
// outputs) is applied to training batches only, before the rescaling.
//
// Every reader checks declared sizes (image headers, .npz members, .npy and
// IDX headers, CSV files) against the bytes present and the memory
// ceiling (internal/limits) before it allocates, and has a fuzz target.
//
// Sets are read-only once loaded: Head and Batch never copy the whole set,
// and shuffling draws from a caller's seeded *rand.Rand.
package dataset
