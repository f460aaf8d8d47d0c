package formats

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xferml/xfer/channelslast"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/model"
)

// Format is a model file format.
type Format string

// The formats xfer reads and writes. The values are the Meta["format"]
// names the importers use.
const (
	KerasH5  Format = "keras-h5"
	KerasZip Format = "keras-zip"
	ONNX     Format = "onnx"
	// Native is xfer's own lossless snapshot encoding (internal/native),
	// the workspace's storage, readable and writable as .xnat.
	Native Format = "xfer-native"
)

// ErrFormat reports a file that is none of the known formats.
var ErrFormat = errors.New("formats: unknown model format")

// hdf5Magic is the HDF5 format signature (HDF5 File Format Specification,
// section II.A "Format Signature").
var hdf5Magic = []byte("\x89HDF\r\n\x1a\n")

// nativeMagic starts an internal/native encoding.
var nativeMagic = []byte("XFERNAT1")

// zipMagic starts a zip local file header (APPNOTE.TXT 4.3.7).
var zipMagic = []byte("PK\x03\x04")

// Options tune Read and Write.
type Options struct {
	// ConfigPath names a Keras model config JSON for a weights-only .h5.
	ConfigPath string
	// Opset is the ONNX opset to write (13..21); 0 means the default, 17.
	Opset int
	// KeepNCHW, for .h5 and .keras files of a channels-first model (an ONNX
	// export from PyTorch), keeps the input channels-first: the Keras model
	// starts with a Permute layer, so it takes the same arrays as the
	// source (see package channelslast). Without it the input becomes
	// channels-last, Keras's layout.
	KeepNCHW bool
	// IsolateHDF5 makes Read read Keras files (the only ones libhdf5 reads)
	// in a child process (ReadInChild), so that a libhdf5 crash on a corrupt
	// or hostile file becomes an error wrapping ErrHDF5Crash. The running
	// binary must serve children (ServeChild).
	IsolateHDF5 bool
}

// Detect tells the format of the file at path by its content.
func Detect(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("formats: %w", err)
	}
	defer f.Close()
	// Devices, pipes and directories are refused before reading: /dev/zero
	// would never end, and libhdf5 needs a seekable file.
	if st, err := f.Stat(); err != nil {
		return "", fmt.Errorf("formats: %w", err)
	} else if !st.Mode().IsRegular() {
		what := "not a regular file"
		if st.IsDir() {
			what = "a directory"
		}
		return "", fmt.Errorf("%w: %s is %s; give a model file", ErrFormat, path, what)
	}
	head := make([]byte, len(hdf5Magic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("formats: %s: %w", path, err)
	}
	head = head[:n]
	switch {
	case bytes.Equal(head, nativeMagic):
		return Native, nil
	case bytes.Equal(head, hdf5Magic):
		return KerasH5, nil
	case bytes.HasPrefix(head, zipMagic):
		st, err := f.Stat()
		if err != nil {
			return "", fmt.Errorf("formats: %w", err)
		}
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			return "", fmt.Errorf("%w: %s: a zip file, but unreadable (truncated or damaged?): %v", ErrFormat, path, err)
		}
		for _, zf := range zr.File {
			if zf.Name == "config.json" {
				return KerasZip, nil
			}
		}
		return "", fmt.Errorf("%w: %s: a zip file without config.json, so not a Keras .keras model", ErrFormat, path)
	case n == 0:
		return "", fmt.Errorf("%w: %s is empty", ErrFormat, path)
	}
	return ONNX, nil
}

// Read reads the model at path, whatever its format.
func Read(path string, opts Options) (*model.Model, error) {
	f, err := Detect(path)
	if err != nil {
		return nil, err
	}
	var m *model.Model
	switch f {
	case Native:
		m, err = readNative(path)
	case KerasH5, KerasZip:
		if opts.IsolateHDF5 {
			m, err = ReadInChild(path, opts)
		} else {
			m, err = readKeras(path, opts.ConfigPath)
		}
	default:
		m, err = readONNX(path)
		switch ext := strings.ToLower(filepath.Ext(path)); {
		case err == nil || ext == ".onnx":
		case ext == ".h5" || ext == ".hdf5" || ext == ".keras":
			// The ONNX parser's complaint would only confuse here.
			err = fmt.Errorf("%w: %s is named like a Keras file but has neither the HDF5 signature nor a zip header: not a Keras model (a different format, or damaged)", ErrFormat, path)
		default:
			err = fmt.Errorf("%w: %s is neither Keras HDF5, a Keras 3 zip nor ONNX (reading it as ONNX: %v)", ErrFormat, path, err)
		}
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Writable lists the extensions Write accepts.
func Writable() []string { return []string{".h5", ".hdf5", ".keras", ".onnx", ".xnat"} }

// FormatOf returns the format Write uses for path, by extension.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".h5", ".hdf5":
		return KerasH5, nil
	case ".keras":
		return KerasZip, nil
	case ".onnx":
		return ONNX, nil
	case ".xnat":
		return Native, nil
	}
	return "", fmt.Errorf("%w: cannot tell the format to write %s from its extension (use one of %s)", ErrFormat, path, strings.Join(Writable(), ", "))
}

