package native

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// testModel builds a two-Dense model with distinct weights, a const and
// attributes of every kind, so that every part of the format is exercised.
func testModel(t testing.TB) *model.Model {
	t.Helper()
	d1, err := layers.Dense(layers.DenseSpec{Name: "d1", Input: "x", InFeatures: 4, Units: 3, Activation: "relu", UseBias: true, Trainable: true,
		Kernel: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Bias: []float32{-1, float32(math.Copysign(0, -1)), 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := layers.Dense(layers.DenseSpec{Name: "d2", Input: d1.Outputs[0], InFeatures: 3, Units: 2, Activation: "softmax", UseBias: true,
		Config: json.RawMessage(`{ "units": 2,  "name": "d2" }`)})
	if err != nil {
		t.Fatal(err)
	}
	d1.Consts = append(d1.Consts, &model.Tensor{Name: "d1/perm", DType: model.Int64, Shape: []int{2}, I64: []int64{1, -9}},
		&model.Tensor{Name: "d1/mask", DType: model.Bool, Shape: []int{3}, I64: []int64{1, 0, 1}},
		&model.Tensor{Name: "d1/half", DType: model.Float16, Shape: []int{1}, F32: []float32{0.5}})
	d1.Nodes[0].Attrs = map[string]model.Attr{
		"z_float":  model.Float(float32(math.NaN())),
		"a_ints":   model.Ints(3, 2, 0),
		"m_floats": model.Floats(1.5, float32(math.Inf(-1))),
		"s":        model.String("héllo"),
		"acts":     model.Strings("Sigmoid", "Tanh"),
		"t":        {Kind: model.AttrTensor, Tensor: &model.Tensor{Name: "v", DType: model.Float32, Shape: []int{1}, F32: []float32{7}}},
	}
	return &model.Model{
		Name: "m", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 4}}},
		Outputs: []string{d2.Outputs[0]},
		Layers:  []*model.Layer{d1, d2},
		Meta:    map[string]string{"source": "test", "format": "keras-h5"},
		History: []model.Event{{Op: "import", Args: "a.h5", Time: "2026-01-01T00:00:00Z", After: "sha256:00"}},
	}
}

func TestRoundTrip(t *testing.T) {
	m := testModel(t)
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("decoded model does not validate: %v", err)
	}
	b2, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("Encode(Decode(Encode(m))) differs from Encode(m)")
	}
	// Bit-exact floats, configs byte for byte.
	if g, w := got.Layers[0].Params[1].Data[1], m.Layers[0].Params[1].Data[1]; math.Float32bits(g) != math.Float32bits(w) {
		t.Errorf("bias[1] bits = %x; want %x", math.Float32bits(g), math.Float32bits(w))
	}
	if g := got.Layers[0].Nodes[0].Attrs["z_float"].Float; !math.IsNaN(float64(g)) {
		t.Errorf("NaN attribute decoded as %v", g)
	}
	if g, w := string(got.Layers[1].Config), string(m.Layers[1].Config); g != w {
		t.Errorf("config = %q; want %q", g, w)
	}
	if !reflect.DeepEqual(got.Layers[0].Nodes[0].Attrs["acts"], m.Layers[0].Nodes[0].Attrs["acts"]) {
		t.Errorf("strings attribute = %+v; want %+v", got.Layers[0].Nodes[0].Attrs["acts"], m.Layers[0].Nodes[0].Attrs["acts"])
	}
	if !reflect.DeepEqual(got.Layers[0].Consts, m.Layers[0].Consts) {
		t.Errorf("consts = %+v; want %+v", got.Layers[0].Consts[0], m.Layers[0].Consts[0])
	}
	if !reflect.DeepEqual(got.History, m.History) || !reflect.DeepEqual(got.Meta, m.Meta) {
		t.Errorf("history/meta = %+v %v; want %+v %v", got.History, got.Meta, m.History, m.Meta)
	}
	if !reflect.DeepEqual(got.Layers[1].Params, m.Layers[1].Params) {
		t.Errorf("params of d2 differ after round trip")
	}
}

func TestEncodeDeterministic(t *testing.T) {
	a, err := Encode(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // map iteration order changes between runs
		b, _ := Encode(testModel(t))
		if !bytes.Equal(a, b) {
			t.Fatalf("Encode gave different bytes on run %d", i)
		}
	}
}

