package keras

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// h5dump describes every object and attribute of HDF5 files as h5py sees
// them (Debian's h5py, a reader independent of ours): per file, per path,
// the kind, shape, dtype and each attribute's HDF5 type (variable-length or
// not, character set, float width), shape and value. model_config is parsed.
const h5dump = `
import h5py, json, sys
def attr(obj, k):
    a = obj.attrs.get_id(k); t = a.get_type(); v = obj.attrs[k]
    d = {"shape": list(a.shape)}
    if isinstance(t, h5py.h5t.TypeStringID):
        d["type"] = "vlen-str" if t.is_variable_str() else "fixed-str"
        d["cset"] = t.get_cset()
    else:
        d["type"] = "%s%d" % (v.dtype.kind, v.dtype.itemsize)
    if k == "model_config":
        d["value"] = json.loads(v)
    elif hasattr(v, "tolist"):
        d["value"] = [x.decode() if isinstance(x, bytes) else x for x in v.tolist()]
    else:
        d["value"] = v.decode() if isinstance(v, bytes) else v
    return d
out = {}
for fn in sys.argv[1:]:
    f = h5py.File(fn, "r")
    objs = {"/": {"kind": "group", "attrs": {k: attr(f, k) for k in f.attrs}}}
    def visit(name, o):
        e = {"kind": "dataset" if isinstance(o, h5py.Dataset) else "group", "attrs": {k: attr(o, k) for k in o.attrs}}
        if e["kind"] == "dataset":
            e["shape"] = list(o.shape); e["dtype"] = o.dtype.str
            e["layout"] = [o.chunks is None, o.compression]
        objs[name] = e
    f.visititems(visit)
    out[fn] = objs
print(json.dumps(out))
`

type h5Attr struct {
	Shape []int  `json:"shape"`
	Type  string `json:"type"`
	Cset  *int   `json:"cset"`
	Value any    `json:"value"`
}

type h5Obj struct {
	Kind   string            `json:"kind"`
	Attrs  map[string]h5Attr `json:"attrs"`
	Shape  []int             `json:"shape"`
	DType  string            `json:"dtype"`
	Layout []any             `json:"layout"`
}

// dumpH5 runs h5dump over files; it skips the test loudly without h5py.
func dumpH5(t *testing.T, files ...string) map[string]map[string]h5Obj {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import h5py").Run(); err != nil {
		t.Skipf("SKIPPING: %s cannot import h5py (%v): install python3-h5py; these tests check written files with a reader independent of ours", py, err)
	}
	out, err := exec.Command(py, append([]string{"-c", h5dump}, files...)...).Output()
	if err != nil {
		t.Fatalf("h5py dump of %v: %v", files, err)
	}
	var d map[string]map[string]h5Obj
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("h5py dump: %v", err)
	}
	return d
}

// TestH5LayoutLikeTFKeras writes each tf.keras 2.x fixture back as .h5 and
// compares the file, object by object and attribute by attribute (HDF5
// types included), with the file tf.keras wrote. Allowed differences: our
// xfer_history attribute; keras_version for fixtures older than 2.13.1 (and
// their initializers, which 2.13 serialises with module/registered_name);
// batch_input_shape on the first non-input layer (tf.keras 2.13 repeats the
// InputLayer's shape there when the model was built with input_shape=...).
func TestH5LayoutLikeTFKeras(t *testing.T) {
	dir := peers.Interop(t, "", "the .h5 layout compared with tf.keras-written files")
	names := []string{"sigmoid", "relu", "softmax", "linear", "conv1d_1layer"}
	tmp := t.TempDir()
	var files []string
	for _, name := range names {
		src := filepath.Join(dir, "keras", name, name+".h5")
		out := filepath.Join(tmp, name+".h5")
		if err := WriteH5(out, readModel(t, src)); err != nil {
			t.Fatalf("WriteH5(%s) = %v", name, err)
		}
		files = append(files, src, out)
	}
	d := dumpH5(t, files...) // one python process for all files
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			want, got := d[files[2*i]], d[files[2*i+1]]
			ka := want["/"].Attrs["keras_version"].Value
			is213 := ka == H5KerasVersion
			delete(got["/"].Attrs, HistoryKey)
			for _, o := range []map[string]h5Obj{want, got} {
				for path, ob := range o {
					if !is213 && (path == "/" || path == "model_weights") {
						delete(ob.Attrs, "keras_version")
					}
				}
				normConfig(o["/"].Attrs["model_config"].Value, !is213)
			}
			if !reflect.DeepEqual(keys(got), keys(want)) {
				t.Fatalf("objects = %v; want %v", keys(got), keys(want))
			}
			for path, w := range want {
				g := got[path]
				if !reflect.DeepEqual(g, w) {
					gj, _ := json.Marshal(g)
					wj, _ := json.Marshal(w)
					t.Errorf("object %q:\n got %s\nwant %s", path, gj, wj)
				}
			}
		})
	}
}

