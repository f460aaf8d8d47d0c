package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFailureLeavesDestination(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(dst, func(tmp string) error {
		os.WriteFile(tmp, []byte("half"), 0o644)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write error = %v; want %v", err, boom)
	}
	got, _ := os.ReadFile(dst)
	if string(got) != "old" {
		t.Errorf("destination = %q; want %q", got, "old")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory has %d entries; want 1 (temporary file not removed)", len(entries))
	}
}

func TestWriteBytes(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "out.bin")
	if err := WriteBytes(dst, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if string(got) != "new" {
		t.Errorf("destination = %q; want %q", got, "new")
	}
}

// TestWriteErrorsNameTheDestination: a destination that cannot be written
// is named in the error (not the temporary file), and nothing is left.
func TestWriteErrorsNameTheDestination(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, dst, want string
		is              error
	}{
		{"missing directory", filepath.Join(dir, "nope", "out.bin"), "cannot write " + filepath.Join(dir, "nope", "out.bin") + ": directory " + filepath.Join(dir, "nope") + " does not exist", fs.ErrNotExist},
		{"a directory", filepath.Join(dir, "sub"), "cannot write " + filepath.Join(dir, "sub") + ": it is a directory", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := WriteBytes(c.dst, []byte("x"))
			if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("WriteBytes(%s) = %v; want an error containing %q", c.dst, err, c.want)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
			if len(left) > 0 {
				t.Errorf("WriteBytes(%s) left %v", c.dst, left)
			}
		})
	}
}
