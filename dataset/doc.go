// Package dataset loads the data sets xfer trains and evaluates on.
//
// A data set is a Set: inputs X (batch first, float32) and labels Y (one
// float32 per example: a class index for classification, a value for
// regression). Two sources are understood, named by a spec string:
//
//   - "fashion-mnist:A", "fashion-mnist:B", with an optional split suffix
//     ":train" (the default), ":valid" or ":test": the splits of Géron's
//     chapter 11 notebook (ageron/handson-ml2, 11_training_deep_neural_networks);
//   - "npy:X.npy,Y.npy": a user's own arrays in NumPy .npy files.
//
// The splits follow the notebook exactly: the validation set is the first
// 5,000 training images, the rest are training; pixels are divided by 255;
// task A keeps the 8 classes other than sandal (5) and shirt (6) and moves
// labels 7, 8, 9 to 5, 6, 7; task B is sandal vs shirt with label 1.0 for
// shirt, and its training set is its first 200 images.
//
// Fashion-MNIST's IDX files (gzip-compressed or not) are looked for, in
// order, in Options.DataDir, $XFER_DATA, ~/.keras/datasets/fashion-mnist and
// /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
//
// Sets are read-only once loaded: Head and Batch never copy the whole set,
// and shuffling draws from a caller's seeded *rand.Rand.
package dataset
