package keras

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/internal/hdf5"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// seedFiles returns the fixtures to seed fuzzing and truncation: this
// package's generated files and, when present, every shared Keras file
// (read at run time; shared files are never copied into the repository).
func seedFiles(t testing.TB) []string {
	files, _ := filepath.Glob("testdata/*.h5")
	p, err := peers.Find("")
	if err != nil {
		t.Logf("NOTE: ../shared/interop not found: seeding from this package's own fixtures only (%v)", err)
		return files
	}
	for _, pat := range []string{"keras/*/*.h5", "keras3/*.h5", "keras3/*.keras"} {
		more, _ := filepath.Glob(filepath.Join(p, pat))
		files = append(files, more...)
	}
	return files
}

// TestTruncated cuts every fixture at many offsets: each cut must give an
// error, never a panic.
func TestTruncated(t *testing.T) {
	tmp := t.TempDir()
	for _, path := range seedFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cuts := []int{0, 1, 4, 8, 64, 512, 800, 2048, 4096}
		for i := 1; i < 16; i++ {
			cuts = append(cuts, len(b)*i/16)
		}
		cuts = append(cuts, len(b)-1)
		for _, n := range cuts {
			if n < 0 || n >= len(b) {
				continue
			}
			p := filepath.Join(tmp, "cut"+filepath.Ext(path))
			if err := os.WriteFile(p, b[:n], 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadFile(p, Options{}); err == nil {
				t.Errorf("ReadFile(%s cut at %d of %d bytes) succeeded; want an error", filepath.Base(path), n, len(b))
			}
		}
	}
}

var hdf5Signature = []byte("\x89HDF\r\n\x1a\n")

// FuzzReadFile feeds mutated fixtures to ReadFile. Mutated .keras archives
// reach libhdf5 only when the weights member still matches its CRC-32, so
// the zip container and config.json are what gets fuzzed there. Bare HDF5
// inputs must be truncations of a seed: libhdf5 1.10 itself can crash on
// bit-flipped object headers (see internal/hdf5's doc), and FuzzConfig
// fuzzes what this package parses out of those files.
func FuzzReadFile(f *testing.F) {
	var seeds [][]byte
	for _, p := range seedFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
		f.Add(b)
	}
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("random bytes that are no model"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, hdf5Signature) && !bytes.HasPrefix(data, []byte("PK")) {
			ok := false
			for _, s := range seeds {
				if bytes.HasPrefix(s, data) {
					ok = true
					break
				}
			}
			if !ok {
				t.Skip("mutated HDF5 structures can crash libhdf5 itself")
			}
		}
		p := filepath.Join(dir, "fuzz.bin")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadFile(p, Options{})
		if err == nil && m == nil {
			t.Fatalf("ReadFile returned neither a model nor an error")
		}
	})
}

// FuzzConfig fuzzes the model config (the JSON every format carries)
// against the real weights of testdata/kinds2d.h5 and kinds1d.h5.
func FuzzConfig(f *testing.F) {
	var sources []weightSource
	for _, name := range []string{"testdata/kinds2d.h5", "testdata/kinds1d.h5", "testdata/acts3.h5", "testdata/nested2.h5"} {
		h, err := hdf5.Open(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { h.Close() })
		cfg, err := h.AttrString("/", "model_config")
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(cfg), uint8(len(sources)))
		ws, err := newH5Weights(h, name)
		if err != nil {
			f.Fatal(err)
		}
		sources = append(sources, ws)
	}
	f.Fuzz(func(t *testing.T, cfg []byte, which uint8) {
		for _, v := range []string{"2.13.1", "3.1.0"} {
			m, err := build(cfg, sources[int(which)%len(sources)], map[string]string{"keras_version": v})
			if err != nil {
				if !errors.Is(err, ErrFormat) && !errors.Is(err, model.ErrUnsupported) && !bytes.HasPrefix([]byte(err.Error()), []byte("keras: ")) {
					t.Fatalf("build error %q lacks the keras: prefix", err)
				}
				continue
			}
			_ = m.Validate() // must not panic
		}
	})
}
