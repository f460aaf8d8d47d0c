package hdf5

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(guards)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.h5")
	if err := os.WriteFile(cut, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "text.h5")
	if err := os.WriteFile(text, []byte("not hdf5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		want       error  // nil: Probe succeeds
		mention    string // part of the error message
	}{
		// probe_cycle.h5 (testdata/probe_gen.py) hard-links g into itself and
		// into h: the walk must end, and int datasets are not damage.
		{"cycle", "testdata/probe_cycle.h5", nil, ""},
		// guards.h5 holds links and external/virtual storage (refused by
		// design, not damage) and shape bombs (damage: ErrFormat).
		{"guards", guards, ErrFormat, "bomb_"},
		{"truncated", cut, ErrFormat, "cut.h5"},
		{"text", text, ErrFormat, "text.h5"},
		{"missing", filepath.Join(dir, "nope.h5"), os.ErrNotExist, "nope.h5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Probe(c.path)
			if c.want == nil {
				if err != nil {
					t.Errorf("Probe(%s) = %v; want nil", c.path, err)
				}
				return
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.mention) {
				t.Errorf("Probe(%s) = %v; want an error wrapping %v naming %q", c.path, err, c.want, c.mention)
			}
		})
	}
}

// TestProbeVisits checks that the walk reaches every object and attribute
// of probe_cycle.h5 exactly once.
func TestProbeVisits(t *testing.T) {
	f, err := Open("testdata/probe_cycle.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &prober{f: f, seen: map[[24]byte]bool{}}
	w.walk("/")
	// Objects: /, g, g/w, h, h/ints (g/loop and h/back are g again).
	if len(w.seen) != 5 || w.first != nil {
		t.Errorf("walk of probe_cycle.h5 saw %d objects, first error %v; want 5, nil", len(w.seen), w.first)
	}
	names, err := f.attrNames("/g")
	if err != nil || strings.Join(names, ",") != "n,names" {
		t.Errorf("attrNames(/g) = %q, %v; want [n names]", names, err)
	}
}
