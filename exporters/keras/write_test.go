package keras

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

var writers = []struct {
	ext   string
	write func(string, *model.Model) error
}{{".h5", WriteH5}, {".keras", WriteKeras}}

// TestDeterministic: the same model gives the same bytes, written twice in
// one process and from a clone.
func TestDeterministic(t *testing.T) {
	for _, src := range sharedModels(t) {
		m := readModel(t, src)
		m.History = []model.Event{{Op: "import", Args: src, Time: "2026-11-27T10:00:00Z", After: "abc"}}
		for _, w := range writers {
			t.Run(filepath.Base(src)+w.ext, func(t *testing.T) {
				dir := t.TempDir()
				a, b := filepath.Join(dir, "a"+w.ext), filepath.Join(dir, "b"+w.ext)
				if err := w.write(a, m); err != nil {
					t.Fatal(err)
				}
				if err := w.write(b, m.Clone()); err != nil {
					t.Fatal(err)
				}
				ba, _ := os.ReadFile(a)
				bb, _ := os.ReadFile(b)
				if len(ba) == 0 || !bytes.Equal(ba, bb) {
					t.Errorf("two writes of the same model: %d and %d bytes, not identical", len(ba), len(bb))
				}
			})
		}
	}
}

// TestDeterministicAcrossProcesses compares a file written here with the
// same model written by a fresh process (the test binary run again), so
// nothing that differs between runs (heap addresses, uninitialised memory
// in libhdf5's buffers, times) reaches the file.
func TestDeterministicAcrossProcesses(t *testing.T) {
	if os.Getenv("XFER_KERAS_WRITE_CHILD") != "" {
		return // in the child process: only TestWriteChild works
	}
	src := filepath.Join(peers.Interop(t, "keras3", "byte-identical writes across processes of a real Keras file"), "bn_dense.keras")
	m := readModel(t, src)
	dir := t.TempDir()
	for _, w := range writers {
		here := filepath.Join(dir, "here"+w.ext)
		there := filepath.Join(dir, "there"+w.ext)
		if err := w.write(here, m); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestWriteChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "XFER_KERAS_WRITE_CHILD="+there, "XFER_KERAS_WRITE_SRC="+src)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		a, _ := os.ReadFile(here)
		b, err := os.ReadFile(there)
		if err != nil {
			t.Fatalf("child wrote nothing: %v", err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s written in two processes differs (%d vs %d bytes)", w.ext, len(a), len(b))
		}
	}
}

// TestWriteChild is the child of TestDeterministicAcrossProcesses; it does
// nothing unless that test started it.
func TestWriteChild(t *testing.T) {
	dst := os.Getenv("XFER_KERAS_WRITE_CHILD")
	if dst == "" {
		t.Skip("helper process for TestDeterministicAcrossProcesses")
	}
	m := readModel(t, os.Getenv("XFER_KERAS_WRITE_SRC"))
	write := WriteH5
	if filepath.Ext(dst) == ".keras" {
		write = WriteKeras
	}
	if err := write(dst, m); err != nil {
		t.Fatal(err)
	}
}

// TestAtomic: a failed write leaves no file and keeps an existing one.
func TestAtomic(t *testing.T) {
	src := filepath.Join(peers.Interop(t, "keras3", "atomic writes of a real Keras file"), "mlp_small.keras")
	good := readModel(t, src)
	bad := good.Clone()
	bad.Layers[1].Params[0].Role = "offset" // Dense weights must be kernel, bias
	for _, w := range writers {
		t.Run(w.ext, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "model"+w.ext)
			if err := w.write(dst, bad); err == nil {
				t.Fatal("write(bad model) = nil; want an error")
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
				t.Fatalf("failed write left %v", left)
			}
			if err := w.write(dst, good); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(dst)
			if err := w.write(dst, bad); err == nil {
				t.Fatal("write(bad model) = nil; want an error")
			}
			after, _ := os.ReadFile(dst)
			if !bytes.Equal(before, after) {
				t.Errorf("failed write changed the existing file")
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 1 {
				t.Errorf("directory holds %v; want only the earlier file", left)
			}
			if err := w.write(filepath.Join(dir, "no", "such", "dir", "m"+w.ext), good); err == nil {
				t.Errorf("write into a missing directory = nil; want an error")
			}
		})
	}
}

// TestHistoryInKeras checks metadata.json's xfer_history and date_saved.
func TestHistoryInKeras(t *testing.T) {
	m := readModel(t, filepath.Join(peers.Interop(t, "keras3", "history in a .keras written from a real Keras file"), "mlp_selu_frozen.keras"))
	m.History = []model.Event{
		{Op: "import", Args: "mlp_selu_frozen.keras", Time: "2026-11-27T10:00:00Z"},
		{Op: "freeze", Args: "--upto 2", Time: "2026-11-27T11:30:05Z", Before: "d1", After: "d2"},
	}
	out := filepath.Join(t.TempDir(), "m.keras")
	if err := WriteKeras(out, m); err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Version string        `json:"keras_version"`
		Date    string        `json:"date_saved"`
		History []model.Event `json:"xfer_history"`
	}
	if err := json.Unmarshal(zipMembers(t, out)[0].data, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Version != "3.16.0" || meta.Date != "2026-11-27@11:30:05" || len(meta.History) != 2 || meta.History[1] != m.History[1] {
		t.Errorf("metadata.json = %+v; want keras_version 3.16.0 (the file's), date_saved 2026-11-27@11:30:05 (last event), the history", meta)
	}
}

func ExampleWriteH5() {
	// A Sequential model with one Dense layer built by package layers (it
	// carries a Keras config, so it is written from it).
	m := exampleModel()
	dir, err := os.MkdirTemp("", "xfer-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.h5")
	if err := WriteH5(path, m); err != nil {
		log.Fatal(err)
	}
	back, err := kin.ReadFile(path, kin.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range back.Layers {
		fmt.Println(l.Name, l.Kind, l.Trainable, l.Param("kernel").Shape)
	}
	fmt.Println(back.Meta["keras_version"])
	// Output:
	// dense Dense true [3 2]
	// 2.13.1
}
