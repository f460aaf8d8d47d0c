package onnx

import "errors"

// Sentinel errors, for errors.Is.
var (
	// ErrFormat reports bytes that are not a well-formed ONNX model or tensor.
	ErrFormat = errors.New("malformed ONNX")
)
