// Package hdf5 reads (and, in write*.go, writes) HDF5 files through cgo over
// the system libhdf5. It is the only package of xfer that touches libhdf5.
//
// The reader treats every file as untrusted, in the manner of Keras's own
// loader (keras-team/keras:keras/src/saving/saving_lib.py): soft and external
// links are refused, external and virtual datasets are refused, dataset shapes
// are checked against the bytes the file really stores before anything is
// allocated, and only floating-point datasets are read (converted to float32).
// libhdf5's automatic error-stack printing is switched off: failures come back
// as Go errors wrapping ErrFormat or model.ErrUnsupported.
//
// String attributes are read by a small C helper of this package, because
// gonum/hdf5's Attribute.Read of string arrays passes Go pointers to Go
// pointers to C. Fixed-length strings are read as raw bytes; variable-length
// strings are read into C memory that libhdf5 allocates and this package
// reclaims (H5Dvlen_reclaim).
//
// Every call into libhdf5 holds the package mutex (writers use lockHDF5 and
// unlockHDF5 too), so Files may be used from several goroutines; each C
// helper silences libhdf5's per-thread error printing before its calls.
//
// Limitation: libhdf5 1.10 (Debian bookworm) can crash the process (SIGSEGV)
// on some maliciously or randomly corrupted object headers of an otherwise
// well-formed file; h5py, and so Keras, share this. Truncated files and
// non-HDF5 data are detected and refused. Reading untrusted files in a
// separate process is the only complete defence, and the reading itself must
// happen there: these crashes read memory out of bounds, so whether one
// happens depends on the process's heap, and a process that survived a file
// does not prove that another will (package formats reads Keras files in a
// child process for the xfer command).
package hdf5
