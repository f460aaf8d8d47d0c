package keras

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
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