// Write writes m to path in the format its extension names, atomically.
func Write(path string, m *model.Model, opts Options) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	switch f {
	case KerasH5, KerasZip:
		km, err := ToKeras(m, opts.KeepNCHW)
		if err != nil {
			return fmt.Errorf("formats: %s: %w", path, err)
		}
		if f == KerasH5 {
			return writeH5(path, km)
		}
		return writeKeras(path, km)
	case Native:
		return writeNative(path, m)
	default:
		return writeONNX(path, m, opts.Opset)
	}
}

func readNative(path string) (*model.Model, error) {
	m, err := native.ReadFile(path)
	if err != nil {
		if !errors.Is(err, native.ErrFormat) {
			return nil, fmt.Errorf("formats: %w", err)
		}
		return nil, fmt.Errorf("formats: %s: %w", path, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("formats: %s: %w", path, err)
	}
	return m, nil
}

func writeNative(path string, m *model.Model) error {
	if _, err := native.WriteFile(path, m); err != nil {
		return fmt.Errorf("formats: %s: %w", path, err)
	}
	return nil
}

// ToKeras returns m ready for a Keras file: m itself when all its layers
// are Keras layers, else (layers read from ONNX, channelslast.Needed) their
// rewrite as Keras layers by channelslast.Convert. When that changes how
// an input is laid out (a channels-first model's NCHW input taken NHWC) or
// keeps it by a Permute (keepNCHW), the history gains a "channels-last"
// event saying how each input is laid out and how to transpose an array
// for it (both Keras formats carry the history). m is not modified.
func ToKeras(m *model.Model, keepNCHW bool) (*model.Model, error) {
	if !channelslast.Needed(m) {
		return m, nil
	}
	k, layout, err := channelslast.Convert(m, channelslast.Options{KeepNCHW: keepNCHW})
	if err != nil {
		return nil, err
	}
	var parts []string
	changed := false
	for _, in := range layout.Inputs {
		switch {
		case !slices.Equal(in.Perm, identityPerm(len(in.Perm))):
			changed = true
			parts = append(parts, fmt.Sprintf("input %q is channels-last %v (the source's %v transposed by %v: feed x.transpose%s)",
				in.Name, in.Shape, in.Source, in.Perm, pyTuple(in.Perm)))
		case keepNCHW && permutesInput(k, in.Name):
			changed = true
			parts = append(parts, fmt.Sprintf("input %q is %v as in the source (a Permute layer makes it channels-last)", in.Name, in.Shape))
		default:
			parts = append(parts, fmt.Sprintf("input %q is %v as in the source", in.Name, in.Shape))
		}
	}
	if !changed {
		return k, nil
	}
	ev := model.Event{Op: "channels-last", Args: strings.Join(parts, "; ")}
	if n := len(m.History); n > 0 {
		ev.Time = m.History[n-1].Time // the conversion is part of writing: no clock, same bytes
	}
	k.History = append(k.History, ev)
	return k, nil
}

// permutesInput reports whether a Permute layer of k reads graph input v.
func permutesInput(k *model.Model, v string) bool {
	for _, l := range k.Layers {
		if l.Kind == "Permute" && slices.Contains(l.Inputs, v) {
			return true
		}
	}
	return false
}

func identityPerm(r int) []int {
	p := make([]int, r)
	for i := range p {
		p[i] = i
	}
	return p
}

// pyTuple renders a perm as numpy's transpose arguments: (0, 2, 3, 1).
func pyTuple(p []int) string {
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = fmt.Sprint(v)
	}
	return "(" + strings.Join(s, ", ") + ")"
}
