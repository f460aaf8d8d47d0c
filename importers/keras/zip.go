package keras

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/xferml/xfer/internal/hdf5"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// readZip reads a Keras 3 .keras archive: config.json (the serialized model),
// metadata.json (keras_version) and model.weights.h5 (layers/<name>/vars/<i>).
// The weights member is copied to a temporary file for libhdf5.
func readZip(path string) (_ *model.Model, err error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	defer zr.Close()
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		// xfer extracts nothing, but a member named outside the archive is
		// how a zip attacks whatever does (Keras's own loader extracts
		// assets): refuse the archive, as Go's zip.NewReader does with
		// GODEBUG=zipinsecurepath=0.
		if !filepath.IsLocal(f.Name) || strings.Contains(f.Name, `\`) {
			return nil, fmt.Errorf("%w: %s: member %q names a path outside the archive; a .keras archive written by Keras has none, so this one is refused", ErrFormat, path, f.Name)
		}
		members[f.Name] = f
	}
	cfg, err := zipMember(members, "config.json", maxJSON, path)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{"format": "keras-zip", "producer": "keras"}
	var hist []model.Event
	if _, ok := members["metadata.json"]; ok {
		raw, err := zipMember(members, "metadata.json", maxJSON, path)
		if err != nil {
			return nil, err
		}
		var md struct {
			KerasVersion string          `json:"keras_version"`
			History      json.RawMessage `json:"xfer_history"`
		}
		if err := json.Unmarshal(raw, &md); err != nil {
			return nil, fmt.Errorf("%w: %s: metadata.json: %v", ErrFormat, path, err)
		}
		if md.KerasVersion != "" {
			meta["keras_version"] = md.KerasVersion
		}
		if len(md.History) > 0 && string(md.History) != "null" {
			if hist, err = parseHistory(md.History, path+":metadata.json"); err != nil {
				return nil, err
			}
		}
	}
	if meta["keras_version"] == "" {
		meta["keras_version"] = "3" // the .keras format exists only since Keras 3 (and 2.13's preview)
	}
	wf, ok := members["model.weights.h5"]
	if !ok {
		return nil, fmt.Errorf("%w: %s: no model.weights.h5 member (weights in another format are not supported)", ErrFormat, path)
	}
	if wf.UncompressedSize64 > math.MaxInt64 {
		return nil, fmt.Errorf("%w: %s: model.weights.h5 claims %d bytes", ErrFormat, path, wf.UncompressedSize64)
	}
	// Its tensors are read into memory: about its size again.
	if err := limits.Check(path+": model.weights.h5", int64(wf.UncompressedSize64), 1); err != nil {
		return nil, fmt.Errorf("keras: %w", err)
	}
	tmp, err := os.CreateTemp("", "xfer-keras-*.h5")
	if err != nil {
		return nil, fmt.Errorf("keras: %w", err)
	}
	defer os.Remove(tmp.Name())
	// libhdf5's and internal/hdf5's errors name the temporary copy, which
	// the user never sees: name the member instead.
	defer func() {
		if err != nil {
			err = &renamedError{err: err, old: tmp.Name(), new: path + ":model.weights.h5"}
		}
	}()
	rc, err := wf.Open()
	if err != nil {
		tmp.Close()
		return nil, fmt.Errorf("%w: %s: model.weights.h5: %v", ErrFormat, path, err)
	}
	// zip's reader checks the CRC and the declared size at EOF.
	n, err := io.Copy(tmp, io.LimitReader(rc, int64(wf.UncompressedSize64)+1))
	rc.Close()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: model.weights.h5: %v", ErrFormat, path, overSize(err, wf))
	}
	if uint64(n) != wf.UncompressedSize64 {
		return nil, fmt.Errorf("%w: %s: model.weights.h5 holds %d bytes, the zip says %d", ErrFormat, path, n, wf.UncompressedSize64)
	}
	h, err := hdf5.Open(tmp.Name())
	if err != nil {
		return nil, fmt.Errorf("keras: %s: model.weights.h5: %w", path, err)
	}
	defer h.Close()
	ws, err := newH5Weights(h, path+":model.weights.h5")
	if err != nil {
		return nil, err
	}
	m, err := build(cfg, ws, meta)
	if err != nil {
		return nil, inFile(path, err)
	}
	m.History = hist
	return m, nil
}

func zipMember(members map[string]*zip.File, name string, limit int64, path string) ([]byte, error) {
	f, ok := members[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s: no %s member (not a .keras archive?)", ErrFormat, path, name)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%w: %s: %s claims %d bytes (limit %d)", ErrFormat, path, name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %v", ErrFormat, path, name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %v", ErrFormat, path, name, overSize(err, f))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s: %s is larger than %d bytes", ErrFormat, path, name, limit)
	}
	return b, nil
}

// overSize explains the zip reader's error for a member that inflates past
// the size its header declares (archive/zip's Read returns ErrFormat for
// nothing else once a member is open): the header lies, as a zip bomb's does.
func overSize(err error, f *zip.File) error {
	if errors.Is(err, zip.ErrFormat) {
		return fmt.Errorf("it inflates to more than the %d bytes its zip header declares (a zip bomb, or damaged): %w", f.UncompressedSize64, err)
	}
	return err
}

// renamedError is err with every mention of old in its message replaced by
// new; Unwrap keeps errors.Is working.
type renamedError struct {
	err      error
	old, new string
}

func (e *renamedError) Error() string { return strings.ReplaceAll(e.err.Error(), e.old, e.new) }

func (e *renamedError) Unwrap() error { return e.err }
