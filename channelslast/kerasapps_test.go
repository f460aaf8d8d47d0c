package channelslast_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/xferml/xfer/channelslast"
	kerasexp "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// dumpScript describes Keras files as h5py, zipfile and json see them (not
// our readers): per layer class, the layer entry's keys, its config's
// keys and its weights (name, dtype, rank): weight_names in .h5,
// layers/<path>/vars/<i> in .keras (a sublayer's: <sub>/vars/<i>).
const dumpScript = `
import sys, json, zipfile, io, h5py
def snake(c):
    out = ""
    for i, ch in enumerate(c):
        if ch.isupper() and i > 0 and (not c[i-1].isupper() or (i + 1 < len(c) and c[i+1].islower())):
            out += "_"
        out += ch.lower()
    return out
def keras_file(path):
    z = zipfile.ZipFile(path)
    cfg = json.loads(z.read("config.json"))
    w = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    out = {}
    def walk(layers):
        for l in layers:
            c = l["class_name"]
            if c in ("Functional", "Sequential"):
                walk(l["config"]["layers"]); continue
            if c in out:
                continue
            g = w.get("layers/" + snake(c))
            ws = []
            def visit(prefix, grp):
                if "vars" in grp:
                    ws.extend([[prefix + k, grp["vars"][k].dtype.str, len(grp["vars"][k].shape)] for k in sorted(grp["vars"].keys(), key=int)])
                for n in sorted(grp.keys()):
                    if n != "vars" and isinstance(grp[n], h5py.Group):
                        visit(prefix + n + "/vars/", grp[n])
            if g is not None:
                visit("", g)
            out[c] = {"entry": sorted(k for k in l if k != "inbound_nodes"), "config": sorted(l["config"].keys()), "weights": ws}
    walk(cfg["config"]["layers"])
    return out
def h5_file(path):
    f = h5py.File(path, "r")
    cfg = json.loads(f.attrs["model_config"])
    out = {}
    def walk(layers):
        for l in layers:
            c = l["class_name"]
            if c in ("Functional", "Sequential", "Model"):
                walk(l["config"]["layers"]); continue
            if c in out:
                continue
            g = f["model_weights"].get(l["config"]["name"])
            ws = None
            if g is not None:
                names = [x.decode() if isinstance(x, bytes) else x for x in g.attrs["weight_names"]]
                ws = [[n.split("/", 1)[-1], g[n].dtype.str, len(g[n].shape)] for n in names]
            out[c] = {"entry": sorted(k for k in l if k != "inbound_nodes"), "config": sorted(l["config"].keys()), "weights": ws}
    walk(cfg["config"]["layers"])
    return out
print(json.dumps({p: keras_file(p) if p.endswith(".keras") else h5_file(p) for p in sys.argv[1:]}))
`

type layerDump struct {
	Entry   []string `json:"entry"`
	Config  []string `json:"config"`
	Weights [][]any  `json:"weights"`
}

