package keras

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

// nestedFixtures are the keras-apps models with a nested model (and, in
// seq_in_functional, a shared layer).
var nestedFixtures = []string{"transfer_resnet_nested", "seq_in_functional"}

// TestNestedConfigLikeKeras3: the config.json of a model with a nested
// Functional base (frozen, called with training=False) and of one with a
// nested Sequential block and a shared Conv2D is the very string Keras 3.16
// wrote, once Python object ids and InputLayer's optional are taken out of
// Keras's.
func TestNestedConfigLikeKeras3(t *testing.T) {
	dir := peers.Interop(t, "keras-apps", "the nested models' config.json compared with Keras 3's")
	var paths []string
	for _, name := range nestedFixtures {
		paths = append(paths, filepath.Join(dir, name+".keras"))
	}
	sameConfigJSON(t, paths)
}

// TestNestedLegacyWeightOrder: in our .h5, the group of a nested model
// holds the same weights in the same order as Keras 3's own .h5 of the
// model (Keras loads a legacy .h5 by position: the nested model's
// trainable weights, then the others, each in layer order).
// TestNestedRealKeras covers a partly unfrozen base, where the order
// differs from the layers' order.
func TestNestedLegacyWeightOrder(t *testing.T) {
	dir := peers.Interop(t, "keras-apps", "the nested models' .h5 weight order compared with Keras 3's")
	dumpH5(t) // skips without h5py
	script := `
import h5py, sys, numpy as np
src, out = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = [n.decode() if isinstance(n, bytes) else n for n in src["model_weights"].attrs["layer_names"]]
got = [n.decode() if isinstance(n, bytes) else n for n in out["model_weights"].attrs["layer_names"]]
assert names == got, (names, got)
for layer in names:
    a = src["model_weights"][layer].attrs["weight_names"]
    b = out["model_weights"][layer].attrs["weight_names"]
    assert len(a) == len(b), (layer, len(a), len(b))
    for x, y in zip(a, b):
        va, vb = src["model_weights"][layer][x][()], out["model_weights"][layer][y][()]
        assert va.shape == vb.shape and np.array_equal(va, vb), (layer, x, y)
print("same")
`
	for _, name := range nestedFixtures {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(dir, name+".h5")
			out := filepath.Join(t.TempDir(), name+".h5")
			if err := WriteH5(out, readModel(t, src)); err != nil {
				t.Fatalf("WriteH5 = %v", err)
			}
			if got, err := exec.Command("/usr/bin/python3", "-c", script, src, out).CombinedOutput(); err != nil || strings.TrimSpace(string(got)) != "same" {
				t.Errorf("weights of %s differ from Keras's .h5: %v\n%s", name, err, got)
			}
		})
	}
}

// TestNestedRealKeras: real Keras 3.16 loads the .h5 and .keras files we
// write for the nested fixtures, shows the nested model as one layer with
// its class, trainable flag and inner layers, counts the params as we do,
// and predicts Keras's predictions; also after unfreezing the base's top.
func TestNestedRealKeras(t *testing.T) {
	dir := peers.Interop(t, "keras-apps", "real Keras loading our nested models")
	k := peers.KerasRuntime(t, "real Keras loading our nested .h5/.keras files")
	script := `
import sys, numpy as np, keras
path, x, want = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3])
m = keras.saving.load_model(path, compile=False)
y = m.predict(x, verbose=0)
assert np.all(np.abs(y - want) <= 1e-4 + 1e-3 * np.abs(want)), np.abs(y - want).max()
def desc(layer):
    s = "%s:%s:%s" % (layer.name, layer.__class__.__name__, layer.trainable)
    if hasattr(layer, "layers"):
        s += "[" + ",".join(desc(l) for l in layer.layers) + "]"
    return s
tr = sum(int(np.prod(w.shape)) for w in m.trainable_weights)
print(m.count_params(), tr, ";".join(desc(l) for l in m.layers))
`
	for _, name := range nestedFixtures {
		m := readModel(t, filepath.Join(dir, name+".keras"))
		variants := map[string]*model.Model{"as read": m}
		if m.Submodel("resnet_base") != nil {
			un, err := surgery.UnfreezeAt(m, "resnet_base:19")
			if err != nil {
				t.Fatalf("Unfreeze: %v", err)
			}
			variants["top unfrozen"] = un
		}
		for vname, v := range variants {
			for _, w := range []struct {
				ext   string
				write func(string, *model.Model) error
			}{{".h5", WriteH5}, {".keras", WriteKeras}} {
				t.Run(name+"/"+vname+w.ext, func(t *testing.T) {
					out := filepath.Join(t.TempDir(), name+w.ext)
					if err := w.write(out, v); err != nil {
						t.Fatalf("write: %v", err)
					}
					got := strings.TrimSpace(k.Run(t, script, out, filepath.Join(dir, name+"_input.npy"), filepath.Join(dir, name+"_pred.npy")))
					tot, tr, _ := v.ParamCounts()
					if want := kerasSummary(v, tot, tr); got != want {
						t.Errorf("Keras sees\n %s\nwant\n %s", got, want)
					}
				})
			}
		}
	}
}

// kerasSummary renders m as TestNestedRealKeras's script prints a Keras
// model: params, trainable params, then each layer as name:class:trainable,
// nested models with their layers in brackets.
func kerasSummary(m *model.Model, total, trainable int) string {
	var desc func(scope string) []string
	desc = func(scope string) []string {
		var out []string
		for _, it := range m.Items(scope) {
			if it.Sub != nil {
				out = append(out, model.LocalName(it.Sub.Name)+":"+it.Sub.Kind+":"+pyBool(it.Sub.Trainable)+"["+strings.Join(desc(it.Sub.Name), ",")+"]")
				continue
			}
			out = append(out, model.LocalName(it.Layer.Name)+":"+it.Layer.Kind+":"+pyBool(it.Layer.Trainable))
		}
		return out
	}
	return strings.Join([]string{strconv.Itoa(total), strconv.Itoa(trainable), strings.Join(desc(""), ";")}, " ")
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
