package keras

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/xferml/xfer/internal/pyjson"
	xlayers "github.com/xferml/xfer/layers"

	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/internal/hdf5"
	"github.com/xferml/xfer/model"
)

// ZipKerasVersion is the Keras release whose .keras layout WriteKeras copies
// (the shared Keras 3 fixtures were written by it); a model read from a
// Keras 3 file keeps its own version in metadata.json.
const ZipKerasVersion = "3.16.0"

// WriteKeras writes m to path as a Keras 3 .keras archive: a zip with the
// stored (uncompressed) members metadata.json, config.json and
// model.weights.h5, in that order, with fixed timestamps. The weights of
// each layer are at layers/<name>/vars/<i>, where <name> is the snake-case
// class name with Keras's per-class counter ("dense", "dense_1", ...) as
// Keras 3's saving_lib addresses layers. metadata.json carries the history
// under xfer_history and, as date_saved, the time of the last history event
// (1980-01-01 without history), so the output is deterministic. The write is
// atomic. m is not modified.
//
// The weights go to a temporary file beside path through libhdf5's file
// driver and from there into the archive: no image of either file is held.
func WriteKeras(path string, m *model.Model) error {
	k, err := kerasParts(m)
	if err != nil {
		return err
	}
	err = atomicfile.Write(path, func(tmp string) error {
		wpath := tmp + ".weights.h5"
		defer os.Remove(wpath)
		if err := hdf5.WriteFile(wpath, k.weights); err != nil {
			return fmt.Errorf("keras: model %q: model.weights.h5: %w", k.name, err)
		}
		wf, err := os.Open(wpath)
		if err != nil {
			return fmt.Errorf("keras: %w", err)
		}
		defer wf.Close()
		// The member's CRC-32 goes in its header, before its data.
		crc := crc32.NewIEEE()
		n, err := io.Copy(crc, wf)
		if err == nil {
			_, err = wf.Seek(0, io.SeekStart)
		}
		if err != nil {
			return fmt.Errorf("keras: model %q: model.weights.h5: %w", k.name, err)
		}
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("keras: %w", err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		err = k.zip(bw, wf, crc.Sum32(), n)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("keras: write %s: %w", path, err)
	}
	return nil
}

// MarshalKeras returns the bytes WriteKeras would write.
func MarshalKeras(m *model.Model) ([]byte, error) { return encodeKeras(m) }

func encodeKeras(m *model.Model) ([]byte, error) {
	k, err := kerasParts(m)
	if err != nil {
		return nil, err
	}
	weights, err := hdf5.Encode(k.weights)
	if err != nil {
		return nil, fmt.Errorf("keras: model %q: model.weights.h5: %w", k.name, err)
	}
	var buf bytes.Buffer
	if err := k.zip(&buf, bytes.NewReader(weights), crc32.ChecksumIEEE(weights), int64(len(weights))); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// kerasFile is a .keras archive's parts: its JSON members and the layout of
// its weights file.
type kerasFile struct {
	name      string // the model's, for messages
	meta, cfg []byte
	weights   *hdf5.GroupSpec
}

func kerasParts(m *model.Model) (*kerasFile, error) {
	p, err := newPlan(m)
	if err != nil {
		return nil, err
	}
	if err := p.checkGeneration(k3); err != nil {
		return nil, err
	}
	cfg, err := pyjson.Encode(k3ModelConfig(p))
	if err != nil {
		return nil, fmt.Errorf("keras: model %q: config.json: %w", p.name, err)
	}
	meta, err := metadataJSON(m)
	if err != nil {
		return nil, err
	}
	return &kerasFile{name: p.name, meta: meta, cfg: cfg, weights: k3Weights(p)}, nil
}

// zip writes the archive to w: metadata.json, config.json, then the
// weights file's n bytes from weights, whose CRC-32 is crc.
func (k *kerasFile) zip(w io.Writer, weights io.Reader, crc uint32, n int64) error {
	zw := zip.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{{"metadata.json", k.meta}, {"config.json", k.cfg}} {
		if err := storeEntry(zw, f.name, bytes.NewReader(f.data), crc32.ChecksumIEEE(f.data), int64(len(f.data))); err != nil {
			return fmt.Errorf("keras: model %q: %s: %w", k.name, f.name, err)
		}
	}
	if err := storeEntry(zw, "model.weights.h5", weights, crc, n); err != nil {
		return fmt.Errorf("keras: model %q: model.weights.h5: %w", k.name, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("keras: model %q: %w", k.name, err)
	}
	return nil
}

// storeEntry adds an uncompressed member the way Python's zipfile writes
// Keras's: MS-DOS time 1980-01-01 00:00, Unix mode 0600, no data
// descriptor, no extra fields.
func storeEntry(zw *zip.Writer, name string, data io.Reader, crc uint32, n int64) error {
	fh := &zip.FileHeader{
		Name:               name,
		Method:             zip.Store,
		CRC32:              crc,
		CompressedSize64:   uint64(n),
		UncompressedSize64: uint64(n),
		// 3 = Unix (APPNOTE 4.4.2), 20 = version 2.0; mode 0600 in the high
		// half of the external attributes, as Python's zipfile sets it.
		CreatorVersion: 3<<8 | 20,
		ReaderVersion:  20,
		ExternalAttrs:  0o600 << 16,
		// (1980-1980)<<9 | 1<<5 | 1: 1980-01-01 in MS-DOS date format.
		ModifiedDate: 1<<5 | 1,
	}
	w, err := zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	copied, err := io.Copy(w, data)
	if err == nil && copied != n {
		err = fmt.Errorf("%d bytes where %d were expected", copied, n)
	}
	return err
}

// metadataJSON is metadata.json: keras_version, date_saved, xfer_history.
func metadataJSON(m *model.Model) ([]byte, error) {
	version := ZipKerasVersion
	if v := m.Meta["keras_version"]; strings.HasPrefix(v, "3.") && validName(v) {
		version = v
	}
	date := "1980-01-01@00:00:00"
	if n := len(m.History); n > 0 {
		if t, err := time.Parse(time.RFC3339, m.History[n-1].Time); err == nil {
			date = t.UTC().Format("2006-01-02@15:04:05")
		}
	}
	hist, err := historyJSON(m.History)
	if err != nil {
		return nil, err
	}
	h, err := pyjson.ParseAny(hist)
	if err != nil {
		return nil, fmt.Errorf("keras: history: %w", err)
	}
	return pyjson.Encode(pyjson.NewObj().Set("keras_version", version).Set("date_saved", date).Set(HistoryKey, h))
}

// k3Weights lays the weights out as Keras 3's H5IOStore does: a group per
// layer under "layers" named by snake-case class and counter, each with a
// "vars" group (attribute name = the layer's name) holding datasets "0",
// "1"...; the model's own "vars" group is last.
func k3Weights(p *plan) *hdf5.GroupSpec {
	root := &hdf5.GroupSpec{}
	k3Vars(root.Group("layers"), p)
	root.Group("vars").Attrs = []hdf5.AttrSpec{hdf5.StringAttr("name", p.name, true)}
	return root
}

// k3Vars adds the variables of p's layers under group layers, each at its
// save path; a nested model's own (empty) vars and its layers under
// "<path>/layers" (Keras 3's _save_container_state).
func k3Vars(layers *hdf5.GroupSpec, p *plan) {
	used := map[string]int{}
	for _, k := range p.layers {
		if p.sequential && k.input || k.call != nil {
			continue // Sequential.layers omits the InputLayer; operations are not layers
		}
		path := savePath(k.class, used)
		for _, g := range k3Groups(k) {
			at := path + "/vars"
			if g.path != "" {
				at = path + "/" + g.path + "/vars"
			}
			vars := layers.Group(at)
			vars.Attrs = []hdf5.AttrSpec{hdf5.StringAttr("name", g.name, true)}
			for i, w := range g.weights {
				if d := vars.AddDataset(strconv.Itoa(i), w.shape, w.data); w.integer {
					d.IntBits = 32 // Keras 3's "int" variables are int32
				}
			}
		}
		if k.sub != nil {
			k3Vars(layers.Group(path+"/layers"), k.sub)
		}
	}
}

func savePath(class string, used map[string]int) string {
	name := snakeCase(class)
	n, seen := used[name]
	if !seen {
		used[name] = 0
		return name
	}
	used[name] = n + 1
	return fmt.Sprintf("%s_%d", name, n+1)
}

// snakeCase is keras.src.utils.naming.to_snake_case: drop non-word
// characters, put "_" before an upper-case letter that starts a lower-case
// run (after any character), then between a lower-case letter and an
// upper-case one, and lower-case the result ("Conv1D" -> "conv1d",
// "GlobalAveragePooling1D" -> "global_average_pooling1d").
func snakeCase(s string) string {
	var w []rune
	for _, r := range s {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			w = append(w, r)
		}
	}
	isUp := func(r rune) bool { return r >= 'A' && r <= 'Z' }
	isLow := func(r rune) bool { return r >= 'a' && r <= 'z' }
	// re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
	var a []rune
	for i := 0; i < len(w); i++ {
		if i > 0 && isUp(w[i]) && i+1 < len(w) && isLow(w[i+1]) {
			a = append(a, '_')
		}
		a = append(a, w[i])
	}
	// re.sub("([a-z])([A-Z])", r"\1_\2", name)
	var b []rune
	for i, r := range a {
		if i > 0 && isUp(r) && isLow(a[i-1]) {
			b = append(b, '_')
		}
		b = append(b, r)
	}
	return strings.ToLower(string(b))
}

// k3ModelConfig is config.json as Keras 3's serialize_keras_object writes it.
func k3ModelConfig(p *plan) *pyjson.Obj { return k3Model(p, true) }

// k3Model returns the serialized model (top) or nested model p as Keras 3
// writes it; a nested model's entry gets its name and inbound_nodes from
// its parent.
func k3Model(p *plan, top bool) *pyjson.Obj {
	var layers []any
	for _, k := range p.layers {
		if k.call != nil {
			layers = append(layers, k3OpEntry(k))
			continue
		}
		var e *pyjson.Obj
		if k.sub != nil {
			e = k3Model(k.sub, false)
		} else {
			mod := xlayers.KerasModule(k.class)
			var reg any
			if mod != "keras.layers" {
				reg = k.class // Keras registers keras.applications' own classes by name
			}
			e = pyjson.NewObj().Set("module", mod).Set("class_name", k.class).
				Set("config", layerConfig(k, k3)).Set("registered_name", reg)
			if !k.input && k3Build[k.class] {
				if bc := buildShape(k); bc != nil {
					e.Set("build_config", pyjson.NewObj().Set("input_shape", bc))
				}
			}
			if k.class == "MultiHeadAttention" {
				if sd := mhaShapes(k); sd != nil {
					e.Set("build_config", pyjson.NewObj().Set("shapes_dict", sd))
				}
			}
		}
		if !p.sequential {
			e.Set("name", k.name)
			nodes := []any{}
			if !k.input {
				nodes = append(nodes, k3Node(k, k.inbound, k.inShapes))
				for _, c := range k.more {
					nodes = append(nodes, k3Node(k, c.inbound, c.inShapes))
				}
			}
			e.Set("inbound_nodes", nodes)
		}
		layers = append(layers, e)
	}
	c := pyjson.NewObj().Set("name", p.name).Set("trainable", p.trainable)
	if p.sequential {
		in := shapeJSON(p.inputs[0].inShapes[0])
		c.Set("dtype", dtypeValue("float32", k3)).Set("layers", layers).Set("build_input_shape", in)
		return pyjson.NewObj().Set("module", "keras").Set("class_name", "Sequential").Set("config", c).
			Set("registered_name", nil).Set("build_config", pyjson.NewObj().Set("input_shape", in)).
			Set("compile_config", pyjson.NewObj())
	}
	var ins []kRef
	for _, k := range p.inputs {
		ins = append(ins, kRef{layer: k.name})
	}
	c.Set("layers", layers).Set("input_layers", endpoints(ins)).Set("output_layers", endpoints(p.outputs))
	return pyjson.NewObj().Set("module", "keras.src.models.functional").Set("class_name", "Functional").Set("config", c).
		Set("registered_name", "Functional").Set("build_config", pyjson.NewObj().Set("input_shape", nil)).
		Set("compile_config", pyjson.NewObj())
}

// k3Node is one call of layer k in Keras 3's inbound_nodes form. A nested
// model's call carries its training and mask arguments, as Keras writes them.
func k3Node(k *kLayer, refs []kRef, shapes [][]int) *pyjson.Obj {
	var args []any
	for i, r := range refs {
		var shape []int
		if i < len(shapes) {
			shape = shapes[i]
		}
		args = append(args, kerasTensor(r, shape))
	}
	kw := pyjson.NewObj()
	if k.class == "MultiHeadAttention" {
		// Called as mha(query, value[, key]): positional tensors.
		return pyjson.NewObj().Set("args", args).Set("kwargs", kw)
	}
	var arg any = args[0]
	if mergeKinds[k.class] || len(args) > 1 {
		arg = args
	}
	if k.sub != nil && k.training != nil {
		kw.Set("training", *k.training)
	}
	if k.sub != nil || k3MaskKinds[k.class] {
		kw.Set("mask", nil)
	}
	return pyjson.NewObj().Set("args", []any{arg}).Set("kwargs", kw)
}

// k3MaskKinds are the layer classes whose call takes a mask argument
// (keras-team/keras: keras/src/layers, "def call(... mask=None"): Keras 3's
// Layer.__call__ fills it in, and its Functional serialization records it as
// "mask": null.
var k3MaskKinds = map[string]bool{
	"BatchNormalization": true, "Softmax": true, "GlobalAveragePooling1D": true, "Lambda": true,
	"Pipeline": true, "RNN": true, "SimpleRNN": true, "LSTM": true, "GRU": true,
	"ConvLSTM1D": true, "ConvLSTM2D": true, "ConvLSTM3D": true, "TimeDistributed": true,
	"Bidirectional": true, "Attention": true, "AdditiveAttention": true,
}

// endpoints renders input_layers/output_layers: one [name, node, tensor]
// triple for a single endpoint, a list of them otherwise (as Keras 3 does).
func endpoints(rs []kRef) any {
	if len(rs) == 1 {
		return []any{rs[0].layer, rs[0].node, rs[0].tensor}
	}
	return refList(rs)
}

func kerasTensor(r kRef, shape []int) *pyjson.Obj {
	return pyjson.NewObj().Set("class_name", "__keras_tensor__").Set("config",
		pyjson.NewObj().Set("shape", shapeJSON(shape)).Set("dtype", "float32").Set("keras_history", []any{r.layer, r.node, r.tensor}))
}

// mhaShapes is a MultiHeadAttention's build_config shapes_dict, as Keras 3
// writes it: query_shape, value_shape and, for a call with a key, key_shape.
func mhaShapes(k *kLayer) *pyjson.Obj {
	if len(k.inShapes) < 2 {
		return nil
	}
	sd := pyjson.NewObj()
	for i, key := range []string{"query_shape", "value_shape", "key_shape"} {
		if i >= len(k.inShapes) {
			break
		}
		if k.inShapes[i] == nil {
			return nil
		}
		sd.Set(key, shapeJSON(k.inShapes[i]))
	}
	return sd
}

// buildShape is the build_config input_shape: the input shape, or the list
// of input shapes of a multi-input layer; nil when a shape is unknown.
func buildShape(k *kLayer) any {
	if len(k.inShapes) == 0 {
		return nil
	}
	var shapes []any
	for _, s := range k.inShapes {
		if s == nil {
			return nil
		}
		shapes = append(shapes, shapeJSON(s))
	}
	if len(shapes) == 1 && !mergeKinds[k.class] {
		return shapes[0]
	}
	return shapes
}
