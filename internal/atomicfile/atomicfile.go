// Package atomicfile writes files so that a reader never sees a half-written
// one: data goes to a temporary file in the destination's directory, which is
// synced and renamed over the destination only when complete; the directory
// is then synced too, so that the rename itself survives a power loss.
//
// A process killed while writing (SIGKILL, a crash) leaves its temporary
// file, named ".NAME.tmp-*" beside the destination NAME, and the
// destination as it was. Write never removes other processes' temporaries:
// one may belong to a concurrent writer of the same destination. Callers
// that know no other writer exists (the workspace, under its lock) may
// remove stale ones; IsTemp recognises them.
//
// A write that fails for want of room (a full file system, a used-up quota,
// a file size limit) returns a *SpaceError that names the destination and
// says what to do.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// tmpInfix separates the destination's name from CreateTemp's random suffix
// in a temporary file's name: ".NAME.tmp-123456".
const tmpInfix = ".tmp-"

// IsTemp reports whether name (a base name) is the name of a temporary file
// Write creates, or of a file a fill function made beside it by appending to
// the temporary's name (as exporters/keras does for its weights).
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name[1:], tmpInfix)
}

// syncDir syncs a directory's entries to stable storage; a variable so that
// tests can see it called.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot sync a directory (EINVAL; ENOTSUP on
	// network file systems): there is nothing more to do there.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}

// Write calls fill with the path of a temporary file in dst's directory;
// when fill succeeds the temporary file is synced and renamed to dst and the
// directory synced, otherwise it is removed and dst is left untouched. fill
// may write the file by path (as libhdf5 does) or open it itself.
func Write(dst string, fill func(tmp string) error) (err error) {
	dir, base := filepath.Split(dst)
	if dir == "" {
		dir = "."
	}
	if st, serr := os.Stat(dst); serr == nil && st.IsDir() {
		return fmt.Errorf("atomicfile: cannot write %s: it is a directory", dst)
	}
	f, err := os.CreateTemp(dir, "."+base+tmpInfix+"*")
	if err != nil {
		if serr := spaceError(dst, err); serr != nil {
			return serr
		}
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
		if serr := spaceError(dst, err); serr != nil {
			return serr
		}
		return err
	}
	g, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = g.Sync(); err != nil {
		g.Close()
		if serr := spaceError(dst, err); serr != nil {
			return serr
		}
		return fmt.Errorf("atomicfile: sync %s: %w", dst, err)
	}
	if err = g.Close(); err != nil {
		if serr := spaceError(dst, err); serr != nil {
			return serr
		}
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("atomicfile: cannot replace %s: %w", dst, err)
	}
	// The rename is done: dst is complete whatever happens next, so the
	// temporary is gone and a failure here is reported, not undone.
	if serr := syncDir(filepath.Clean(dir)); serr != nil {
		return fmt.Errorf("atomicfile: wrote %s, but syncing directory %s failed (the new file may not survive a power loss): %w", dst, filepath.Clean(dir), serr)
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

// SpaceError reports a write that failed for want of room.
type SpaceError struct {
	Path  string        // the destination
	Errno syscall.Errno // ENOSPC, EDQUOT or EFBIG
	// Limit is the process's file size limit in bytes (ulimit -f) when
	// Errno is EFBIG and a limit is set, else 0.
	Limit uint64
	Err   error // what the writer reported
}

func (e *SpaceError) Error() string {
	dir := filepath.Dir(e.Path)
	switch {
	case e.Errno == syscall.EFBIG && e.Limit > 0:
		return fmt.Sprintf("atomicfile: writing %s failed: file too large: the file size limit (ulimit -f) is %d bytes; raise the limit or choose another directory", e.Path, e.Limit)
	case e.Errno == syscall.EFBIG:
		return fmt.Sprintf("atomicfile: writing %s failed: file too large for the file system of %s; choose another directory", e.Path, dir)
	case e.Errno == syscall.EDQUOT:
		return fmt.Sprintf("atomicfile: writing %s failed: disk quota exceeded in %s; free space or choose another directory", e.Path, dir)
	}
	return fmt.Sprintf("atomicfile: writing %s failed: no space left on device in %s; free space or choose another directory", e.Path, dir)
}

// Unwrap returns the errno (errors.Is(err, syscall.ENOSPC) holds) and the
// writer's own error.
func (e *SpaceError) Unwrap() []error { return []error{e.Errno, e.Err} }

// spaceError returns a *SpaceError for dst when err says the write ran out
// of room, else nil.
func spaceError(dst string, err error) error {
	var se *SpaceError
	if errors.As(err, &se) {
		return nil // a nested Write already said so
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG} {
		if errors.Is(err, errno) {
			e := &SpaceError{Path: dst, Errno: errno, Err: err}
			if errno == syscall.EFBIG {
				e.Limit = fileSizeLimit()
			}
			return e
		}
	}
	return nil
}