func TestDigest(t *testing.T) {
	m := testModel(t)
	d := Digest(m)
	tests := []struct {
		name   string
		change func(m *model.Model)
		same   bool
	}{
		{"history only", func(m *model.Model) { m.History = append(m.History, model.Event{Op: "freeze"}) }, true},
		{"trainable flag", func(m *model.Model) { m.Layers[1].SetTrainable(true) }, false},
		{"one weight bit", func(m *model.Model) {
			p := m.Layers[0].Params[0]
			p.Data[0] = math.Float32frombits(math.Float32bits(p.Data[0]) ^ 1)
		}, false},
		{"meta", func(m *model.Model) { m.Meta["x"] = "y" }, false},
		{"one const value", func(m *model.Model) {
			for _, l := range m.Layers {
				for _, c := range l.Consts {
					if c.Name == "d1/perm" {
						c.I64 = []int64{1, -8}
						return
					}
				}
			}
			t.Fatal("testModel has no const d1/perm")
		}, false},
		{"two params' data swapped", func(m *model.Model) {
			ps := m.Layers[0].Params
			ps[0].Data, ps[1].Data = ps[1].Data, ps[0].Data
			ps[0].Shape, ps[1].Shape = ps[1].Shape, ps[0].Shape
		}, false},
		{"a param renamed", func(m *model.Model) { m.Layers[0].Params[1].Name += "x" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := m.Clone()
			tt.change(c)
			if got := Digest(c) == d; got != tt.same {
				t.Errorf("Digest(changed) == Digest(m) is %v; want %v", got, tt.same)
			}
		})
	}
	if len(m.History) != 1 {
		t.Errorf("Digest modified its argument's history: %v", m.History)
	}
	if g := ShortDigest(d); len(g) != 12 {
		t.Errorf("ShortDigest(%q) = %q; want 12 hex digits", d, g)
	}
}

func TestDecodeTruncated(t *testing.T) {
	b, err := Encode(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 100, len(b) / 2, len(b) - 1} {
		if _, err := Decode(b[:n]); !errors.Is(err, ErrFormat) {
			t.Errorf("Decode(first %d of %d bytes) error = %v; want ErrFormat", n, len(b), err)
		}
	}
}