// kindsSource is a channels-first model whose conversion holds every Keras
// layer class the conversion writes.
func kindsSource() *model.Model {
	g := newGraph(4, 8, 8)
	x := g.add("Conv", attrs("pads", []int64{1, 1, 1, 1}, "strides", []int64{2, 2}), "x", p(8, 4, 3, 3), p(8)) // ZeroPadding2D, Conv2D
	x = g.add("BatchNormalization", nil, x, p(8), p(8), p(8), pos(8))                                          // BatchNormalization
	x = g.add("Relu", nil, x)                                                                                  // Activation
	d := g.add("Conv", attrs("group", 8, "pads", []int64{1, 1, 1, 1}), x, p(8, 1, 3, 3), p(8))                 // DepthwiseConv2D
	d = g.add("Clip", nil, d, scalar(0), scalar(6))                                                            // ReLU
	s := g.add("GlobalAveragePool", nil, d)                                                                    // GlobalAveragePooling2D
	s = g.add("Conv", nil, s, p(8, 8, 1, 1), p(8))
	s = g.add("HardSigmoid", attrs("alpha", 1.0/6), s)          // Rescaling, ReLU
	d = g.add("Mul", nil, d, s)                                 // Multiply
	x = g.add("Add", nil, x, d)                                 // Add
	x = g.add("Concat", attrs("axis", 1), x, d)                 // Concatenate
	x = g.add("Slice", nil, x, iconst{0}, iconst{8}, iconst{1}) // Cropping2D (channels_first)
	x = g.add("Concat", attrs("axis", 1), x, d)
	x = g.add("Reshape", nil, x, iconst{-1, 2, 8, 4, 4})
	x = g.add("Transpose", attrs("perm", []int64{0, 2, 1, 3, 4}), x)
	x = g.add("Reshape", nil, x, iconst{-1, 16, 4, 4})                                           // Reshape, Permute
	x = g.add("LeakyRelu", attrs("alpha", 0.1), x)                                               // LeakyReLU
	a := g.add("AveragePool", attrs("kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}), x) // AveragePooling2D
	x = g.add("MaxPool", attrs("kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}), x)      // MaxPooling2D
	x = g.add("Max", nil, x, a)                                                                  // Maximum
	x = g.add("Softmax", attrs("axis", 2), x)                                                    // Softmax
	x = g.add("Flatten", nil, x)                                                                 // Flatten
	x = g.add("LayerNormalization", attrs("epsilon", 1e-6), x, p(64), p(64))                     // LayerNormalization
	return g.done(g.add("Gemm", attrs("transB", 1), x, p(5, 64), p(5)))                          // Dense
}

// dialect lists the differences our files have from Keras 3.16's on
// purpose: config keys only ours or only theirs write, per format and
// class, and why.
var dialect = []struct {
	ext, class   string
	ours, theirs []string
	why          string
}{
	{".h5", "Dense", []string{"activity_regularizer"}, []string{"quantization_config"},
		".h5 is tf.keras 2.13's dialect (exporters/keras): its Dense writes activity_regularizer and refuses Keras 3's quantization_config"},
	{".h5", "BatchNormalization", nil, []string{"renorm", "renorm_clipping", "renorm_momentum", "synchronized"},
		"keys tf.keras 2.13's BatchNormalization does not write (renorm*) or take (synchronized)"},
	{".h5", "LeakyReLU", []string{"alpha"}, []string{"negative_slope"}, "tf.keras 2 calls the slope alpha"},
	{".keras", "Dense", []string{"activity_regularizer"}, []string{"quantization_config"},
		"Keras 3.16's Dense takes activity_regularizer but does not write it; quantization_config is new in recent Keras 3 releases"},
	{".keras", "BatchNormalization", nil, []string{"renorm", "renorm_clipping", "renorm_momentum", "synchronized"},
		"keys of recent Keras 3 releases, left out so that older ones load the file"},
	{".h5", "LayerNormalization", nil, []string{"rms_scaling"}, "Keras 3 only (default False); tf.keras 2.13 refuses it"},
	{".keras", "LayerNormalization", nil, []string{"rms_scaling"}, "written by Keras 3 only (default False), left out as in .h5"},
	{".h5", "MultiHeadAttention", nil, []string{"seed", "sliding_window", "use_gate"}, "keys of recent Keras 3 releases (defaults None/False), which tf.keras 2.13 refuses"},
	{".keras", "MultiHeadAttention", nil, []string{"seed", "sliding_window", "use_gate"}, "keys of recent Keras 3 releases (defaults None/False), left out so that older ones load the file"},
}

// without returns keys less the dialect's keys for ext/class on one side.
func without(keys []string, ext, class string, ours bool) []string {
	return slices.DeleteFunc(slices.Clone(keys), func(k string) bool {
		for _, d := range dialect {
			if d.ext == ext && d.class == class && slices.Contains(map[bool][]string{true: d.ours, false: d.theirs}[ours], k) {
				return true
			}
		}
		return false
	})
}

// probeScript has Keras write a functional model of the classes the
// conversion builds that no keras-apps file has, in both formats.
const probeScript = `
import sys, keras
from keras import layers as L
x = keras.Input((8, 8, 4))
s = keras.Input((5, 8))
ys = [L.AveragePooling2D(2)(x), L.MaxPooling2D(2)(x), L.Permute((2, 1, 3))(x), L.Softmax(axis=2)(x), L.ELU(0.5)(x),
      L.LeakyReLU(0.1)(x), L.Flatten()(x), L.Concatenate()([x, x]), L.Maximum()([x, x]), L.LayerNormalization()(x),
      L.Cropping2D(((0, 0), (1, 2)), data_format="channels_first")(x),
      L.MultiHeadAttention(num_heads=2, key_dim=4)(s, s), L.Cropping1D((1, 0))(s),
      L.Rescaling(1.0, offset=[[0.5] * 8] * 5)(s)]
m = keras.Model([x, s], ys)
m.save(sys.argv[1] + ".keras")
m.save(sys.argv[1] + ".h5")
`

// TestKerasFilesLikeKerasApps writes a converted model holding every layer
// class the conversion builds to .h5 and .keras and compares, class by
// class, with Keras 3.16-written files: those in ../shared/interop/keras-apps
// and, for the classes they lack, a model real Keras writes in the test
// (when its runtime is present). Compared: the layer entry's keys (of a
// functional model), the config's keys, and the weights' names (.h5) or var
// paths (.keras), dtypes and ranks; the differences of the .h5 dialect
// (tf.keras 2.13's) are listed in dialect.
func TestKerasFilesLikeKerasApps(t *testing.T) {
	dir := peers.Interop(t, "keras-apps", "the converted models' Keras files compared with Keras-written ones")
	if err := exec.Command("/usr/bin/python3", "-c", "import h5py").Run(); err != nil {
		t.Skipf("SKIPPING: /usr/bin/python3 cannot import h5py (%v): install python3-h5py; the Keras file comparison did NOT run", err)
	}
	tmp := t.TempDir()
	var oursAll []map[string]string
	for name, src := range map[string]*model.Model{"kinds": kindsSource(), "vit": vitSource(2)} {
		k, _, err := channelslast.Convert(src, channelslast.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ours := map[string]string{".h5": filepath.Join(tmp, name+".h5"), ".keras": filepath.Join(tmp, name+".keras")}
		if err := kerasexp.WriteH5(ours[".h5"], k); err != nil {
			t.Fatal(err)
		}
		if err := kerasexp.WriteKeras(ours[".keras"], k); err != nil {
			t.Fatal(err)
		}
		oursAll = append(oursAll, ours)
	}
	// Functional models only: a Sequential model's entries have no "name".
	var refs []string
	for _, name := range []string{"mobilenetv2_a05", "efficientnetb0_small", "mobilenetv3small_min", "transfer_resnet_nested"} {
		for _, ext := range []string{".h5", ".keras"} {
			if p := filepath.Join(dir, name+ext); fileExists(p) {
				refs = append(refs, p)
			}
		}
	}
	unchecked := make([][]string, len(oursAll))
	var all []string
	for i, ours := range oursAll {
		unchecked[i] = compareClasses(t, ours, refs, nil)
		all = append(all, unchecked[i]...)
	}
	t.Run("classes keras-apps lacks", func(t *testing.T) {
		kp := peers.KerasRuntime(t, "the comparison of "+strings.Join(all, ", ")+" with Keras-written files")
		probe := filepath.Join(t.TempDir(), "probe")
		kp.Run(t, probeScript, probe)
		for i, ours := range oursAll {
			if left := compareClasses(t, ours, []string{probe + ".h5", probe + ".keras"}, unchecked[i]); len(left) > 0 {
				t.Errorf("classes compared with no Keras-written file: %v", left)
			}
		}
	})
}

func fileExists(p string) bool {
	_, err := exec.Command("test", "-f", p).Output()
	return err == nil
}

// compareClasses compares each layer class of our files (those in only,
// when given) with the first reference file of the same format that has
// it, and returns the classes no reference has.
func compareClasses(t *testing.T, ours map[string]string, refs []string, only []string) []string {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", dumpScript, ours[".h5"], ours[".keras"]}, refs...)...).Output()
	if err != nil {
		t.Fatalf("h5py dump: %v", err)
	}
	var dumps map[string]map[string]layerDump
	if err := json.Unmarshal(out, &dumps); err != nil {
		t.Fatal(err)
	}
	missing := map[string]bool{}
	for _, ext := range []string{".h5", ".keras"} {
		var checked []string
		for class, got := range dumps[ours[ext]] {
			if class == "InputLayer" || only != nil && !slices.Contains(only, class) {
				continue
			}
			var want *layerDump
			var from string
			for _, r := range refs {
				if filepath.Ext(r) == ext {
					if d, ok := dumps[r][class]; ok {
						want, from = &d, filepath.Base(r)
						break
					}
				}
			}
			if want == nil {
				missing[class] = true
				continue
			}
			checked = append(checked, class)
			if !slices.Equal(got.Entry, want.Entry) {
				t.Errorf("%s %s entry keys %v; %s has %v", ext, class, got.Entry, from, want.Entry)
			}
			if g, w := without(got.Config, ext, class, true), without(want.Config, ext, class, false); !slices.Equal(g, w) {
				t.Errorf("%s %s config keys %v; %s has %v", ext, class, g, from, w)
			}
			// Weights: the same names in order (tf.keras 2's .h5 adds ":0"
			// and calls DepthwiseConv2D's kernel depthwise_kernel), float32,
			// the same ranks; a layer without bias has one weight fewer.
			if len(got.Weights) == 0 != (len(want.Weights) == 0) {
				t.Errorf("%s %s weights %v; %s has %v", ext, class, got.Weights, from, want.Weights)
				continue
			}
			for i := 0; i < min(len(got.Weights), len(want.Weights)); i++ {
				gw, ww := got.Weights[i], want.Weights[i]
				name := strings.TrimSuffix(strings.Replace(gw[0].(string), "depthwise_kernel", "kernel", 1), ":0")
				if name != ww[0] || gw[1] != ww[1] || gw[2] != ww[2] {
					t.Errorf("%s %s weight %d = %v; %s has %v", ext, class, i, gw, from, ww)
				}
			}
		}
		sort.Strings(checked)
		t.Logf("%s: compared %v with %d Keras-written files", ext, checked, len(refs))
	}
	var left []string
	for c := range missing {
		left = append(left, c)
	}
	sort.Strings(left)
	return left
}
