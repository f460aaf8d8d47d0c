package onnx

import "errors"

// Sentinel errors, for errors.Is.
var (
	// ErrFormat reports bytes that are not a well-formed ONNX model or tensor.
	ErrFormat = errors.New("malformed ONNX")
	// ErrUnsupported reports a well-formed model using something xfer does
	// not handle (an opset, a domain, an element type, external data).
	ErrUnsupported = errors.New("unsupported ONNX feature")
)
