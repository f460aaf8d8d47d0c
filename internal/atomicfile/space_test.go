package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSyncDir: after the rename, the destination's directory is synced
// (so the rename survives a power loss), once, with dst already in place.
func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.bin")
	var synced []string
	old := syncDir
	defer func() { syncDir = old }()
	syncDir = func(d string) error {
		if b, err := os.ReadFile(dst); err != nil || string(b) != "new" {
			t.Errorf("syncDir(%s) called before %s was in place: %q, %v", d, dst, b, err)
		}
		synced = append(synced, d)
		return old(d)
	}
	if err := WriteBytes(dst, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Errorf("directories synced = %v; want [%s]", synced, dir)
	}
	// A failed sync is reported, naming the file, which is in place.
	syncDir = func(string) error { return syscall.EIO }
	if err := WriteBytes(dst, []byte("new")); err == nil || !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "wrote "+dst+", but syncing directory "+dir) {
		t.Errorf("WriteBytes with a failing directory sync = %v; want EIO naming %s and %s", err, dst, dir)
	}
}

// TestSpaceError: a fill that fails for want of room gives a *SpaceError
// that names the destination and says what to do, and removes the
// temporary file.
func TestSpaceError(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		errno syscall.Errno
		want  string
	}{
		{syscall.ENOSPC, "atomicfile: writing " + dst + " failed: no space left on device in " + dir + "; free space or choose another directory"},
		{syscall.EDQUOT, "atomicfile: writing " + dst + " failed: disk quota exceeded in " + dir + "; free space or choose another directory"},
		{syscall.EFBIG, "atomicfile: writing " + dst + " failed: file too large for the file system of " + dir + "; choose another directory"},
	}
	for _, c := range cases {
		t.Run(c.errno.Error(), func(t *testing.T) {
			err := Write(dst, func(tmp string) error {
				os.WriteFile(tmp, []byte("half"), 0o644)
				// As a writer wraps it: the path is the temporary's.
				return fmt.Errorf("somewriter: write %s: %w", tmp, &os.PathError{Op: "write", Path: tmp, Err: c.errno})
			})
			var se *SpaceError
			if !errors.As(err, &se) || !errors.Is(err, c.errno) || err.Error() != c.want {
				t.Errorf("Write(fill fails with %v) = %v; want %q", c.errno, err, c.want)
			}
			checkLeft(t, dir, dst, "old")
		})
	}
}

// TestFileSizeLimit: a real write past the process's file size limit
// (RLIMIT_FSIZE; the Go runtime ignores SIGXFSZ, so write(2) returns EFBIG)
// says so with the limit.
func TestFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("SKIP LOUDLY: getrlimit: %v", err)
	}
	const limit = 64 << 10 // 64 KiB: below the 1 MiB written
	lim := old
	lim.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("SKIP LOUDLY: setrlimit: %v", err)
	}
	err := WriteBytes(dst, make([]byte, 1<<20))
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatalf("restoring the file size limit: %v", err)
	}
	want := fmt.Sprintf("atomicfile: writing %s failed: file too large: the file size limit (ulimit -f) is %d bytes; raise the limit or choose another directory", dst, limit)
	if err == nil || err.Error() != want || !errors.Is(err, syscall.EFBIG) {
		t.Errorf("WriteBytes(1 MiB) under a 64 KiB limit = %v; want %q", err, want)
	}
	checkLeft(t, dir, dst, "old")
}

// checkLeft checks that dir holds only dst, with its old content.
func checkLeft(t *testing.T, dir, dst, content string) {
	t.Helper()
	if got, _ := os.ReadFile(dst); string(got) != content {
		t.Errorf("destination = %q; want %q", got, content)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory has %d entries; want 1 (temporary file not removed)", len(entries))
	}
}
