package keras

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

// TestReconcile: a layer whose config and nodes disagree is refused at
// export, naming the layer, in both formats; the model as read is written.
func TestReconcile(t *testing.T) {
	setCfg := func(layer, key, value string) func(*testing.T, *model.Model) {
		return func(t *testing.T, m *model.Model) {
			l := m.Layer(layer)
			o, err := pyjson.ParseObj(l.Config)
			if err != nil {
				t.Fatal(err)
			}
			v, err := pyjson.ParseAny([]byte(value))
			if err != nil {
				t.Fatal(err)
			}
			o.Set(key, v)
			if l.Config, err = pyjson.Encode(o); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name  string
		edit  func(*testing.T, *model.Model)
		layer string // named by the error; "" for no error
		want  string
	}{
		{"as read", func(*testing.T, *model.Model) {}, "", ""},
		{"activation", setCfg("conv_g", "activation", `"sigmoid"`), "conv_g", "computes other numbers"},
		{"units", setCfg("out", "units", "6"), "out", "do not read back"},
		{"pool size", setCfg("maxp", "pool_size", "[3, 3]"), "maxp", "computes other numbers"},
		{"epsilon in the node", func(t *testing.T, m *model.Model) {
			for _, n := range m.Layer("bn").Nodes {
				if n.Op == "BatchNormalization" {
					n.Attrs["epsilon"] = model.Float(0.5)
					return
				}
			}
			t.Fatal("bn has no BatchNormalization node")
		}, "bn", "computes other numbers"},
		{"use_bias without a bias", setCfg("conv_a", "use_bias", "false"), "conv_a", "do not read back"},
	}
	for _, c := range cases {
		for _, w := range writers {
			t.Run(c.name+w.ext, func(t *testing.T) {
				m, err := kin.ReadFile(filepath.Join("..", "..", "importers", "keras", "testdata", "kinds2d.h5"), kin.Options{})
				if err != nil {
					t.Fatal(err)
				}
				c.edit(t, m)
				err = w.write(filepath.Join(t.TempDir(), "m"+w.ext), m)
				if c.layer == "" {
					if err != nil {
						t.Fatalf("write = %v; want nil", err)
					}
					return
				}
				if !errors.Is(err, ErrConfigDrift) || !strings.Contains(err.Error(), `"`+c.layer+`"`) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("write = %v; want ErrConfigDrift naming %q with %q", err, c.layer, c.want)
				}
				t.Log(err)
			})
		}
	}
}

// TestFoldedWritesBack: fold-bn edits nodes (a Conv gains a bias, a Gemm
// its C input) and configs together; what it gives passes the
// reconciliation and reads back with the folded model's predictions.
func TestFoldedWritesBack(t *testing.T) {
	files := []string{filepath.Join("..", "..", "importers", "keras", "testdata", "kinds2d.h5")}
	if dir, err := peers.Find(""); err == nil {
		files = append(files, filepath.Join(dir, "keras3", "bn_dense.keras"), filepath.Join(dir, "keras-apps", "mobilenetv2_a05.keras"))
	} else {
		t.Logf("SKIPPING the cases of real Keras files (keras3/bn_dense.keras, keras-apps/mobilenetv2_a05.keras): %v", err)
	}
	for _, src := range files {
		m := readModel(t, src)
		f, rep, err := surgery.FoldBN(m)
		if err != nil {
			t.Fatalf("FoldBN(%s) = %v", src, err)
		}
		if len(rep.Folded) == 0 {
			t.Fatalf("FoldBN(%s) folded nothing: %+v", src, rep.Skipped)
		}
		for _, w := range writers {
			t.Run(filepath.Base(src)+w.ext, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "f"+w.ext)
				if err := w.write(p, f); err != nil {
					t.Fatalf("write folded model = %v", err)
				}
				back := readModel(t, p)
				x := testInput(f)
				want, got := predict(t, f, x), predict(t, back, x)
				if d := maxDiff(got.F32, want.F32); d > 1e-5 {
					t.Errorf("read back, the folded model predicts %g away from itself", d)
				}
			})
		}
	}
}

// TestSameCompute: every layer of a Keras file, read back from the config
// and weights export writes for it, is the same graph on the same numbers
// (reconcile's fast path, taken for each unchanged layer), and a change of
// one weight, one attribute or one input is seen.
func TestSameCompute(t *testing.T) {
	m, err := kin.ReadFile(filepath.Join("..", "..", "importers", "keras", "testdata", "kinds2d.h5"), kin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	shapes, err := m.InferShapes()
	if err != nil {
		t.Fatal(err)
	}
	var back []*model.Layer
	for _, l := range m.Layers {
		if l.Kind == "InputLayer" {
			continue
		}
		k, err := convertLayer(l, shapes, m.Opset)
		if err != nil {
			t.Fatalf("convertLayer(%q) = %v", l.Name, err)
		}
		r, err := readBack(m, l, k, shapes)
		if err != nil || r == nil {
			t.Fatalf("readBack(%q) = %v, %v; want a layer", l.Name, r, err)
		}
		if !sameCompute(l, r) {
			t.Errorf("sameCompute(%q, read back) = false; want true", l.Name)
		}
		back = append(back, r)
	}
	conv := slices.IndexFunc(back, func(l *model.Layer) bool { return l.Name == "conv_a" })
	if conv < 0 {
		t.Fatal("kinds2d.h5 has no layer conv_a")
	}
	edits := []struct {
		name string
		edit func(l *model.Layer)
	}{
		{"one weight", func(l *model.Layer) { l.Params[0].Data[3] += 1e-7 }},
		{"one attribute", func(l *model.Layer) {
			for _, n := range l.Nodes {
				if n.Op == "Conv" {
					n.Attrs["strides"] = model.Ints(2, 2)
				}
			}
		}},
		{"one input", func(l *model.Layer) { l.Inputs = []string{"other"} }},
	}
	for _, e := range edits {
		r := back[conv].Clone()
		e.edit(r)
		if sameCompute(m.Layer("conv_a"), r) {
			t.Errorf("%s changed: sameCompute = true; want false", e.name)
		}
	}
}
