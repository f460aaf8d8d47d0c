// Package atomicfile writes files so that a reader never sees a half-written
// one: data goes to a temporary file in the destination's directory, which is
// synced and renamed over the destination only when complete.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write calls fill with the path of a temporary file in dst's directory;
// when fill succeeds the temporary file is synced and renamed to dst,
// otherwise it is removed and dst is left untouched. fill may write the
// file by path (as libhdf5 does) or open it itself.
func Write(dst string, fill func(tmp string) error) (err error) {
	dir, base := filepath.Split(dst)
	if dir == "" {
		dir = "."
	}
	if st, serr := os.Stat(dst); serr == nil && st.IsDir() {
		return fmt.Errorf("atomicfile: cannot write %s: it is a directory", dst)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && errors.Is(pe.Err, fs.ErrNotExist) {
			return fmt.Errorf("atomicfile: cannot write %s: directory %s does not exist: %w", dst, filepath.Clean(dir), pe.Err)
		}
		if errors.As(err, &pe) {
			return fmt.Errorf("atomicfile: cannot write %s: %w", dst, pe.Err)
		}
		return fmt.Errorf("atomicfile: cannot write %s: %w", dst, err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = fill(tmp); err != nil {
		return err
	}
	g, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = g.Sync(); err != nil {
		g.Close()
		return fmt.Errorf("atomicfile: sync %s: %w", dst, err)
	}
	if err = g.Close(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("atomicfile: cannot replace %s: %w", dst, err)
	}
	return nil
}

// WriteBytes writes data to dst atomically.
func WriteBytes(dst string, data []byte) error {
	return Write(dst, func(tmp string) error {
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return fmt.Errorf("atomicfile: %w", err)
		}
		return nil
	})
}
