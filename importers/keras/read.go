package keras

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/xferml/xfer/internal/hdf5"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// Sentinel errors, for errors.Is.
var (
	// ErrFormat reports a file or config that is not a valid Keras model
	// (the same value as layers.ErrKerasFormat, which a layer's config
	// reader returns).
	ErrFormat = layers.ErrKerasFormat
)

// Options tune ReadFile.
type Options struct {
	// ConfigPath names a JSON model config (model.to_json()) for an HDF5
	// file that holds weights only (save_weights). Ignored when the file has
	// its own config.
	ConfigPath string
}

// maxJSON bounds a config read from a file or zip member (256 MiB).
const maxJSON = 256 << 20

// hdf5Magic is the HDF5 format signature (HDF5 File Format Specification,
// section II.A "Format Signature").
var hdf5Magic = []byte("\x89HDF\r\n\x1a\n")

// ReadFile reads the Keras model at path: a legacy .h5 full save, a
// weights-only .h5 with opts.ConfigPath, or a .keras zip. The format is told
// by content, not by extension.
func ReadFile(path string, opts Options) (*model.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keras: %w", err)
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	f.Close()
	head = head[:n]
	var m *model.Model
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		m, err = readZip(path)
	case bytes.HasPrefix(head, hdf5Magic):
		m, err = readH5(path, opts)
	default:
		// HDF5 allows a user block before the superblock; let libhdf5 decide.
		m, err = readH5(path, opts)
	}
	if err != nil {
		return nil, err
	}
	m.Meta["source"] = path
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: the model read does not validate: %w", ErrFormat, path, err)
	}
	return m, nil
}

// readH5 reads a legacy HDF5 save.
func readH5(path string, opts Options) (*model.Model, error) {
	f, err := hdf5.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keras: %s: %w", path, err)
	}
	defer f.Close()
	meta := map[string]string{"format": "keras-h5", "producer": "keras"}
	for _, k := range []string{"keras_version", "backend"} {
		if f.HasAttr("/", k) {
			v, err := f.AttrString("/", k)
			if err != nil {
				return nil, fmt.Errorf("keras: %s: root attribute %q: %w", path, k, err)
			}
			meta[k] = v
		}
	}
	var cfg []byte
	switch {
	case f.HasAttr("/", "model_config"):
		s, err := f.AttrString("/", "model_config")
		if err != nil {
			return nil, fmt.Errorf("keras: %s: model_config: %w", path, err)
		}
		cfg = []byte(s)
	case opts.ConfigPath != "":
		if cfg, err = readJSONFile(opts.ConfigPath); err != nil {
			return nil, err
		}
		if !json.Valid(cfg) {
			return nil, fmt.Errorf("%w: config %s is not JSON (want the model's model.to_json())", ErrFormat, opts.ConfigPath)
		}
	default:
		return nil, fmt.Errorf("%w: %s has no model_config attribute (a weights-only file?): pass its JSON config (model.to_json()) as the config path (xfer: --config FILE)", ErrFormat, path)
	}
	if len(meta["keras_version"]) == 0 {
		// A model.to_json() file records the version that wrote it.
		var top struct {
			KerasVersion string `json:"keras_version"`
			Backend      string `json:"backend"`
		}
		if json.Unmarshal(cfg, &top) == nil && top.KerasVersion != "" {
			meta["keras_version"] = top.KerasVersion
			if top.Backend != "" {
				meta["backend"] = top.Backend
			}
		}
	}
	ws, err := newH5Weights(f, path)
	if err != nil {
		return nil, err
	}
	if ws.keras3 && meta["keras_version"] == "" {
		meta["keras_version"] = "3" // only Keras 3 writes the layers/<path>/vars layout
	}
	var hist []model.Event
	if f.HasAttr("/", historyKey) {
		s, err := f.AttrString("/", historyKey)
		if err != nil {
			return nil, fmt.Errorf("keras: %s: root attribute %q: %w", path, historyKey, err)
		}
		if hist, err = parseHistory([]byte(s), path); err != nil {
			return nil, err
		}
	}
	m, err := build(cfg, ws, meta)
	if err != nil {
		return nil, inFile(path, err)
	}
	m.History = hist
	return m, nil
}

// fileError names the file an error from build is about: build reads a
// config and a weight source and knows no path. Unwrap keeps errors.Is
// (ErrFormat, model.ErrUnsupported) working.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string {
	return "keras: " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "keras: ")
}

func (e *fileError) Unwrap() error { return e.err }

// inFile wraps err so that its message names path, unless it already does
// (errors from the weight source carry the path and the weight's place).
func inFile(path string, err error) error {
	if strings.Contains(err.Error(), path) {
		return err
	}
	return &fileError{path, err}
}

// historyKey names the root attribute (.h5) and the metadata.json key
// (.keras) where xfer's exporters write the model's journal.
const historyKey = "xfer_history"

// parseHistory decodes an xfer_history JSON array of events.
func parseHistory(raw []byte, path string) ([]model.Event, error) {
	var hist []model.Event
	if err := json.Unmarshal(raw, &hist); err != nil {
		return nil, fmt.Errorf("%w: %s: %s is not a JSON array of events: %v", ErrFormat, path, historyKey, err)
	}
	return hist, nil
}

func readJSONFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keras: config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxJSON+1))
	if err != nil {
		return nil, fmt.Errorf("keras: config %s: %w", path, err)
	}
	if len(b) > maxJSON {
		return nil, fmt.Errorf("%w: config %s is larger than %d bytes", ErrFormat, path, maxJSON)
	}
	return b, nil
}

// majorVersion returns the major version of a keras_version string, 2 when
// absent or unreadable (Keras 1 and 2 files share the legacy semantics).
func majorVersion(v string) int {
	i := strings.IndexByte(v, '.')
	if i < 0 {
		i = len(v)
	}
	n, err := strconv.Atoi(v[:i])
	if err != nil || n < 1 {
		return 2
	}
	return n
}
