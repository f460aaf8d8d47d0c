// Package ort runs ONNX models through ONNX Runtime's C library, the
// reference runtime xfer checks its exports and its engine against.
//
// The library comes from the npm package onnxruntime-node (its linux x64
// build ships libonnxruntime.so); install it from the repository root with
//
//	ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save onnxruntime-node@1.30.0
//
// (ONNXRUNTIME_NODE_INSTALL=skip stops its post-install step from fetching a
// CUDA provider). Init looks for the library in $XFER_ORT_LIB, then under
// node_modules/onnxruntime-node/bin/napi-v*/linux/x64/ in the working
// directory and each of its parents, then in the executable's directory and
// each of its parents. It is loaded through
// github.com/yalue/onnxruntime_go (cgo, dlopen).
//
// Tensors cross the boundary as model.Tensor (float32 or int64).
package ort