// TestH5ConfigStringLikeTFKeras: for the files tf.keras 2.13.1 wrote, our
// model_config is the very string tf.keras writes (Python's json.dumps
// output), once the first layer's repeated batch_input_shape is taken out
// of tf.keras's.
func TestH5ConfigStringLikeTFKeras(t *testing.T) {
	dir := peers.Interop(t, "", "the .h5 model_config compared with tf.keras's")
	var args []string
	for _, name := range []string{"sigmoid", "relu", "softmax"} {
		src := filepath.Join(dir, "keras", name, name+".h5")
		out := filepath.Join(t.TempDir(), name+".h5")
		if err := WriteH5(out, readModel(t, src)); err != nil {
			t.Fatalf("WriteH5(%s) = %v", name, err)
		}
		args = append(args, src, out)
	}
	dumpH5(t) // skips without h5py
	script := `
import h5py, json, sys
for src, out in zip(sys.argv[1::2], sys.argv[2::2]):
    c = json.loads(h5py.File(src, "r").attrs["model_config"])
    for l in c["config"]["layers"]:
        if l["class_name"] != "InputLayer":
            l["config"].pop("batch_input_shape", None)
    got = h5py.File(out, "r").attrs["model_config"]
    print(src, "same" if json.dumps(c) == got else "DIFFERENT\n got %s\nwant %s" % (got, json.dumps(c)))
`
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	same := 0
	for _, l := range lines {
		if strings.HasSuffix(l, " same") {
			same++
		}
	}
	if same != 3 {
		t.Errorf("model_config strings:\n%s", out)
	}
}

// TestKerasConfigStringLikeKeras3: config.json is the very string Keras
// 3.16 wrote, once the Python object ids (shared_object_id) and InputLayer's
// optional are taken out of Keras's (Python's json.dumps does the
// comparison's rendering).
func TestKerasConfigStringLikeKeras3(t *testing.T) {
	dir := peers.Interop(t, "", "the .keras config.json compared with Keras 3's")
	var paths []string
	for _, name := range []string{"mlp_small", "mlp_selu_frozen", "functional_branch", "bn_dense", "conv1d_small"} {
		paths = append(paths, filepath.Join(dir, "keras3", name+".keras"))
	}
	sameConfigJSON(t, paths)
}

