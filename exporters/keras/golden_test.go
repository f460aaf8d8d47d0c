package keras

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden compares the bytes written for a small fixed model with
// testdata/example.{h5,keras}. A difference means the output changed (a
// code change, or another libhdf5 release laying the file out differently):
// check the new files with h5py and Keras's layout, then refresh them with
// go test -run TestGolden -update.
func TestGolden(t *testing.T) {
	m := exampleModel()
	m.History = []model.Event{{Op: "import", Args: "example", Time: "2026-11-27T10:00:00Z"}}
	// WriteH5 and WriteKeras write through libhdf5's file driver, MarshalH5
	// and MarshalKeras through an in-memory image: all must give the golden
	// bytes.
	writeH5 := func(m *model.Model) ([]byte, error) {
		path := filepath.Join(t.TempDir(), "w.h5")
		if err := WriteH5(path, m); err != nil {
			return nil, err
		}
		return os.ReadFile(path)
	}
	writeKeras := func(m *model.Model) ([]byte, error) {
		path := filepath.Join(t.TempDir(), "w.keras")
		if err := WriteKeras(path, m); err != nil {
			return nil, err
		}
		return os.ReadFile(path)
	}
	for _, f := range []struct {
		name, file string
		marshal    func(*model.Model) ([]byte, error)
	}{
		{"MarshalH5", "example.h5", MarshalH5}, {"WriteH5", "example.h5", writeH5},
		{"MarshalKeras", "example.keras", MarshalKeras}, {"WriteKeras", "example.keras", writeKeras},
	} {
		t.Run(f.name, func(t *testing.T) {
			got, err := f.marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", f.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes differ from the golden %s's %d bytes", f.name, len(got), f.file, len(want))
			}
		})
	}
}
