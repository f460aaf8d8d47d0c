package workspace

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func tinyModel(t testing.TB) *model.Model {
	t.Helper()
	d, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 3, Units: 2, Activation: "relu", UseBias: true, Trainable: true,
		Kernel: []float32{1, 2, 3, 4, 5, 6}})
	if err != nil {
		t.Fatal(err)
	}
	return &model.Model{Name: "tiny", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 3}}},
		Outputs: d.Outputs, Layers: []*model.Layer{d}}
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func TestOpenMissing(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNoWorkspace) {
		t.Errorf("Open(empty dir) error = %v; want ErrNoWorkspace", err)
	}
}

func TestCommitUndo(t *testing.T) {
	root := t.TempDir()
	w, err := OpenOrCreate(root)
	if err != nil {
		t.Fatal(err)
	}
	m0 := tinyModel(t)
	if _, err := w.Commit(m0, "import", "a.h5", t0); err != nil {
		t.Fatalf("Commit(import): %v", err)
	}
	if _, err := w.Undo(); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("Undo() after import error = %v; want ErrNothingToUndo", err)
	}
	enc0, _ := native.Encode(m0)

	m1 := m0.Clone()
	m1.Layers[0].SetTrainable(false)
	m1.History = append(m1.History, model.Event{Op: "freeze"})
	e1, err := w.Commit(m1, "freeze", "--upto 0", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if e1.Before != native.Digest(m0) || e1.After != native.Digest(m1) || e1.Seq != 2 {
		t.Errorf("entry = %+v; want seq 2, before %s, after %s", e1, native.Digest(m0), native.Digest(m1))
	}

	// A fresh Open sees the same journal and current model.
	w2, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if j := w2.Journal(); len(j) != 2 || j[0].Op != "import" || j[1].Op != "freeze" || j[1].Args != "--upto 0" {
		t.Fatalf("Journal() = %+v; want import then freeze", j)
	}
	cur, err := w2.Current()
	if err != nil {
		t.Fatal(err)
	}
	if cur.Layers[0].Trainable {
		t.Errorf("Current() layer trainable = true; want the frozen model")
	}
	undone, err := w2.Undo()
	if err != nil || undone.Op != "freeze" {
		t.Fatalf("Undo() = %+v, %v; want the freeze entry", undone, err)
	}
	back, err := w2.Current()
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := native.Encode(back)
	if !bytes.Equal(enc, enc0) {
		t.Errorf("after Undo, Current() encodes differently from the imported model")
	}
	if _, err := os.Stat(filepath.Join(w2.Dir(), "snapshots", e1.Snapshot)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot %s still present after undo (err %v)", e1.Snapshot, err)
	}
}

func TestCorrupt(t *testing.T) {
	root := t.TempDir()
	w, _ := OpenOrCreate(root)
	e, err := w.Commit(tinyModel(t), "import", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(w.Dir(), "snapshots", e.Snapshot)
	b, _ := os.ReadFile(snap)
	b[len(b)-1] ^= 0xff // flip the last weight's bits
	os.WriteFile(snap, b, 0o644)
	if _, err := w.Current(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Current() on a changed snapshot error = %v; want ErrCorrupt", err)
	}
	tests := map[string]string{
		"not json":     "{",
		"empty":        "[]",
		"path escapes": `[{"seq":1,"op":"import","time":"t","after":"x","snapshot":"../../etc/passwd"}]`,
	}
	for name, j := range tests {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(filepath.Join(w.Dir(), "journal.json"), []byte(j), 0o644)
			if _, err := Open(root); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Open(journal %q) error = %v; want ErrCorrupt", j, err)
			}
		})
	}
}

