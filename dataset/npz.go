package dataset

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// maxNPZMembers bounds the members an .npz archive may list.
const maxNPZMembers = 4096

// npzRatio bounds how far a member may inflate over its stored size
// (deflate's limit is 1032:1).
const npzRatio = 1032

// ReadNPZ reads the arrays named keys from the NumPy .npz archive at path
// (numpy.savez or savez_compressed: a zip of KEY.npy members, as Keras's
// mnist.npz). Declared member sizes are checked against the stored bytes
// and the memory ceiling before anything is inflated, and a member that
// inflates past its declared size is refused.
func ReadNPZ(path string, keys ...string) ([]*model.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	ts, err := DecodeNPZ(f, st.Size(), keys...)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	return ts, nil
}

// DecodeNPZ is ReadNPZ on an archive of size bytes read from r.
func DecodeNPZ(r io.ReaderAt, size int64, keys ...string) ([]*model.Tensor, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("npz: not a zip archive (numpy.savez writes one): %w: %w", err, ErrFormat)
	}
	if len(zr.File) > maxNPZMembers {
		return nil, fmt.Errorf("npz: %d members (at most %d): %w", len(zr.File), maxNPZMembers, ErrFormat)
	}
	byName := map[string]*zip.File{}
	var names []string
	for _, zf := range zr.File {
		key := strings.TrimSuffix(zf.Name, ".npy")
		if _, dup := byName[key]; dup {
			return nil, fmt.Errorf("npz: member %q appears twice: %w", zf.Name, ErrFormat)
		}
		byName[key] = zf
		names = append(names, key)
	}
	slices.Sort(names)
	out := make([]*model.Tensor, len(keys))
	for i, key := range keys {
		zf, ok := byName[key]
		if !ok {
			return nil, fmt.Errorf("npz: no array %q (it holds %s); name the arrays as npz:FILE:X_KEY,Y_KEY: %w", key, strings.Join(names, ", "), ErrFormat)
		}
		t, err := npzMember(zf)
		if err != nil {
			return nil, fmt.Errorf("npz: array %q: %w", key, err)
		}
		t.Name = key
		out[i] = t
	}
	return out, nil
}

func npzMember(zf *zip.File) (*model.Tensor, error) {
	n := zf.UncompressedSize64
	if n > 1<<62 {
		return nil, fmt.Errorf("declared size %d: %w", n, ErrFormat)
	}
	switch zf.Method {
	case zip.Store:
		if zf.CompressedSize64 != n {
			return nil, fmt.Errorf("stored member declares %d bytes but stores %d: %w", n, zf.CompressedSize64, ErrFormat)
		}
	case zip.Deflate:
		if n/npzRatio > zf.CompressedSize64 {
			return nil, fmt.Errorf("declares %d bytes from %d compressed, more than deflate can inflate to: %w", n, zf.CompressedSize64, ErrFormat)
		}
	default:
		return nil, fmt.Errorf("zip compression method %d (numpy writes stored or deflated members): %w", zf.Method, model.ErrUnsupported)
	}
	// float32 values up to 4x the bytes of a uint8 array (tensorio checks
	// the .npy header against the member's declared size).
	if err := limits.Check(fmt.Sprintf("member %s", zf.Name), int64(n), 4); err != nil {
		return nil, err
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrFormat)
	}
	defer rc.Close()
	// The member streams through tensorio's decoder, never more than its
	// declared size.
	t, err := tensorio.ReadNPY(io.LimitReader(rc, int64(n)), int64(n))
	if errors.Is(err, tensorio.ErrFormat) {
		return nil, fmt.Errorf("%w: %w", err, ErrFormat)
	}
	if err != nil {
		return nil, err
	}
	return asFloat32(t), nil
}

// loadNPZ reads npz:FILE[:X_KEY,Y_KEY] (default keys x_train, y_train, as
// Keras's mnist.npz names its training arrays).
func loadNPZ(spec, rest string) (*Set, error) {
	path, xk, yk := rest, "x_train", "y_train"
	if i := strings.LastIndex(rest, ":"); i >= 0 && strings.Contains(rest[i+1:], ",") {
		path = rest[:i]
		var ok bool
		xk, yk, ok = strings.Cut(rest[i+1:], ",")
		if !ok || xk == "" || yk == "" || strings.Contains(yk, ",") {
			return nil, fmt.Errorf("%w: %q: want npz:FILE or npz:FILE:X_KEY,Y_KEY", ErrSpec, spec)
		}
	}
	if path == "" {
		return nil, fmt.Errorf("%w: %q: want npz:FILE or npz:FILE:X_KEY,Y_KEY", ErrSpec, spec)
	}
	ts, err := ReadNPZ(path, xk, yk)
	if err != nil {
		return nil, err
	}
	return arraysToSet(spec, path+":"+xk, path+":"+yk, ts[0], ts[1])
}
