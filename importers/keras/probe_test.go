package keras

import (
	"archive/zip"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestProbe: every intact fixture probes clean; damage is reported, not
// hidden.
func TestProbe(t *testing.T) {
	for _, p := range seedFiles(t) {
		if err := Probe(p); err != nil {
			t.Errorf("Probe(%s) = %v; want nil", p, err)
		}
	}
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/kinds2d.h5")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.h5")
	if err := os.WriteFile(cut, b[:len(b)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Probe(cut); err == nil {
		t.Errorf("Probe(%s cut to a third) = nil; want an error", cut)
	}
	// A .keras archive without model.weights.h5 gives libhdf5 nothing to read.
	noWeights := filepath.Join(dir, "now.keras")
	f, err := os.Create(noWeights)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("config.json")
	w.Write([]byte("{}"))
	zw.Close()
	f.Close()
	if err := Probe(noWeights); err != nil {
		t.Errorf("Probe(.keras without weights) = %v; want nil", err)
	}
	if err := Probe(filepath.Join(dir, "missing.h5")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Probe(missing) = %v; want os.ErrNotExist", err)
	}
}
