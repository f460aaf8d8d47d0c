package workspace

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestRemoveStale: what a command killed mid-write leaves in the workspace
// (atomicfile temporaries, snapshots no journal entry names) is removed by
// the next Commit and the next Undo; the journal's snapshots and files that
// are not xfer's stay.
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
	snaps := filepath.Join(dir, "snapshots")
	// Leftovers of killed commands, as atomicfile and Commit name them.
	leave := func(orphan string) {
		for _, p := range []string{
			filepath.Join(dir, ".journal.json.tmp-123456"),
			filepath.Join(snaps, ".000002.xnat.tmp-654321"),
			filepath.Join(snaps, orphan),
		} {
			if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Not xfer's: kept.
	for _, p := range []string{filepath.Join(dir, "notes.txt"), filepath.Join(snaps, "keep.xnat")} {
		if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := func(d string) []string {
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
	m := tinyModel(t)
	m.Layers[0].SetTrainable(false)
	steps := []struct {
		name      string
		orphan    string // a snapshot no journal entry names
		do        func() error
		wantSnaps []string
	}{
		// Written by a command killed before its journal update.
		{"commit", "000003.xnat", func() error { _, err := w.Commit(m, "freeze", "--upto 0", t0.Add(time.Minute)); return err }, []string{"000001.xnat", "000002.xnat", "keep.xnat"}},
		// Left by an undo killed after its journal update.
		{"undo", "000007.xnat", func() error { _, err := w.Undo(); return err }, []string{"000001.xnat", "keep.xnat"}},
	}
	for _, s := range steps {
		leave(s.orphan)
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got, want := names(dir), []string{"journal.json", "lock", "notes.txt", "snapshots"}; !slices.Equal(got, want) {
			t.Errorf("after %s, %s holds %v; want %v", s.name, dir, got, want)
		}
		if got := names(snaps); !slices.Equal(got, s.wantSnaps) {
			t.Errorf("after %s, snapshots/ holds %v; want %v", s.name, got, s.wantSnaps)
		}
		if _, err := w.Current(); err != nil {
			t.Errorf("after %s: Current: %v", s.name, err)
		}
	}
}
