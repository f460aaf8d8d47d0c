package workspace

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xferml/xfer/internal/native"
)

// TestRemoveStale: what a command killed mid-write leaves in the workspace
// (atomicfile temporaries, snapshots no journal entry names, objects no
// snapshot refers to) is removed by the next Commit and the next Undo; the
// journal's snapshots, their objects and files that are not xfer's stay.
func TestRemoveStale(t *testing.T) {
	root := t.TempDir()
	w, err := OpenOrCreate(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(tinyModel(t), "import", "a.h5", t0); err != nil {
		t.Fatal(err)
	}
	dir := w.Dir()
	snaps, objs := filepath.Join(dir, "snapshots"), filepath.Join(dir, "objects")
	kept := names(t, objs) // the import's params
	// Leftovers of killed commands, as atomicfile and Commit name them.
	orphanObject := native.Key([]float32{1, 2, 3})
	leave := func(orphan string) {
		for _, p := range []string{
			filepath.Join(dir, ".journal.json.tmp-123456"),
			filepath.Join(snaps, ".000002.snap.tmp-654321"),
			filepath.Join(snaps, orphan),
			filepath.Join(objs, orphanObject),
			filepath.Join(objs, "."+orphanObject+".tmp-123"),
		} {
			if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Not xfer's: kept.
	for _, p := range []string{filepath.Join(dir, "notes.txt"), filepath.Join(snaps, "keep.xnat"), filepath.Join(objs, "keep")} {
		if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept = append(kept, "keep")
	slices.Sort(kept)
	m := tinyModel(t)
	m.Layers[0].SetTrainable(false)
	steps := []struct {
		name      string
		orphan    string // a snapshot no journal entry names
		do        func() error
		wantSnaps []string
	}{
		// Written by a command killed before its journal update.
		{"commit", "000003.snap", func() error { _, err := w.Commit(m, "freeze", "--upto 0", t0.Add(time.Minute)); return err }, []string{"000001.snap", "000002.snap", "keep.xnat"}},
		// Left by an undo killed after its journal update (or by a
		// workspace made before snapshots were stored by content).
		{"undo", "000007.xnat", func() error { _, err := w.Undo(); return err }, []string{"000001.snap", "keep.xnat"}},
	}
	for _, s := range steps {
		leave(s.orphan)
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got, want := names(t, dir), []string{"journal.json", "lock", "notes.txt", "objects", "snapshots"}; !slices.Equal(got, want) {
			t.Errorf("after %s, %s holds %v; want %v", s.name, dir, got, want)
		}
		if got := names(t, snaps); !slices.Equal(got, s.wantSnaps) {
			t.Errorf("after %s, snapshots/ holds %v; want %v", s.name, got, s.wantSnaps)
		}
		// The freeze changed flags only: the import's objects serve both.
		if got := names(t, objs); !slices.Equal(got, kept) {
			t.Errorf("after %s, objects/ holds %v; want %v", s.name, got, kept)
		}
		if _, err := w.Current(); err != nil {
			t.Errorf("after %s: Current: %v", s.name, err)
		}
	}
}

// names lists the directory d.
func names(t *testing.T, d string) []string {
	t.Helper()
	es, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
