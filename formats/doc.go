// Package formats recognises model files by content and dispatches reading
// and writing to the importers and exporters:
//
//	HDF5 signature "\x89HDF\r\n\x1a\n"          Keras legacy .h5   importers/keras
//	zip "PK\x03\x04" holding config.json        Keras 3 .keras     importers/keras
//	"XFERNAT1"                                  xfer snapshot      internal/native
//	anything else                               ONNX protobuf      importers/onnx
//
// Writing is chosen by the destination's extension: .h5 and .hdf5 (Keras
// legacy HDF5), .keras (Keras 3 zip), .onnx, and .xnat (xfer's own snapshot,
// the workspace's storage, for pipelines between xfer commands). Every
// writer is atomic.
//
// libhdf5 can crash the process (SIGSEGV) on some corrupted HDF5 files, and
// whether it does depends on the reading process's heap, so probing a file
// elsewhere first proves nothing. With Options.IsolateHDF5, Read runs the
// Keras importer in a child process (a re-execution of the running binary,
// which must call ServeChild first) that sends the model back in the native
// encoding: a crash becomes one error wrapping ErrHDF5Crash and this process
// never hands the file to libhdf5. The xfer command reads every file so.
package formats
