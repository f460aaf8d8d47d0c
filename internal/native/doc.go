// Package native is xfer's own lossless snapshot encoding of a model.Model,
// used by the workspace to keep the current model and one snapshot per
// journal step.
//
// # Format
//
//	magic   "XFERNAT1" (8 bytes)
//	hlen    uint64, little-endian: length of the header
//	header  JSON, keys sorted, describing the model; every tensor's data is
//	        a reference {"off", "n"} into the blob
//	blob    raw little-endian float32 and int64 values
//
// Float data never passes through JSON text, so every bit (NaN payloads,
// signed zeros) survives Encode then Decode. Layer configs are kept as
// strings, byte for byte. The same model always encodes to the same bytes.
//
// Digest is the sha256 of the encoding of the model without its History: two
// models with the same digest compute the same function with the same
// trainable flags and metadata.
//
// Write and Digest stream the encoding, each tensor straight from the
// model's memory, and Read decodes a stream straight into each tensor's
// slice: a model of any size is never held twice over, as a model and as
// its encoding (Prepare gives the length before the bytes, for framing).
// The blob holds the tensors in the order the header lists them (layers in
// order; in each, params, consts, then node attributes by sorted key), and
// Read requires that order.
//
// Decode and Read trust nothing: they bound the header length by the input,
// check every blob reference against the rest of the blob before
// allocating, and return errors wrapping ErrFormat, never panic.
package native
