// Package peers finds and reads the reference files written by real peers
// (Keras) that tests compare against; never copied into the repository.
//
// The files live in ../shared/interop beside the repository root:
// shared/interop/keras (tf.keras 2 .h5 models with .dat inputs and
// predictions) and shared/interop/keras3 (Keras 3 .h5/.keras models with .npy
// inputs and predictions); each has a README describing its layout. Tests
// find them with [Interop], which walks up from the test's working directory
// and skips loudly, naming what did not run, when they are absent; [Find] is
// the same walk for callers that carry on without them (fuzz seeding, a test
// that uses whichever set is present).
//
// [ReadDat] and [ReadNPY] read the two reference formats into a
// model.Tensor, failing the test on a bad file. [KerasRuntime] finds a real
// Keras 3 runtime (skipping loudly when absent); [KerasPython.Run] runs a
// script with it and [KerasPython.Predict] has it load model files and
// predict, all in one process.
//
// This package is for tests only: it imports "testing", so only _test.go
// files may import it. It imports nothing of xfer but model and
// internal/tensorio, so any package's tests (internal/hdf5's included) can
// use it without an import cycle.
package peers