// sameConfigJSON writes each Keras-written .keras file of paths back with
// WriteKeras and checks that our config.json is the very string Keras wrote,
// once the Python object ids (shared_object_id) and InputLayer's optional are
// taken out of Keras's (Python's json.dumps does the comparison's rendering).
func sameConfigJSON(t *testing.T, paths []string) {
	t.Helper()
	var args []string
	for _, src := range paths {
		out := filepath.Join(t.TempDir(), filepath.Base(src))
		if err := WriteKeras(out, readModel(t, src)); err != nil {
			t.Fatalf("WriteKeras(%s) = %v", src, err)
		}
		args = append(args, src, out)
	}
	script := `
import json, sys, zipfile
def scrub(x):
    if isinstance(x, dict):
        x.pop("shared_object_id", None)
        if x.get("class_name") == "InputLayer":
            x["config"].pop("optional", None)
        for v in x.values():
            scrub(v)
    elif isinstance(x, list):
        for v in x:
            scrub(v)
for src, out in zip(sys.argv[1::2], sys.argv[2::2]):
    want = json.loads(zipfile.ZipFile(src).read("config.json"))
    scrub(want)
    got = zipfile.ZipFile(out).read("config.json").decode()
    print(src, "same" if json.dumps(want) == got else "DIFFERENT\n got %s\nwant %s" % (got, json.dumps(want)))
`
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), " same\n"); n != len(paths) {
		t.Errorf("config.json strings (%d of %d the same):\n%s", n, len(paths), out)
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

// normConfig removes the allowed differences from a parsed model_config.
func normConfig(v any, stripModules bool) {
	root, ok := v.(map[string]any)
	if !ok {
		return
	}
	cfg, _ := root["config"].(map[string]any)
	layers, _ := cfg["layers"].([]any)
	for _, l := range layers {
		lm, _ := l.(map[string]any)
		if lm["class_name"] != "InputLayer" {
			if c, ok := lm["config"].(map[string]any); ok {
				delete(c, "batch_input_shape")
				if stripModules {
					for k, x := range c {
						if o, ok := x.(map[string]any); ok && strings.HasSuffix(k, "_initializer") {
							delete(o, "module")
							delete(o, "registered_name")
						}
					}
				}
			}
		}
	}
}

// TestH5LayoutKeras3Models writes the Keras 3 fixtures as .h5 (tf.keras 2.13
// dialect by design) and checks with h5py what must match the Keras 3 .h5
// written from the same model: the same layer_names, the same number of
// weights per layer with the same weight names once the prefix Keras 3 adds
// is taken off, the same dataset shapes, float32 contiguous uncompressed
// datasets, and the attribute types of tf.keras 2.13 (variable-length
// strings; an empty float64 weight_names for layers without weights).
func TestH5LayoutKeras3Models(t *testing.T) {
	dir := peers.Interop(t, "", "the .h5 layout compared with Keras 3-written files")
	names := []string{"mlp_small", "mlp_selu_frozen", "functional_branch", "bn_dense", "conv1d_small"}
	tmp := t.TempDir()
	var files []string
	history := []model.Event{{Op: "import", Args: "model.h5", Time: "2026-11-27T10:00:00Z"}, {Op: "freeze", Args: "--upto 2", Time: "2026-11-27T10:01:00Z"}}
	for _, name := range names {
		src := filepath.Join(dir, "keras3", name+".h5")
		out := filepath.Join(tmp, name+".h5")
		m := readModel(t, src)
		m.History = history
		if err := WriteH5(out, m); err != nil {
			t.Fatalf("WriteH5(%s) = %v", name, err)
		}
		files = append(files, src, out)
	}
	d := dumpH5(t, files...)
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			want, got := d[files[2*i]], d[files[2*i+1]]
			wl := want["model_weights"].Attrs["layer_names"]
			gl := got["model_weights"].Attrs["layer_names"]
			if !reflect.DeepEqual(gl.Value, wl.Value) || gl.Type != "vlen-str" {
				t.Errorf("layer_names = %v (%s); want %v (vlen-str)", gl.Value, gl.Type, wl.Value)
			}
			for _, ln := range wl.Value.([]any) {
				layer := "model_weights/" + ln.(string)
				ww, gw := want[layer].Attrs["weight_names"], got[layer].Attrs["weight_names"]
				if ww.Type != gw.Type || !reflect.DeepEqual(ww.Shape, gw.Shape) {
					t.Errorf("%s weight_names type %s %v; want %s %v", layer, gw.Type, gw.Shape, ww.Type, ww.Shape)
					continue
				}
				if ww.Type == "f8" {
					continue // no weights: empty float64 array in both
				}
				for i, wn := range ww.Value.([]any) {
					gn := gw.Value.([]any)[i].(string)
					// Keras 3 writes "<model>/<layer>/<weight>" or
					// "<layer>/<weight>"; tf.keras 2.13 "<layer>/<weight>:0".
					parts := strings.Split(wn.(string), "/")
					if tail := strings.Join(parts[len(parts)-2:], "/") + ":0"; gn != tail {
						t.Errorf("%s weight %d = %q; want %q", layer, i, gn, tail)
					}
					wd, gd := want[layer+"/"+wn.(string)], got[layer+"/"+gn]
					if gd.Kind != "dataset" || !reflect.DeepEqual(gd.Shape, wd.Shape) || gd.DType != "<f4" || !reflect.DeepEqual(gd.Layout, []any{true, nil}) {
						t.Errorf("%s/%s = %+v; want a contiguous <f4 dataset of shape %v", layer, gn, gd, wd.Shape)
					}
				}
			}
			for _, a := range []string{"backend", "keras_version", "model_config"} {
				w, g := want["/"].Attrs[a], got["/"].Attrs[a]
				if g.Type != w.Type || *g.Cset != *w.Cset {
					t.Errorf("root attribute %s: %s cset %d; want %s cset %d", a, g.Type, *g.Cset, w.Type, *w.Cset)
				}
			}
			h := got["/"].Attrs[HistoryKey]
			var hist []model.Event
			raw, _ := json.Marshal(h.Value)
			var s string
			if json.Unmarshal(raw, &s) != nil || json.Unmarshal([]byte(s), &hist) != nil || !reflect.DeepEqual(hist, history) {
				t.Errorf("root attribute %s = %v; want the history %+v", HistoryKey, h.Value, history)
			}
			if _, ok := got["model_weights/top_level_model_weights"]; !ok {
				t.Errorf("no model_weights/top_level_model_weights group (tf.keras >= 2.11 writes one)")
			}
		})
	}
}