func TestConcurrentCommit(t *testing.T) {
	root := t.TempDir()
	w, _ := OpenOrCreate(root)
	if _, err := w.Commit(tinyModel(t), "import", "", t0); err != nil {
		t.Fatal(err)
	}
	a, _ := Open(root)
	b, _ := Open(root)
	m := tinyModel(t)
	m.Layers[0].SetTrainable(false)
	if _, err := a.Commit(m, "freeze", "--upto 0", t0); err != nil {
		t.Fatal(err)
	}
	// b read the journal before a's commit: its commit must not silently
	// drop a's step.
	if _, err := b.Commit(tinyModel(t), "clone", "", t0); !errors.Is(err, ErrConcurrent) {
		t.Errorf("Commit on a stale workspace error = %v; want ErrConcurrent", err)
	}
	c, _ := Open(root)
	if j := c.Journal(); len(j) != 2 || j[1].Op != "freeze" {
		t.Errorf("journal = %+v; want import, freeze", j)
	}
	if _, err := a.Commit(tinyModel(t), "unfreeze", "", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Undo(); !errors.Is(err, ErrConcurrent) {
		t.Errorf("Undo on a stale workspace error = %v; want ErrConcurrent", err)
	}
}

// FuzzOpen feeds arbitrary journals to Open and Current: no panic, and a
// journal that opens names only snapshots inside the workspace.
func FuzzOpen(f *testing.F) {
	root := f.TempDir()
	w, err := OpenOrCreate(root)
	if err != nil {
		f.Fatal(err)
	}
	m := tinyModel(f)
	if _, err := w.Commit(m, "import", "tiny.h5", time.Unix(0, 0)); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(Path(root), "journal.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`[{"seq":1,"op":"import","after":"x","snapshot":"../../etc/passwd"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, journal []byte) {
		if err := os.WriteFile(filepath.Join(Path(root), "journal.json"), journal, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := Open(root)
		if err != nil {
			return
		}
		for _, e := range w.Journal() {
			if e.Snapshot != filepath.Base(e.Snapshot) || e.Snapshot == ".." {
				t.Fatalf("Open accepted snapshot %q outside the workspace", e.Snapshot)
			}
		}
		if m, err := w.Current(); err == nil {
			if err := m.Validate(); err != nil {
				t.Fatalf("Current returned a model that does not validate: %v", err)
			}
		}
	})
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	w, err := OpenOrCreate(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(tinyModel(t), "import", "", t0); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	tests := []struct {
		start, ceiling, want string
	}{
		{root, "", root},
		{deep, "", root},                    // found from a sub-directory
		{deep, filepath.Dir(root), root},    // the ceiling is above it
		{deep, root, deep},                  // the ceiling hides it
		{other, filepath.Dir(other), other}, // none: start itself
		{filepath.Join(root, "a"), "", root},
	}
	for _, tt := range tests {
		if got := Find(tt.start, tt.ceiling); got != tt.want {
			t.Errorf("Find(%s, %s) = %s; want %s", tt.start, tt.ceiling, got, tt.want)
		}
	}
}

// TestCommitRecorded: the stored model records the step (digests before and
// after, the entry's op, args and time); the caller's model is unchanged.
// CommitHashed with the caller's digest stores what Commit would.
func TestCommitRecorded(t *testing.T) {
	w, err := OpenOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m0 := tinyModel(t)
	e0, err := w.CommitRecorded(m0, "import", "a.h5", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(m0.History) != 0 {
		t.Errorf("caller's model has %d History events after CommitRecorded; want 0", len(m0.History))
	}
	m1 := m0.Clone()
	m1.Layers[0].Trainable = !m1.Layers[0].Trainable
	e1, err := w.CommitRecorded(m1, "freeze", "--upto 0", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.Current()
	if err != nil {
		t.Fatal(err)
	}
	want := model.Event{Op: "freeze", Args: "--upto 0", Time: e1.Time, Before: e0.After, After: e1.After}
	if n := len(got.History); n != 1 || got.History[0] != want {
		t.Fatalf("stored History = %+v; want [%+v]", got.History, want)
	}
	if e1.After != native.Digest(m1) || e1.Before != e0.After {
		t.Errorf("entry digests %s <- %s; want %s <- %s", e1.After, e1.Before, native.Digest(m1), e0.After)
	}
	// CommitHashed with the digest the caller computed stores the same.
	e2, err := w.CommitHashed(m0, native.DigestHashed(m0), "unfreeze", "", t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if e2.After != e0.After {
		t.Errorf("CommitHashed of the imported model: digest %s; want %s", e2.After, e0.After)
	}
	if _, err := w.Current(); err != nil {
		t.Errorf("Current() after CommitHashed = %v", err)
	}
}
