package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// updateBad regenerates testdata/bad (TestBadCorpus -update). The corpus is
// derived only from files xfer's own exporters write for mlp(t); the HDF5
// surgery that needs h5py (links, missing groups, edited attributes) is done
// by testdata/bad/gen_hdf5.py, which the update runs with /usr/bin/python3.
var updateBad = flag.Bool("update", false, "rewrite the hostile-file corpus in testdata/bad (needs /usr/bin/python3 with h5py)")

// badDir holds the corpus: good/ (the sources, which must load), one
// directory per format, and want.txt (the expected results).
const badDir = "testdata/bad"

// genBadCorpus writes the corpus into dir, replacing the generated
// directories. The same code writes the same bytes.
func genBadCorpus(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"good", "h5", "keras", "onnx", "xnat", "npy", "pb", "idx"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good")
	for _, name := range []string{"mlp.h5", "mlp.keras", "mlp.onnx", "mlp.xnat"} {
		writeModel(t, good, name, mlp(t))
	}
	// The one-layer model whose weights a two-layer config lacks.
	one := mlp(t)
	one.Layers, one.Outputs = one.Layers[:1], one.Layers[0].Outputs
	oneDir := t.TempDir()
	oneKeras := readFile(t, writeModel(t, oneDir, "one.keras", one))

	x := make([]float32, 5*4) // 5 rows of mlp's 4 features
	for i := range x {
		x[i] = float32(i%7)/7 - 0.25
	}
	xt := &model.Tensor{Name: "x", DType: model.Float32, Shape: []int{5, 4}, F32: x}
	writeNPY(t, good, "x.npy", xt)
	writeNPY(t, good, "y.npy", &model.Tensor{DType: model.Float32, Shape: []int{5}, F32: []float32{0, 1, 1, 0, 1}})
	xpb, err := tensorio.EncodePB(xt)
	if err != nil {
		t.Fatal(err)
	}
	put(t, good, "x.pb", xpb)

	rng := rand.New(rand.NewPCG(2026, 7)) // fixed: the same corpus every time
	src := func(name string) []byte { return readFile(t, filepath.Join(good, name)) }

	// Damage common to every format: truncations, bit flips, empty, random.
	// Flips land where the structure is (most flips in weight data load as
	// another valid model): the first 8 KiB of HDF5 (superblock, object
	// headers, the config attribute), the .npy header, the TensorProto's
	// dims and type, the snapshot's JSON header; anywhere in ONNX and zip.
	for _, f := range []struct {
		sub, name string
		flipSpan  int
	}{
		// mlp.xnat's JSON header is its bytes 16 to 2427 (hlen 2411).
		{"h5", "mlp.h5", 8 << 10}, {"keras", "mlp.keras", 0}, {"onnx", "mlp.onnx", 0}, {"xnat", "mlp.xnat", 2400},
		{"npy", "x.npy", 128}, {"pb", "x.pb", 16},
	} {
		b := src(f.name)
		ext := filepath.Ext(f.name)
		out := filepath.Join(dir, f.sub)
		for _, off := range cutOffsets(len(b)) {
			put(t, out, fmt.Sprintf("cut%06d%s", off, ext), b[:off])
		}
		flips := 4
		if f.sub == "keras" {
			flips = 2 // and more below, inside the members
		}
		span := len(b)
		if f.flipSpan > 0 {
			span = min(span, f.flipSpan)
		}
		for range flips {
			off, bit := rng.IntN(span), rng.IntN(8)
			put(t, out, fmt.Sprintf("flip%06d.%d%s", off, bit, ext), flipBit(b, off, bit))
		}
		put(t, out, "empty"+ext, nil)
		put(t, out, "random"+ext, randomBytes(rng, 1500))
		put(t, out, "text"+ext, []byte("this is a text file, not a model or a tensor\n"))
	}

	// HDF5: wrong content under the .h5 name.
	h5 := filepath.Join(dir, "h5")
	put(t, h5, "png.h5", pngBytes())
	put(t, h5, "zip.h5", zipOf(t, map[string][]byte{"readme.txt": []byte("not a model\n")}))
	put(t, h5, "magic-then-random.h5", append([]byte("\x89HDF\r\n\x1a\n"), randomBytes(rng, 2000)...))

	// Keras 3 zips.
	kz := filepath.Join(dir, "keras")
	keras := src("mlp.keras")
	members := unzip(t, keras)
	w := members["model.weights.h5"]
	for _, off := range []int{8, 96, len(w) / 3, len(w) / 2, len(w) - 100} {
		put(t, kz, fmt.Sprintf("weights-cut%06d.keras", off), rezip(t, keras, map[string][]byte{"model.weights.h5": w[:off]}))
	}
	for range 4 {
		off, bit := rng.IntN(min(len(w), 8<<10)), rng.IntN(8)
		put(t, kz, fmt.Sprintf("weights-flip%06d.%d.keras", off, bit), rezip(t, keras, map[string][]byte{"model.weights.h5": flipBit(w, off, bit)}))
	}
	cfg := members["config.json"]
	for range 2 {
		off, bit := rng.IntN(len(cfg)), rng.IntN(8)
		put(t, kz, fmt.Sprintf("config-flip%05d.%d.keras", off, bit), rezip(t, keras, map[string][]byte{"config.json": flipBit(cfg, off, bit)}))
	}
	put(t, kz, "hdf5.keras", src("mlp.h5")[:2048]) // HDF5 bytes, cut, under a .keras name
	put(t, kz, "magic-then-random.keras", append([]byte("PK\x03\x04"), randomBytes(rng, 2000)...))
	put(t, kz, "no-weights.keras", zipOf(t, map[string][]byte{"config.json": cfg, "metadata.json": members["metadata.json"]}))
	put(t, kz, "weights-not-hdf5.keras", rezip(t, keras, map[string][]byte{"model.weights.h5": []byte("not an HDF5 file\n")}))
	// The two-layer config with the one-layer model's weights: dense_1 has none.
	put(t, kz, "missing-layer-weights.keras", rezip(t, keras, map[string][]byte{"model.weights.h5": unzip(t, oneKeras)["model.weights.h5"]}))
	put(t, kz, "units-mismatch.keras", rezip(t, keras, map[string][]byte{"config.json": editConfig(t, cfg, `"units": 3`, `"units": 5`)}))
	put(t, kz, "unknown-layer.keras", rezip(t, keras, map[string][]byte{"config.json": editConfig(t, cfg, `"class_name": "Dense"`, `"class_name": "FancyDense"`)}))
	put(t, kz, "huge-units.keras", rezip(t, keras, map[string][]byte{"config.json": editConfig(t, cfg, `"units": 3`, `"units": 2000000000`)}))
	put(t, kz, "config-not-json.keras", rezip(t, keras, map[string][]byte{"config.json": []byte("{\"class_name\": \"Sequential\", \"config\": ")}))
	put(t, kz, "nested-config.keras", deflated(t, keras, "config.json", nestedJSON(100000)))
	put(t, kz, "dotdot-member.keras", addMembers(t, keras, []zipMember{{name: "../evil.txt", data: []byte("outside\n")}}))
	put(t, kz, "abs-member.keras", addMembers(t, keras, []zipMember{{name: "/tmp/evil.txt", data: []byte("outside\n")}}))
	// Zip bombs: a member that claims more than it holds, and one that
	// really inflates far beyond its size (64 MiB of spaces in ~64 KiB).
	put(t, kz, "bomb-declared-config.keras", lieSize(t, rezip(t, keras, nil), "config.json", 1<<40))
	put(t, kz, "bomb-declared-weights.keras", lieSize(t, rezip(t, keras, nil), "model.weights.h5", 1<<50))
	put(t, kz, "bomb-real-config.keras", deflated(t, keras, "config.json", bytes.Repeat([]byte(" "), 64<<20)))
	put(t, kz, "bomb-understated-weights.keras", lieSize(t, deflated(t, keras, "model.weights.h5", append(slices.Clone(w), make([]byte, 32<<20)...)), "model.weights.h5", uint64(len(w))))

	// ONNX.
	ox := filepath.Join(dir, "onnx")
	onnxb := src("mlp.onnx")
	put(t, ox, "zip.onnx", zipOf(t, map[string][]byte{"model.onnx": onnxb}))
	put(t, ox, "png.onnx", pngBytes())
	editONNX := func(name string, edit func(*pb.ModelProto)) {
		var mp pb.ModelProto
		if err := proto.Unmarshal(onnxb, &mp); err != nil {
			t.Fatal(err)
		}
		edit(&mp)
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&mp)
		if err != nil {
			t.Fatal(err)
		}
		put(t, ox, name, b)
	}
	init0 := func(mp *pb.ModelProto) *pb.TensorProto {
		for _, in := range mp.Graph.Initializer {
			if len(in.Dims) == 2 {
				return in
			}
		}
		t.Fatal("mlp.onnx has no 2-D initializer")
		return nil
	}
	editONNX("huge-initializer.onnx", func(mp *pb.ModelProto) {
		in := init0(mp)
		in.Dims, in.RawData = []int64{100000, 100000}, nil
	})
	editONNX("huge-initializer-overflow.onnx", func(mp *pb.ModelProto) {
		in := init0(mp)
		in.Dims = []int64{1 << 40, 1 << 40, 1 << 40}
	})
	editONNX("negative-dim.onnx", func(mp *pb.ModelProto) { init0(mp).Dims[0] = -4 })
	editONNX("initializer-short.onnx", func(mp *pb.ModelProto) {
		in := init0(mp)
		in.RawData = in.RawData[:len(in.RawData)-4]
	})
	editONNX("initializer-shape-mismatch.onnx", func(mp *pb.ModelProto) {
		in := init0(mp)
		in.Dims = []int64{in.Dims[1], in.Dims[0]} // [3 4] for the [4 3] kernel: data fits, MatMul does not
	})
	editONNX("unsupported-op.onnx", func(mp *pb.ModelProto) {
		for _, n := range mp.Graph.Node {
			if n.OpType == "Relu" {
				n.OpType = "Einsum"
				return
			}
		}
		t.Fatal("mlp.onnx has no Relu node")
	})
	editONNX("unknown-op.onnx", func(mp *pb.ModelProto) {
		for _, n := range mp.Graph.Node {
			if n.OpType == "Relu" {
				n.OpType = "FancyRelu"
				return
			}
		}
	})
	editONNX("dangling-input.onnx", func(mp *pb.ModelProto) {
		mp.Graph.Node[len(mp.Graph.Node)-1].Input[0] = "nowhere"
	})
	editONNX("cycle.onnx", func(mp *pb.ModelProto) {
		n := mp.Graph.Node
		n[0].Input[0] = n[len(n)-1].Output[0]
	})
	editONNX("external-data.onnx", func(mp *pb.ModelProto) {
		in := init0(mp)
		in.RawData, in.DataLocation = nil, pb.TensorProto_EXTERNAL
		in.ExternalData = []*pb.StringStringEntryProto{{Key: "location", Value: "../../etc/passwd"}, {Key: "length", Value: "48"}}
	})
	editONNX("opset-99.onnx", func(mp *pb.ModelProto) {
		for _, o := range mp.OpsetImport {
			o.Version = 99
		}
	})
	editONNX("no-graph.onnx", func(mp *pb.ModelProto) { mp.Graph = nil })
	editONNX("bad-metadata.onnx", func(mp *pb.ModelProto) {
		for _, p := range mp.MetadataProps {
			if p.Key == "xfer.layers" {
				p.Value = "[{" + strings.Repeat("[", 20000)
				return
			}
		}
		t.Fatal("mlp.onnx has no xfer.layers metadata")
	})
	editONNX("nested-subgraph.onnx", func(mp *pb.ModelProto) {
		// Deeper than protobuf-go's recursion limit (10000 messages): a
		// graph in an attribute of a node of a graph ..., three messages a
		// level.
		g := &pb.GraphProto{Name: "leaf"}
		for range 3400 {
			g = &pb.GraphProto{Node: []*pb.NodeProto{{Attribute: []*pb.AttributeProto{{G: g}}}}}
		}
		mp.Graph.Node[0].Attribute = append(mp.Graph.Node[0].Attribute, &pb.AttributeProto{Name: "deep", Type: pb.AttributeProto_GRAPH, G: g})
	})
	// A length-delimited field claiming 2^40 bytes.
	put(t, ox, "huge-length.onnx", append(slices.Clone(onnxb[:16]), 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20))

	// Native snapshots: edits of the JSON header.
	xn := filepath.Join(dir, "xnat")
	xnat := src("mlp.xnat")
	editNative := func(name string, edit func(h map[string]any)) {
		hlen := binary.LittleEndian.Uint64(xnat[8:16])
		var h map[string]any
		if err := json.Unmarshal(xnat[16:16+hlen], &h); err != nil {
			t.Fatal(err)
		}
		edit(h)
		hb, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		b := append([]byte("XFERNAT1"), binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))...)
		b = append(append(b, hb...), xnat[16+hlen:]...)
		put(t, xn, name, b)
	}
	param0 := func(h map[string]any) map[string]any {
		return h["layers"].([]any)[0].(map[string]any)["params"].([]any)[0].(map[string]any)
	}
	editNative("huge-shape.xnat", func(h map[string]any) { param0(h)["shape"] = []int{100000, 100000} })
	editNative("huge-ref.xnat", func(h map[string]any) { param0(h)["data"] = map[string]any{"off": 0, "n": 1 << 40} })
	editNative("shape-mismatch.xnat", func(h map[string]any) { param0(h)["shape"] = []int{4, 5} })
	editNative("unknown-op.xnat", func(h map[string]any) {
		h["layers"].([]any)[0].(map[string]any)["nodes"].([]any)[0].(map[string]any)["op"] = "FancyMatMul"
	})
	{
		hb := []byte(`{"layers": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`) // Go's JSON depth limit is 10000
		b := append([]byte("XFERNAT1"), binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))...)
		put(t, xn, "nested-header.xnat", append(b, hb...))
	}
	{
		b := slices.Clone(xnat)
		binary.LittleEndian.PutUint64(b[8:], 1<<62)
		put(t, xn, "huge-header-length.xnat", b)
	}
	put(t, xn, "magic-then-random.xnat", append([]byte("XFERNAT1"), randomBytes(rng, 1000)...))

	// .npy tensors.
	np := filepath.Join(dir, "npy")
	put(t, np, "huge-shape.npy", npyBytes("<f4", "(1000000, 1000000)", make([]byte, 16)))
	put(t, np, "overflow-shape.npy", npyBytes("<f4", "(4611686018427387904, 4611686018427387904)", make([]byte, 16)))
	put(t, np, "negative-shape.npy", npyBytes("<f4", "(-5, 4)", make([]byte, 80)))
	put(t, np, "short-data.npy", npyBytes("<f4", "(5, 4)", make([]byte, 40)))
	put(t, np, "complex.npy", npyBytes("<c8", "(5, 4)", make([]byte, 160)))
	put(t, np, "object.npy", npyBytes("|O", "(5, 4)", make([]byte, 160)))
	put(t, np, "header-not-dict.npy", npyBytes("<f4", "(5, 4)", make([]byte, 80), "['descr', '<f4']"))
	put(t, np, "nested-shape.npy", npyBytes("<f4", strings.Repeat("(", 30000), nil))
	{ // a header length beyond the file
		b := src("x.npy")
		b = slices.Clone(b)
		b[8], b[9] = 0xff, 0xff
		put(t, np, "header-length.npy", b)
	}
	{ // version 2: a uint32 header length, here 4 GiB - 1
		b := slices.Clone(src("x.npy"))
		b[6] = 2
		b = slices.Insert(b, 10, 0, 0)
		binary.LittleEndian.PutUint32(b[8:], 0xffffffff)
		put(t, np, "header-length-v2.npy", b)
	}
	put(t, np, "rows-4.npy", npyBytes("<f4", "(4,)", make([]byte, 16))) // labels for 5 rows of x

	// ONNX TensorProto .pb tensors.
	pbd := filepath.Join(dir, "pb")
	tensorPB := func(name string, tp *pb.TensorProto) {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tp)
		if err != nil {
			t.Fatal(err)
		}
		put(t, pbd, name, b)
	}
	tensorPB("huge-dims.pb", &pb.TensorProto{Name: "x", Dims: []int64{100000, 100000}, DataType: int32(pb.TensorProto_FLOAT)})
	tensorPB("negative-dims.pb", &pb.TensorProto{Name: "x", Dims: []int64{-5, 4}, DataType: int32(pb.TensorProto_FLOAT), RawData: make([]byte, 80)})
	tensorPB("short-raw.pb", &pb.TensorProto{Name: "x", Dims: []int64{5, 4}, DataType: int32(pb.TensorProto_FLOAT), RawData: make([]byte, 40)})
	tensorPB("string-type.pb", &pb.TensorProto{Name: "x", Dims: []int64{2}, DataType: int32(pb.TensorProto_STRING), StringData: [][]byte{[]byte("a"), []byte("b")}})
	tensorPB("external.pb", &pb.TensorProto{Name: "x", Dims: []int64{5, 4}, DataType: int32(pb.TensorProto_FLOAT), DataLocation: pb.TensorProto_EXTERNAL,
		ExternalData: []*pb.StringStringEntryProto{{Key: "location", Value: "/etc/passwd"}}})

	// IDX (Fashion-MNIST's format; xfer has no IDX writer, so these are
	// written here from the format's definition: 0 0 type rank, big-endian
	// uint32 dims, data).
	idx := filepath.Join(dir, "idx")
	idxFile := func(name string, typ byte, dims []uint32, data []byte) {
		b := []byte{0, 0, typ, byte(len(dims))}
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, d)
		}
		put(t, idx, name, append(b, data...))
	}
	img := make([]byte, 2*28*28)
	for i := range img {
		img[i] = byte(i * 7)
	}
	idxFile("huge-dims", 8, []uint32{100000, 100000, 100000}, img)
	idxFile("short-data", 8, []uint32{60000, 28, 28}, img)
	idxFile("trailing-data", 8, []uint32{1, 28, 28}, img)
	idxFile("int32-type", 0x0c, []uint32{2, 28, 28}, img)
	idxFile("rank-0", 8, nil, img)
	idxFile("missing-dims", 8, []uint32{2}, nil)
	put(t, idx, "bad-magic", append([]byte{1, 2, 8, 3}, img...))
	put(t, idx, "header-cut", []byte{0, 0, 8})
	put(t, idx, "gzip-garbage", append([]byte{0x1f, 0x8b, 8, 0}, randomBytes(rng, 200)...))
	{ // a valid header and data, gzip-compressed, then cut in the stream
		var buf bytes.Buffer
		b := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28}
		gz := gzipBytes(t, append(b, img...))
		buf.Write(gz[:len(gz)/2])
		put(t, idx, "gzip-cut", buf.Bytes())
	}
	put(t, idx, "empty", nil)

	genDataCorpus(t, dir)

	// The HDF5 surgery h5py does (links, removed groups, edited attributes).
	py := exec.Command("/usr/bin/python3", "gen_hdf5.py")
	py.Dir = dir
	if out, err := py.CombinedOutput(); err != nil {
		t.Fatalf("%s/gen_hdf5.py: %v\n%s", dir, err, out)
	}
}

