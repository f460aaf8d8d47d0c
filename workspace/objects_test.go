package workspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// bodyAndHead returns a 200 -> 100 -> 10 model: a body of 20,100 params
// and a head of 1,010.
func bodyAndHead(t *testing.T, headSeed float32) *model.Model {
	t.Helper()
	fill := func(n int, v float32) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = v + float32(i%7)/100
		}
		return out
	}
	body, err := layers.Dense(layers.DenseSpec{Name: "body", Input: "x", InFeatures: 200, Units: 100, Activation: "relu", UseBias: true, Trainable: true,
		Kernel: fill(200*100, 0.5), Bias: fill(100, 0.25)})
	if err != nil {
		t.Fatal(err)
	}
	head, err := layers.Dense(layers.DenseSpec{Name: "head", Input: body.Outputs[0], InFeatures: 100, Units: 10, Activation: "softmax", UseBias: true, Trainable: true,
		Kernel: fill(100*10, headSeed), Bias: fill(10, headSeed)})
	if err != nil {
		t.Fatal(err)
	}
	return &model.Model{Name: "bh", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 200}}},
		Outputs: head.Outputs, Layers: []*model.Layer{body, head}}
}

// dirBytes sums the sizes of the regular files under dir.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		st, err := d.Info()
		if err == nil {
			n += st.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStoredByContent: a step stores only the params it changed; undo
// removes them and gives back the model before, byte for byte.
func TestStoredByContent(t *testing.T) {
	root := t.TempDir()
	w, err := OpenOrCreate(root)
	if err != nil {
		t.Fatal(err)
	}
	m0 := bodyAndHead(t, 1)
	if _, err := w.Commit(m0, "import", "bh.h5", t0); err != nil {
		t.Fatal(err)
	}
	objs := filepath.Join(w.Dir(), "objects")
	const headBytes, bodyBytes = 4 * (100*10 + 10), 4 * (200*100 + 100)
	if got := dirBytes(t, objs); got != headBytes+bodyBytes {
		t.Fatalf("after import, objects/ holds %d bytes; want the model's %d", got, headBytes+bodyBytes)
	}
	steps := []struct {
		op       string
		m        *model.Model
		objects  int   // files in objects/ after the step
		objBytes int64 // their bytes
	}{
		// A new head: the body's objects serve both models.
		{"add-head", bodyAndHead(t, 2), 4 + 2, bodyBytes + 2*headBytes},
		// Flags only: nothing new.
		{"freeze", func() *model.Model { m := bodyAndHead(t, 2); m.Layers[0].SetTrainable(false); return m }(), 6, bodyBytes + 2*headBytes},
	}
	for _, s := range steps {
		before := dirBytes(t, filepath.Join(w.Dir(), "snapshots"))
		if _, err := w.Commit(s.m, s.op, "", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := len(names(t, objs)); got != s.objects {
			t.Errorf("after %s, objects/ holds %d files; want %d", s.op, got, s.objects)
		}
		if got := dirBytes(t, objs); got != s.objBytes {
			t.Errorf("after %s, objects/ holds %d bytes; want %d", s.op, got, s.objBytes)
		}
		// The snapshot itself holds no weights: a header of a few hundred bytes.
		if grew := dirBytes(t, filepath.Join(w.Dir(), "snapshots")) - before; grew > 4096 {
			t.Errorf("%s's snapshot is %d bytes; want the header only", s.op, grew)
		}
		cur, err := w.Current()
		if err != nil {
			t.Fatal(err)
		}
		if native.Digest(cur) != native.Digest(s.m) {
			t.Errorf("after %s, Current() differs from the model committed", s.op)
		}
	}
	for range 2 {
		if _, err := w.Undo(); err != nil {
			t.Fatal(err)
		}
	}
	if got := dirBytes(t, objs); got != headBytes+bodyBytes {
		t.Errorf("after undoing both steps, objects/ holds %d bytes; want the import's %d", got, headBytes+bodyBytes)
	}
	cur, err := w.Current()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := native.Encode(cur)
	want, _ := native.Encode(m0)
	if !bytes.Equal(got, want) {
		t.Errorf("after undo, Current() encodes differently from the model imported")
	}
}

// TestObjectCorrupt: a changed or missing object is a corrupt workspace,
// and a stored snapshot read as a self-contained file says what it is.
func TestObjectCorrupt(t *testing.T) {
	root := t.TempDir()
	w, _ := OpenOrCreate(root)
	e, err := w.Commit(tinyModel(t), "import", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := native.ReadFile(filepath.Join(w.Dir(), "snapshots", e.Snapshot)); !errors.Is(err, native.ErrFormat) || !bytes.Contains([]byte(err.Error()), []byte("read it through the workspace")) {
		t.Errorf("native.ReadFile(stored snapshot) = %v; want ErrFormat saying to read it through the workspace", err)
	}
	objs := filepath.Join(w.Dir(), "objects")
	kernel := filepath.Join(objs, native.Key([]float32{1, 2, 3, 4, 5, 6}))
	b, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatalf("the kernel's object: %v", err)
	}
	for _, tc := range []struct {
		name   string
		damage func() error
	}{
		{"changed", func() error { c := bytes.Clone(b); c[0] ^= 1; return os.WriteFile(kernel, c, 0o644) }},
		{"truncated", func() error { return os.WriteFile(kernel, b[:5], 0o644) }},
		{"missing", func() error { return os.Remove(kernel) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.damage(); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Current(); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Current() with the kernel's object %s = %v; want ErrCorrupt", tc.name, err)
			}
		})
	}
}

// TestOldWorkspace: a workspace made before params were stored by content
// (self-contained NNNNNN.xnat snapshots) and before digests hashed keys (its
// journal holds native.LegacyDigest) is read as it is; its next step is
// stored by content, and undo returns to the old snapshot exactly.
func TestOldWorkspace(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(Path(root), "snapshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m0 := tinyModel(t)
	d, err := native.WriteFile(filepath.Join(dir, "000001.xnat"), m0)
	if err != nil {
		t.Fatal(err)
	}
	legacy := native.LegacyDigest(m0)
	if legacy == d || legacy == "" {
		t.Fatalf("LegacyDigest(m0) = %q; want a digest other than Digest(m0) = %q", legacy, d)
	}
	j, _ := json.Marshal([]Entry{{Seq: 1, Op: "import", Args: "a.h5", Time: "2026-11-01T00:00:00Z", After: legacy, Snapshot: "000001.xnat"}})
	if err := os.WriteFile(filepath.Join(Path(root), "journal.json"), j, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := w.Current(); err != nil || native.Digest(cur) != d {
		t.Fatalf("Current() of an old workspace = %v; want the model of 000001.xnat", err)
	}
	m1 := tinyModel(t)
	m1.Layers[0].SetTrainable(false)
	e, err := w.Commit(m1, "freeze", "--upto 0", t0)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(e.Snapshot) != ".snap" {
		t.Errorf("the old workspace's next snapshot is %s; want a .snap", e.Snapshot)
	}
	if _, err := w.Undo(); err != nil {
		t.Fatal(err)
	}
	cur, err := w.Current()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := native.Encode(cur)
	want, _ := native.Encode(m0)
	if !bytes.Equal(got, want) {
		t.Errorf("after undo in an old workspace, Current() differs from 000001.xnat's model")
	}
}

// BenchmarkCommit32MB commits a model of four 8 MB params to a fresh
// workspace each time: every param hashed and stored (import), or stored
// under the keys DigestHashed gave before (a surgery step's commit).
func BenchmarkCommit32MB(b *testing.B) {
	const n = 2 << 20 // floats per param
	var ls []*model.Layer
	for i := range 4 {
		k := make([]float32, n)
		for j := range k {
			k[j] = float32(i*n+j) * 1e-7
		}
		l, err := layers.Dense(layers.DenseSpec{Name: fmt.Sprintf("d%d", i), Input: "x", InFeatures: 2048, Units: 1024, Activation: "linear", Trainable: true, Kernel: k})
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
	}
	m := &model.Model{Name: "big", Opset: model.DefaultOpset,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2048}}},
		Outputs: []string{ls[3].Outputs[0]}, Layers: ls}
	hashed := native.DigestHashed(m)
	b.SetBytes(4 * 4 * n)
	for _, c := range []struct {
		name   string
		hashed native.Hashed
	}{{"import", native.Hashed{}}, {"hashed-before", hashed}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				root := b.TempDir()
				w, err := OpenOrCreate(root)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := w.CommitHashed(m, c.hashed, "import", "big.h5", time.Unix(0, 0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
