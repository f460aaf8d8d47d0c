package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// Sentinel errors, for errors.Is.
var (
	// ErrFormat reports a file that is not a well-formed IDX or .npy file.
	ErrFormat = errors.New("dataset: bad format")
	// ErrNotFound reports a data set that is in none of the places looked at.
	ErrNotFound = errors.New("dataset: not found")
	// ErrSpec reports a data spec Load does not understand (a usage error).
	ErrSpec = errors.New("dataset: bad spec")
	// ErrNotFinite reports a NaN or infinite value in a user's data.
	ErrNotFinite = errors.New("dataset: not a finite number")
)

// idxMaxElements bounds the element count an IDX header may announce
// (Fashion-MNIST's training images are 47,040,000 bytes).
const idxMaxElements = 1 << 31

// IDX is a decoded IDX file (the format of MNIST and Fashion-MNIST,
// http://yann.lecun.com/exdb/mnist/): unsigned bytes with a shape.
type IDX struct {
	Shape []int
	Data  []uint8
}

// DecodeIDX reads an IDX file of unsigned bytes (type code 0x08) from r.
// The data may be gzip-compressed (detected by its magic bytes). Other IDX
// element types are reported with model.ErrUnsupported.
func DecodeIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("dataset: idx: gzip: %w: %w", ErrFormat, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("dataset: idx: the file ends before its 4-byte header (empty or truncated): %w: %w", ErrFormat, err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("dataset: idx: magic % x does not start with two zero bytes: %w", magic, ErrFormat)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("dataset: idx: element type 0x%02x (only unsigned bytes, 0x08, are read): %w", magic[2], model.ErrUnsupported)
	}
	rank := int(magic[3])
	if rank == 0 {
		return nil, fmt.Errorf("dataset: idx: rank 0: %w", ErrFormat)
	}
	shape := make([]int, rank)
	n := 1
	for i := range shape {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("dataset: idx: reading dim %d of %d (truncated?): %w: %w", i, rank, ErrFormat, err)
		}
		shape[i] = int(d)
		if d != 0 && n > idxMaxElements/int(d) {
			return nil, fmt.Errorf("dataset: idx: shape %v exceeds %d elements: %w", shape[:i+1], idxMaxElements, ErrFormat)
		}
		n *= int(d)
	}
	// The bytes become float32 values: four times the data.
	if err := limits.Check(fmt.Sprintf("dataset: idx: shape %v", shape), int64(n), 5); err != nil {
		return nil, err
	}
	// ReadAll on a limited reader grows with the data actually present, so a
	// header announcing more than the file holds cannot force a huge allocation.
	data, err := io.ReadAll(io.LimitReader(br, int64(n)+1))
	if err != nil {
		return nil, fmt.Errorf("dataset: idx: reading %d data bytes (truncated or damaged?): %w: %w", n, ErrFormat, err)
	}
	if len(data) < n {
		return nil, fmt.Errorf("dataset: idx: shape %v needs %d bytes, file has %d: %w", shape, n, len(data), ErrFormat)
	}
	if len(data) > n {
		return nil, fmt.Errorf("dataset: idx: trailing data after %d bytes of shape %v: %w", n, shape, ErrFormat)
	}
	return &IDX{Shape: shape, Data: data}, nil
}

// ReadIDX decodes the IDX file at path (gzip-compressed or not).
func ReadIDX(path string) (*IDX, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	x, err := DecodeIDX(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return x, nil
}