func TestDecodeBadRefs(t *testing.T) {
	head := func(s string) []byte {
		b := []byte(magic)
		var l [8]byte
		l[0] = byte(len(s))
		b = append(b, l[:]...)
		return append(b, s...)
	}
	tests := []struct{ name, header string }{
		{"negative count", `{"layers":[{"name":"a","params":[{"data":{"n":-1,"off":0}}]}]}`},
		{"huge count", `{"layers":[{"name":"a","params":[{"data":{"n":4611686018427387904,"off":0}}]}]}`},
		{"offset past blob", `{"layers":[{"name":"a","params":[{"data":{"n":1,"off":5}}]}]}`},
		{"bad dtype", `{"layers":[{"name":"a","consts":[{"dtype":99,"data":{"n":0,"off":0}}]}]}`},
		{"not json", `{"layers":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(head(tt.header)); !errors.Is(err, ErrFormat) {
				t.Errorf("Decode(%s) error = %v; want ErrFormat", tt.header, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	b, err := Encode(testModel(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same encoding.
		e1, err := Encode(m)
		if err != nil {
			return // e.g. a config that is not valid JSON text is still a string: fine
		}
		m2, err := Decode(e1)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(data))) failed: %v", err)
		}
		e2, _ := Encode(m2)
		if !bytes.Equal(e1, e2) {
			t.Fatalf("encoding not stable after a round trip")
		}
	})
}

// benchModel returns testModel with its first kernel replaced by mb
// megabytes of float32.
func benchModel(b *testing.B, mb int) *model.Model {
	m := testModel(b)
	m.Layers[0].Params[0].Data = make([]float32, mb*1_000_000/4)
	b.SetBytes(int64(mb * 1_000_000))
	return m
}

func BenchmarkEncode(b *testing.B) {
	m := testModel(b)
	big := make([]float32, 300*100) // the size of model A's second hidden layer
	m.Layers[0].Params[0].Data = big
	b.SetBytes(int64(4 * len(big)))
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func benchWrite(b *testing.B, mb int) {
	m := benchModel(b, mb)
	for b.Loop() {
		if err := Write(io.Discard, m); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRead(b *testing.B, mb int) {
	enc, err := Encode(benchModel(b, mb))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Read(bytes.NewReader(enc), int64(len(enc))); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDigest(b *testing.B, mb int) {
	m := benchModel(b, mb)
	for b.Loop() {
		if Digest(m) == "" {
			b.Fatal("no digest")
		}
	}
}

func BenchmarkWrite1MB(b *testing.B)   { benchWrite(b, 1) }
func BenchmarkWrite16MB(b *testing.B)  { benchWrite(b, 16) }
func BenchmarkRead1MB(b *testing.B)    { benchRead(b, 1) }
func BenchmarkRead16MB(b *testing.B)   { benchRead(b, 16) }
func BenchmarkDigest1MB(b *testing.B)  { benchDigest(b, 1) }
func BenchmarkDigest16MB(b *testing.B) { benchDigest(b, 16) }

func TestStreaming(t *testing.T) {
	want, err := Encode(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Prepare(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if enc.Size() != int64(len(want)) {
		t.Errorf("Prepare(m).Size() = %d; want %d (len(Encode(m)))", enc.Size(), len(want))
	}
	var w bytes.Buffer
	if err := Write(&w, testModel(t)); err != nil || !bytes.Equal(w.Bytes(), want) {
		t.Errorf("Write(m) = %d bytes, %v; want Encode(m)'s %d bytes", w.Len(), err, len(want))
	}
	m := testModel(t)
	enc, err = Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	var r bytes.Buffer
	if _, err := enc.WriteAndRelease(&r); err != nil || !bytes.Equal(r.Bytes(), want) {
		t.Errorf("WriteAndRelease(m) = %d bytes, %v; want Encode(m)'s %d bytes", r.Len(), err, len(want))
	}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			if p.Data != nil {
				t.Errorf("after WriteAndRelease, param %s has %d values; want released (nil)", p.Name, len(p.Data))
			}
		}
	}
	// Read stops after the last tensor: what follows stays in the reader.
	in := bytes.NewReader(append(bytes.Clone(want), "tail"...))
	got, err := Read(in, int64(len(want)))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if rest, _ := io.ReadAll(in); string(rest) != "tail" {
		t.Errorf("after Read, the reader holds %q; want %q", rest, "tail")
	}
	if b, _ := Encode(got); !bytes.Equal(b, want) {
		t.Errorf("Encode(Read(Encode(m))) differs from Encode(m)")
	}
	if _, err := Read(bytes.NewReader(want), int64(len(want))-1); !errors.Is(err, ErrFormat) {
		t.Errorf("Read(encoding, size one short) error = %v; want ErrFormat", err)
	}
}

func TestDecodeRefGoesBack(t *testing.T) {
	h := `{"layers":[{"name":"a","params":[{"data":{"n":1,"off":4}},{"data":{"n":1,"off":0}}]}]}`
	b := []byte(magic)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(h)))
	b = append(append(b, h...), make([]byte, 8)...)
	if _, err := Decode(b); !errors.Is(err, ErrFormat) {
		t.Errorf("Decode(second ref before the first) error = %v; want ErrFormat", err)
	}
}

func TestWriteFile(t *testing.T) {
	m := testModel(t)
	want, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.xnat")
	d, err := WriteFile(path, m)
	if err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if d != Digest(m) {
		t.Errorf("WriteFile(m) digest = %s; want Digest(m) = %s", d, Digest(m))
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("WriteFile(m) wrote %d bytes; want Encode(m)'s %d", len(got), len(want))
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if b, _ := Encode(back); !bytes.Equal(b, want) {
		t.Errorf("Encode(ReadFile(WriteFile(m))) differs from Encode(m)")
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) error = %v; want ErrNotExist", err)
	}
}

func TestWriteAndReleaseLarge(t *testing.T) {
	// Large params (several pieces of writeDropping), one aliasing a const:
	// every byte must still arrive.
	m := testModel(t)
	big := make([]float32, 3*dropPiece/4+123)
	for i := range big {
		big[i] = float32(i)
	}
	m.Layers[0].Params[0].Data = big
	shared := make([]float32, 5000)
	for i := range shared {
		shared[i] = -float32(i)
	}
	m.Layers[1].Params[0].Data = shared
	m.Layers[1].Consts = append(m.Layers[1].Consts, &model.Tensor{Name: "alias", DType: model.Float32, Shape: []int{5000}, F32: shared})
	want, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := enc.WriteAndRelease(&b); err != nil || !bytes.Equal(b.Bytes(), want) {
		t.Errorf("WriteAndRelease(large model) = %d bytes, %v; want Encode's %d bytes", b.Len(), err, len(want))
	}
}

// TestRoundTripNested: nested models (path, kind, flags, the call's training
// argument, config) and shared-layer call sites survive a round trip.
func TestRoundTripNested(t *testing.T) {
	dense := func(name, in string) *model.Layer {
		l, err := layers.Dense(layers.DenseSpec{Name: name, Input: in, InFeatures: 3, Units: 3, UseBias: true, Trainable: true})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	inner := dense("base/d", "x")
	inner.Scope = "base"
	s := dense("s", inner.Outputs[0])
	s1 := dense("s@1", s.Outputs[0])
	for _, n := range s1.Nodes {
		for i, in := range n.Inputs {
			if p := s1.Param(model.LocalName(in)); p != nil && p.Name == in {
				n.Inputs[i] = "s/" + p.Role
			}
		}
	}
	s1.Params, s1.Config, s1.Shares = nil, nil, "s"
	f := false
	m := &model.Model{
		Name: "nested", Opset: model.DefaultOpset,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 3}}},
		Outputs: []string{s1.Outputs[0]},
		Layers:  []*model.Layer{inner, s, s1},
		Submodels: []*model.Submodel{{Name: "base", Kind: "Functional", Trainable: false, Training: &f,
			Inputs: []string{"x"}, Outputs: []string{inner.Outputs[0]}, Config: json.RawMessage(`{"name":"base"}`)}},
	}
	m.SyncTrainable()
	if err := m.Validate(); err != nil {
		t.Fatalf("test model: %v", err)
	}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("decoded model does not validate: %v", err)
	}
	if !reflect.DeepEqual(got.Submodels, m.Submodels) {
		t.Errorf("Submodels = %+v; want %+v", got.Submodels[0], m.Submodels[0])
	}
	for i, l := range got.Layers {
		if l.Scope != m.Layers[i].Scope || l.Shares != m.Layers[i].Shares {
			t.Errorf("layer %q: scope %q, shares %q; want %q, %q", l.Name, l.Scope, l.Shares, m.Layers[i].Scope, m.Layers[i].Shares)
		}
	}
}