// cutOffsets spreads truncation points over a file of size n: inside the
// magic, just after it, in the first header bytes, through the metadata and
// the data, and one byte short of the end.
func cutOffsets(n int) []int {
	cand := []int{1, 4, 8, 12, 24, 64, 160, n / 8, n / 4, n / 3, n / 2, 2 * n / 3, 7 * n / 8, n - 16, n - 1}
	var out []int
	for _, c := range cand {
		if c > 0 && c < n && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func put(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func flipBit(b []byte, off, bit int) []byte {
	c := slices.Clone(b)
	c[off] ^= 1 << bit
	return c
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// pngBytes is the start of a PNG file (signature and an IHDR chunk).
func pngBytes() []byte {
	return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00\x90\x91\x68\x36")
}

type zipMember struct {
	name   string
	data   []byte
	method uint16
}

// writeZip writes members in order, with no timestamps, so that the same
// members give the same bytes.
func writeZip(t *testing.T, ms []zipMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range ms {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, files map[string][]byte) []byte {
	var ms []zipMember
	for _, name := range slices.Sorted(maps.Keys(files)) {
		ms = append(ms, zipMember{name: name, data: files[name]})
	}
	return writeZip(t, ms)
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipMembers returns the members of a zip in order.
func zipMembers(t *testing.T, b []byte) []zipMember {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var ms []zipMember
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		d, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, zipMember{name: f.Name, data: d})
	}
	return ms
}

func unzip(t *testing.T, b []byte) map[string][]byte {
	out := map[string][]byte{}
	for _, m := range zipMembers(t, b) {
		out[m.name] = m.data
	}
	return out
}

// rezip rewrites a zip with some members replaced (stored, correct CRCs).
func rezip(t *testing.T, b []byte, replace map[string][]byte) []byte {
	ms := zipMembers(t, b)
	for i := range ms {
		if r, ok := replace[ms[i].name]; ok {
			ms[i].data = r
		}
	}
	return writeZip(t, ms)
}

func addMembers(t *testing.T, b []byte, more []zipMember) []byte {
	return writeZip(t, append(zipMembers(t, b), more...))
}

// deflated rewrites a zip with member name replaced by data, deflated.
func deflated(t *testing.T, b []byte, name string, data []byte) []byte {
	ms := zipMembers(t, b)
	for i := range ms {
		if ms[i].name == name {
			ms[i].data, ms[i].method = data, zip.Deflate
		}
	}
	return writeZip(t, ms)
}

// lieSize sets the uncompressed size member name declares, in its local
// header and in the central directory, to size (zip64 sizes are not used:
// a 32-bit field holds the low bits, and sizes above 4 GiB become 0xffffffff
// in the central directory with no zip64 extra, which readers reject or
// take as a lie).
func lieSize(t *testing.T, b []byte, name string, size uint64) []byte {
	t.Helper()
	b = slices.Clone(b)
	field := uint32(size)
	if size > 0xffffffff {
		field = 0xffffffff
	}
	found := 0
	for i := 0; i+46 <= len(b); i++ {
		switch string(b[i : i+4]) {
		case "PK\x03\x04": // local header: size at 22, name length at 26, name at 30
			n := int(binary.LittleEndian.Uint16(b[i+26:]))
			if i+30+n <= len(b) && string(b[i+30:i+30+n]) == name {
				binary.LittleEndian.PutUint32(b[i+22:], field)
				found++
			}
		case "PK\x01\x02": // central header: size at 24, name length at 28, name at 46
			n := int(binary.LittleEndian.Uint16(b[i+28:]))
			if i+46+n <= len(b) && string(b[i+46:i+46+n]) == name {
				binary.LittleEndian.PutUint32(b[i+24:], field)
				found++
			}
		}
	}
	if found == 0 {
		t.Fatalf("lieSize: no member %q", name)
	}
	return b
}

func editConfig(t *testing.T, cfg []byte, from, to string) []byte {
	t.Helper()
	if !bytes.Contains(cfg, []byte(from)) {
		t.Fatalf("config.json has no %s:\n%s", from, cfg)
	}
	return bytes.Replace(cfg, []byte(from), []byte(to), 1)
}

// nestedJSON is a Keras config whose layer list is depth arrays deep.
func nestedJSON(depth int) []byte {
	return []byte(`{"class_name": "Sequential", "config": {"name": "deep", "layers": ` +
		strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}}`)
}

// npyBytes is a version-1 .npy file with the given descr and shape text
// (numpy/lib/format.py), or the given header dictionary text instead.
func npyBytes(descr, shape string, data []byte, header ...string) []byte {
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	if len(header) > 0 {
		h = header[0]
	}
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	return append(append(b, h...), data...)
}
