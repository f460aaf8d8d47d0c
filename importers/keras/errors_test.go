package keras

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// memWeights is an in-memory weightSource.
type memWeights map[string][]weight

func (m memWeights) layer(name string) ([]weight, bool, error) {
	w, ok := m[name]
	return w, ok, nil
}

func (m memWeights) unused() ([]string, error) { return nil, nil }

func denseWeights(name string, in, out int) []weight {
	return []weight{
		{name: name + "/kernel:0", shape: []int{in, out}, data: make([]float32, in*out)},
		{name: name + "/bias:0", shape: []int{out}, data: make([]float32, out)},
	}
}

const seqHead = `{"class_name": "Sequential", "config": {"name": "s", "layers": [`

func TestBuildErrors(t *testing.T) {
	w := memWeights{"d": denseWeights("d", 4, 3)}
	cases := []struct {
		name, cfg string
		ws        memWeights
		want      error
		msg       []string // substrings the message must hold
	}{
		{"unknown class", seqHead + `{"class_name": "Dense", "config": {"name": "d", "units": 3, "batch_input_shape": [null, 4]}}, {"class_name": "MyLayer", "config": {"name": "mine"}}]}}`, w, model.ErrUnsupported, []string{`"mine"`, `"MyLayer"`, "Conv2D", "Dense"}},
		{"custom activation", seqHead + `{"class_name": "Dense", "config": {"name": "d", "units": 3, "activation": "my_act", "batch_input_shape": [null, 4]}}]}}`, w, model.ErrUnsupported, []string{`"d"`, `"my_act"`, "relu"}},
		{"shape mismatch", seqHead + `{"class_name": "Dense", "config": {"name": "d", "units": 5, "batch_input_shape": [null, 4]}}]}}`, w, ErrFormat, []string{`"d"`, `"kernel"`, "[4 3]", "[4 5]"}},
		{"missing weights", seqHead + `{"class_name": "Dense", "config": {"name": "e", "units": 3, "batch_input_shape": [null, 4]}}]}}`, w, ErrFormat, []string{`"e"`, "kernel", "no weights"}},
		{"extra weights", seqHead + `{"class_name": "Dense", "config": {"name": "d", "units": 3, "use_bias": false, "batch_input_shape": [null, 4]}}]}}`, w, ErrFormat, []string{`"d"`, "stores 2 weights", "needs 1"}},
		{"channels_first", seqHead + `{"class_name": "Flatten", "config": {"name": "f", "data_format": "channels_first", "batch_input_shape": [null, 4, 4]}}]}}`, w, model.ErrUnsupported, []string{`"f"`, "channels_first"}},
		{"no input shape", seqHead + `{"class_name": "Dense", "config": {"name": "d", "units": 3}}]}}`, w, ErrFormat, []string{"input shape"}},
		{"subclassed model", `{"class_name": "MyModel", "config": {}}`, w, model.ErrUnsupported, []string{`"MyModel"`}},
		{"not json", `{"class_name": `, w, ErrFormat, []string{"not JSON"}},
		{"no layers", seqHead + `]}}`, w, ErrFormat, []string{"no layers"}},
		{"duplicate names", seqHead + `{"class_name": "Dense", "config": {"name": "d", "units": 3, "batch_input_shape": [null, 4]}}, {"class_name": "Dense", "config": {"name": "d", "units": 3}}]}}`, w, ErrFormat, []string{`two layers called "d"`}},
		{"bad layer name", seqHead + `{"class_name": "Dense", "config": {"name": "../d", "units": 3, "batch_input_shape": [null, 4]}}]}}`, w, ErrFormat, []string{"not a valid Keras layer name"}},
		{"empty nested model", `{"class_name": "Functional", "config": {"name": "f", "layers": [{"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [null, 4]}, "inbound_nodes": []}, {"class_name": "Sequential", "name": "sub", "config": {"name": "sub", "layers": []}, "inbound_nodes": [[["in", 0, 0, {}]]]}], "input_layers": [["in", 0, 0]], "output_layers": [["sub", 0, 0]]}}`, w, ErrFormat, []string{`"sub"`, "no layers"}},
		{"nested model called twice", `{"class_name": "Functional", "config": {"name": "f", "layers": [{"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [null, 4]}, "inbound_nodes": []}, {"class_name": "Sequential", "name": "sub", "config": {"name": "sub", "layers": [{"class_name": "Activation", "config": {"name": "act", "activation": "relu"}}]}, "inbound_nodes": [[["in", 0, 0, {}]], [["sub", 0, 0, {}]]]}], "input_layers": [["in", 0, 0]], "output_layers": [["sub", 1, 0]]}}`, w, model.ErrUnsupported, []string{`"sub"`, "called 2 times"}},
		{"shared layer on another width", `{"class_name": "Functional", "config": {"name": "f", "layers": [{"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [null, 4]}, "inbound_nodes": []}, {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 3}, "inbound_nodes": [[["in", 0, 0, {}]], [["d", 0, 0, {}]]]}], "input_layers": [["in", 0, 0]], "output_layers": [["d", 1, 0]]}}`, w, ErrFormat, []string{`"d@1"`, "[4 3]", "[3 3]"}},
		{"dangling input", `{"class_name": "Functional", "config": {"name": "f", "layers": [{"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [null, 4]}, "inbound_nodes": []}, {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 3}, "inbound_nodes": [[["nope", 0, 0, {}]]]}], "input_layers": [["in", 0, 0]], "output_layers": [["d", 0, 0]]}}`, w, ErrFormat, []string{`"d"`, "does not exist"}},
		{"bad units", seqHead + `{"class_name": "Dense", "config": {"name": "d", "units": "three", "batch_input_shape": [null, 4]}}]}}`, w, ErrFormat, []string{`"d"`, `"units"`}},
		{"bad padding", seqHead + `{"class_name": "Conv1D", "config": {"name": "c", "filters": 1, "kernel_size": 1, "padding": "full", "batch_input_shape": [null, 4, 1]}}]}}`, memWeights{"c": {{shape: []int{1, 1, 1}, data: []float32{1}}, {shape: []int{1}, data: []float32{0}}}}, ErrFormat, []string{`"c"`, `"full"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := build([]byte(c.cfg), c.ws, map[string]string{"keras_version": "2.13.1"})
			if err == nil {
				t.Fatalf("build(%s) succeeded; want an error", c.name)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("build(%s) = %v; want errors.Is %v", c.name, err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "keras: ") {
				t.Errorf("build(%s) = %q; want the keras: prefix", c.name, err)
			}
			for _, s := range c.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("build(%s) = %q; want it to mention %s", c.name, err, s)
				}
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.h5")
	if err := os.WriteFile(junk, []byte("definitely not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	badZip := filepath.Join(dir, "bad.keras")
	if err := os.WriteFile(badZip, []byte("PK\x03\x04 truncated zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A member named outside the archive, and a config.json whose header
	// declares 20 bytes but which inflates to 1 MiB (a lying zip bomb).
	escape := writeZip(t, dir, "escape.keras", func(zw *zip.Writer) {
		for _, name := range []string{"config.json", "../evil.txt"} {
			w, _ := zw.Create(name)
			w.Write([]byte("{}"))
		}
	})
	bomb := writeZip(t, dir, "bomb.keras", func(zw *zip.Writer) {
		data := bytes.Repeat([]byte(" "), 1<<20)
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.BestCompression)
		fw.Write(data)
		fw.Close()
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "config.json", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(buf.Len()), UncompressedSize64: 20})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(buf.Bytes())
	})
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte(seqHead+`{"class_name": "Flatten", "config": {"name": "flat", "batch_input_shape": [null, 10, 3]}}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		opts       Options
		want       error
		msg        string
	}{
		{"missing file", filepath.Join(dir, "none.h5"), Options{}, os.ErrNotExist, ""},
		{"not a model", junk, Options{}, nil, "junk.h5"},
		{"bad zip", badZip, Options{}, ErrFormat, "bad.keras"},
		{"member outside the archive", escape, Options{}, ErrFormat, `escape.keras: member "../evil.txt" names a path outside the archive`},
		{"member larger than declared", bomb, Options{}, ErrFormat, "bomb.keras: config.json: it inflates to more than the 20 bytes its zip header declares"},
		{"weights only without config", "testdata/kinds1d.weights.h5", Options{}, ErrFormat, "config"},
		{"config missing", "testdata/kinds1d.weights.h5", Options{ConfigPath: filepath.Join(dir, "none.json")}, os.ErrNotExist, ""},
		{"config without the weighted layers", "testdata/kinds1d.weights.h5", Options{ConfigPath: other}, ErrFormat, "c1, prelu, d1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadFile(c.path, c.opts)
			if err == nil {
				t.Fatalf("ReadFile(%s) succeeded; want an error", c.path)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("ReadFile(%s) = %v; want errors.Is %v", c.path, err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "keras: ") {
				t.Errorf("ReadFile(%s) = %q; want keras: prefix and %q", c.path, err, c.msg)
			}
		})
	}
}

// TestInitializersAndMeta checks what the importer keeps beside the
// numbers: initializers (a custom function name kept as is), configs,
// metadata, trainable flags and BatchNormalization state.
func TestInitializersAndMeta(t *testing.T) {
	m, err := ReadFile("testdata/kinds2d.h5", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"format": "keras-h5", "keras_version": "2.13.1", "backend": "tensorflow", "source": "testdata/kinds2d.h5", "producer": "keras"} {
		if m.Meta[k] != want {
			t.Errorf("Meta[%s] = %q; want %q", k, m.Meta[k], want)
		}
	}
	if m.Sequential || m.Inputs[0].Name != "input_1" || m.Layers[0].Kind != "InputLayer" {
		t.Errorf("functional model read as Sequential=%v, input %q, first layer %s", m.Sequential, m.Inputs[0].Name, m.Layers[0].Kind)
	}
	inits := map[string]string{"conv_a/kernel": "glorot_uniform", "conv_a/bias": "random_bias", "out/kernel": "random_kernel", "out/bias": "zeros", "dw/depthwise_kernel": "glorot_uniform", "bn/gamma": "ones"}
	for name, want := range inits {
		_, p := m.Param(name)
		if p == nil || p.Init == nil || p.Init.Name != want {
			t.Errorf("Param(%s).Init = %+v; want %s", name, p, want)
		}
	}
	for _, role := range []string{"moving_mean", "moving_variance"} {
		p := m.Layer("bn").Param(role)
		if p == nil || !p.State || p.Trainable {
			t.Errorf("bn %s = %+v; want State and not trainable", role, p)
		}
	}
	if l := m.Layer("conv_a"); l == nil || !strings.Contains(string(l.Config), `"random_bias"`) {
		t.Errorf("conv_a Config does not keep the file's config")
	}

	frozen := filepath.Join(peers.Interop(t, "keras3", "the checks on a real Keras-written frozen model"), "mlp_selu_frozen.keras")
	m, err = ReadFile(frozen, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Sequential || m.Meta["format"] != "keras-zip" || m.Meta["keras_version"] != "3.16.0" {
		t.Errorf("mlp_selu_frozen.keras: Sequential=%v, meta %v", m.Sequential, m.Meta)
	}
	for _, p := range m.Layer("dense_1").Params {
		if p.Trainable {
			t.Errorf("frozen dense_1 param %s is trainable", p.Name)
		}
	}
	if p := m.Layer("dense").Param("kernel"); p == nil || p.Init == nil || p.Init.Name != "lecun_normal" {
		t.Errorf("dense kernel init = %+v; want lecun_normal", p)
	}
}

func TestSnakeCaseAndKeras3Paths(t *testing.T) {
	// Expected names from keras.src.utils.naming.to_snake_case.
	for in, want := range map[string]string{
		"Dense": "dense", "BatchNormalization": "batch_normalization", "Conv2D": "conv2d",
		"GlobalAveragePooling1D": "global_average_pooling1d", "ReLU": "re_lu", "PReLU": "p_re_lu",
		"InputLayer": "input_layer", "DepthwiseConv2D": "depthwise_conv2d", "ELU": "elu",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q; want %q", in, got, want)
		}
	}
	g, err := parseConfig([]byte(seqHead + `{"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 4]}},
		{"class_name": "Dense", "config": {"name": "fc1", "units": 3}}, {"class_name": "ReLU", "config": {"name": "act"}},
		{"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fc1": "dense", "act": "re_lu", "dense": "dense_1"}
	got := keras3Paths(g)
	if len(got) != len(want) {
		t.Errorf("keras3Paths = %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("keras3Paths[%s] = %q; want %q", k, got[k], v)
		}
	}
}

// TestMultiInput: a Functional model with two inputs listed in the opposite
// order of their InputLayers keeps Keras's input order (input_layers).
func TestMultiInput(t *testing.T) {
	cfg := `{"class_name": "Functional", "config": {"name": "two", "layers": [
		{"class_name": "InputLayer", "name": "a", "config": {"name": "a", "batch_shape": [null, 2]}, "inbound_nodes": []},
		{"class_name": "InputLayer", "name": "b", "config": {"name": "b", "batch_shape": [null, 3]}, "inbound_nodes": []},
		{"class_name": "Concatenate", "name": "cat", "config": {"name": "cat", "axis": -1}, "inbound_nodes": [{"args": [[
			{"class_name": "__keras_tensor__", "config": {"keras_history": ["b", 0, 0]}},
			{"class_name": "__keras_tensor__", "config": {"keras_history": ["a", 0, 0]}}]], "kwargs": {}}]},
		{"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 3}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["cat", 0, 0]}}], "kwargs": {}}]}],
		"input_layers": [["b", 0, 0], ["a", 0, 0]], "output_layers": [["cat", 0, 0], ["d", 0, 0]]}}`
	m, err := build([]byte(cfg), memWeights{"d": denseWeights("d", 5, 3)}, map[string]string{"keras_version": "3.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(m.Inputs) != 2 || m.Inputs[0].Name != "b" || m.Inputs[1].Name != "a" || len(m.Outputs) != 2 {
		t.Errorf("inputs %v %v, outputs %v; want [b a] and 2 outputs", m.Inputs[0].Name, m.Inputs[1].Name, m.Outputs)
	}
	if l := m.Layer("cat"); l == nil || l.Inputs[0] != "b" || l.Inputs[1] != "a" {
		t.Errorf("cat inputs = %v; want [b a]", l.Inputs)
	}
}

// writeZip writes dir/name with the members fill adds and returns its path.
func writeZip(t *testing.T, dir, name string, fill func(*zip.Writer)) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	fill(zw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