// TestKerasLayoutLikeKeras3 writes each Keras 3 .keras fixture back and
// compares with the Keras-written archive: member names, order and storage;
// model.weights.h5 object by object (h5py); config.json as JSON, once the
// Python object ids Keras writes (shared_object_id) and InputLayer's
// "optional" (recent Keras 3 releases only, left out for older loaders) are
// removed; metadata.json's keys.
func TestKerasLayoutLikeKeras3(t *testing.T) {
	dir := peers.Interop(t, "", "the .keras layout compared with Keras 3-written files")
	names := []string{"mlp_small", "mlp_selu_frozen", "functional_branch", "bn_dense", "conv1d_small"}
	tmp := t.TempDir()
	var files []string
	members := map[string][]member{}
	for _, name := range names {
		src := filepath.Join(dir, "keras3", name+".keras")
		out := filepath.Join(tmp, name+".keras")
		if err := WriteKeras(out, readModel(t, src)); err != nil {
			t.Fatalf("WriteKeras(%s) = %v", name, err)
		}
		for _, z := range []string{src, out} {
			members[z] = zipMembers(t, z)
			if len(members[z]) != 3 {
				t.Fatalf("%s has %d members; want 3", z, len(members[z]))
			}
			h := filepath.Join(tmp, strings.ReplaceAll(strings.TrimPrefix(z, "/"), "/", "_")+".weights.h5")
			if err := os.WriteFile(h, members[z][2].data, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, h)
		}
	}
	d := dumpH5(t, files...)
	for i, name := range names {
		src := filepath.Join(dir, "keras3", name+".keras")
		out := filepath.Join(tmp, name+".keras")
		wh, gh := files[2*i], files[2*i+1]
		t.Run(name, func(t *testing.T) {
			wm, gm := members[src], members[out]
			var wn, gn []string
			for _, m := range wm {
				wn = append(wn, m.name)
			}
			for i, m := range gm {
				gn = append(gn, m.name)
				if i >= len(wm) {
					continue
				}
				w := wm[i]
				if m.method != zip.Store || m.creator != w.creator || m.reader != w.reader || m.flags != w.flags || m.external != w.external || m.extra != w.extra {
					t.Errorf("member %s: method %d creator %#x reader %d flags %#x external %#o extra %d bytes; want %d %#x %d %#x %#o %d (as Keras wrote %s)",
						m.name, m.method, m.creator, m.reader, m.flags, m.external, m.extra, w.method, w.creator, w.reader, w.flags, w.external, w.extra, w.name)
				}
			}
			if !reflect.DeepEqual(gn, wn) {
				t.Fatalf("members = %v; want %v", gn, wn)
			}
			if !reflect.DeepEqual(d[gh], d[wh]) {
				gj, _ := json.Marshal(d[gh])
				wj, _ := json.Marshal(d[wh])
				t.Errorf("model.weights.h5:\n got %s\nwant %s", gj, wj)
			}
			var wc, gc any
			json.Unmarshal(wm[1].data, &wc)
			if err := json.Unmarshal(gm[1].data, &gc); err != nil {
				t.Fatalf("config.json: %v", err)
			}
			scrub(wc)
			if !reflect.DeepEqual(gc, wc) {
				t.Errorf("config.json:\n got %s\nwant %s", gm[1].data, mustJSON(wc))
			}
			var wmeta, gmeta map[string]any
			json.Unmarshal(wm[0].data, &wmeta)
			json.Unmarshal(gm[0].data, &gmeta)
			if gmeta["keras_version"] != wmeta["keras_version"] || gmeta["date_saved"] == nil || gmeta[HistoryKey] == nil {
				t.Errorf("metadata.json = %s; want keras_version %v, date_saved and %s", gm[0].data, wmeta["keras_version"], HistoryKey)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// scrub removes shared_object_id everywhere and InputLayer's optional.
func scrub(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "shared_object_id")
		if x["class_name"] == "InputLayer" {
			if c, ok := x["config"].(map[string]any); ok {
				delete(c, "optional")
			}
		}
		for _, e := range x {
			scrub(e)
		}
	case []any:
		for _, e := range x {
			scrub(e)
		}
	}
}

type member struct {
	name   string
	method uint16
	data   []byte
	// header fields Python's zipfile sets for Keras's members
	creator, reader uint16
	flags           uint16
	external        uint32
	extra           int
}

func zipMembers(t *testing.T, path string) []member {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("zip %s: %v", path, err)
	}
	defer zr.Close()
	var out []member
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("zip %s: %s: %v", path, f.Name, err)
		}
		out = append(out, member{name: f.Name, method: f.Method, data: b, creator: f.CreatorVersion, reader: f.ReaderVersion,
			flags: f.Flags, external: f.ExternalAttrs, extra: len(f.Extra)})
	}
	return out
}
