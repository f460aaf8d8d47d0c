package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
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
