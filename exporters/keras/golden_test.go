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
	for _, f := range []struct {
		name    string
		marshal func(*model.Model) ([]byte, error)
	}{{"example.h5", MarshalH5}, {"example.keras", MarshalKeras}} {
		t.Run(f.name, func(t *testing.T) {
			got, err := f.marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", f.name)
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
				t.Errorf("%s: %d bytes differ from the golden %d bytes", f.name, len(got), len(want))
			}
		})
	}
}
