package native

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/xferml/xfer/model"
)

// ErrFormat reports bytes that are not a valid native encoding.
var ErrFormat = errors.New("native: bad format")

// magic starts every encoding; the digit is the format version.
const magic = "XFERNAT1"

// prefixLen is the length of magic plus the uint64 header length.
const prefixLen = len(magic) + 8

// The header structs below have their fields in alphabetical order of their
// JSON keys, so that the header's keys are sorted (maps are sorted by
// encoding/json itself).

type ref struct {
	N   int `json:"n"`   // element count
	Off int `json:"off"` // byte offset into the blob
}

type hModel struct {
	History    []model.Event     `json:"history,omitempty"`
	Inputs     []hValue          `json:"inputs"`
	Layers     []hLayer          `json:"layers"`
	Meta       map[string]string `json:"meta,omitempty"`
	Name       string            `json:"name"`
	Opset      int               `json:"opset"`
	Outputs    []string          `json:"outputs"`
	Sequential bool              `json:"sequential"`
}

type hValue struct {
	DType int    `json:"dtype"`
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

type hLayer struct {
	Config    *string   `json:"config,omitempty"`
	Consts    []hTensor `json:"consts,omitempty"`
	Inputs    []string  `json:"inputs"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Nodes     []hNode   `json:"nodes,omitempty"`
	Outputs   []string  `json:"outputs"`
	Params    []hParam  `json:"params,omitempty"`
	Trainable bool      `json:"trainable"`
}

type hParam struct {
	Data      ref     `json:"data"`
	InitCfg   *string `json:"init_config,omitempty"`
	InitName  *string `json:"init_name,omitempty"`
	Name      string  `json:"name"`
	Role      string  `json:"role"`
	Shape     []int   `json:"shape"`
	State     bool    `json:"state"`
	Trainable bool    `json:"trainable"`
}

type hTensor struct {
	DType int    `json:"dtype"`
	Data  ref    `json:"data"`
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

type hNode struct {
	Attrs   map[string]hAttr `json:"attrs,omitempty"`
	Inputs  []string         `json:"inputs"`
	Name    string           `json:"name"`
	Op      string           `json:"op"`
	Outputs []string         `json:"outputs"`
}

type hAttr struct {
	FloatBits uint32   `json:"float_bits,omitempty"` // math.Float32bits of Float
	Floats    *ref     `json:"floats,omitempty"`
	Int       int64    `json:"int,omitempty"`
	Ints      []int64  `json:"ints,omitempty"`
	Kind      int      `json:"kind"`
	String    string   `json:"string,omitempty"`
	Tensor    *hTensor `json:"tensor,omitempty"`
}

// encoder appends tensor data to a blob.
type encoder struct{ blob bytes.Buffer }

func (e *encoder) f32(v []float32) ref {
	r := ref{N: len(v), Off: e.blob.Len()}
	// One append pass into the buffer's own free space (a 4-byte Write per
	// value took 0.3-0.5 s for a 100 MB model).
	e.blob.Grow(4 * len(v))
	b := e.blob.AvailableBuffer()
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	e.blob.Write(b)
	return r
}

func (e *encoder) i64(v []int64) ref {
	r := ref{N: len(v), Off: e.blob.Len()}
	var b [8]byte
	for _, x := range v {
		binary.LittleEndian.PutUint64(b[:], uint64(x))
		e.blob.Write(b[:])
	}
	return r
}

func (e *encoder) tensor(t *model.Tensor) hTensor {
	h := hTensor{DType: int(t.DType), Name: t.Name, Shape: t.Shape}
	if t.DType == model.Int64 {
		h.Data = e.i64(t.I64)
	} else {
		h.Data = e.f32(t.F32)
	}
	return h
}

// Encode returns the snapshot encoding of m. The same model always gives the
// same bytes. m is not modified.
func Encode(m *model.Model) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("native: encode: nil model")
	}
	var e encoder
	// The params are nearly all of the blob: one allocation up front, not a
	// doubling series of copies.
	size := 0
	for _, l := range m.Layers {
		for _, p := range l.Params {
			size += 4 * len(p.Data)
		}
	}
	e.blob.Grow(size)
	h := hModel{
		History: m.History, Meta: m.Meta, Name: m.Name, Opset: m.Opset,
		Outputs: m.Outputs, Sequential: m.Sequential,
		Inputs: []hValue{}, Layers: []hLayer{},
	}
	for _, v := range m.Inputs {
		h.Inputs = append(h.Inputs, hValue{DType: int(v.DType), Name: v.Name, Shape: v.Shape})
	}
	for _, l := range m.Layers {
		hl := hLayer{Inputs: l.Inputs, Kind: l.Kind, Name: l.Name, Outputs: l.Outputs, Trainable: l.Trainable}
		if l.Config != nil {
			s := string(l.Config)
			hl.Config = &s
		}
		for _, p := range l.Params {
			hp := hParam{Data: e.f32(p.Data), Name: p.Name, Role: p.Role, Shape: p.Shape, State: p.State, Trainable: p.Trainable}
			if p.Init != nil {
				name := p.Init.Name
				hp.InitName = &name
				if p.Init.Config != nil {
					s := string(p.Init.Config)
					hp.InitCfg = &s
				}
			}
			hl.Params = append(hl.Params, hp)
		}
		for _, t := range l.Consts {
			if t == nil {
				return nil, fmt.Errorf("native: encode: layer %q: nil const", l.Name)
			}
			hl.Consts = append(hl.Consts, e.tensor(t))
		}
		for _, n := range l.Nodes {
			hn := hNode{Inputs: n.Inputs, Name: n.Name, Op: n.Op, Outputs: n.Outputs}
			if len(n.Attrs) > 0 {
				hn.Attrs = make(map[string]hAttr, len(n.Attrs))
				// Attribute data goes to the blob in sorted key order so that
				// the blob, like the header, does not depend on map order.
				for _, k := range sortedKeys(n.Attrs) {
					a := n.Attrs[k]
					ha := hAttr{Kind: int(a.Kind), Int: a.Int, Ints: a.Ints, String: a.String, FloatBits: math.Float32bits(a.Float)}
					if a.Floats != nil {
						r := e.f32(a.Floats)
						ha.Floats = &r
					}
					if a.Tensor != nil {
						t := e.tensor(a.Tensor)
						ha.Tensor = &t
					}
					hn.Attrs[k] = ha
				}
			}
			hl.Nodes = append(hl.Nodes, hn)
		}
		h.Layers = append(h.Layers, hl)
	}
	head, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("native: encode model %q: %w", m.Name, err)
	}
	out := make([]byte, 0, prefixLen+len(head)+e.blob.Len())
	out = append(out, magic...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(head)))
	out = append(out, head...)
	out = append(out, e.blob.Bytes()...)
	return out, nil
}

// Digest returns "sha256:" and the hex sha256 of m's encoding without its
// History. It is "" only if m cannot be encoded.
func Digest(m *model.Model) string {
	if m == nil {
		return ""
	}
	c := *m // shallow: only History differs, Encode does not modify
	c.History = nil
	b, err := Encode(&c)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ShortDigest returns the first 12 hex digits of a digest, for display.
func ShortDigest(d string) string {
	const n = len("sha256:") + 12
	if len(d) < n {
		return d
	}
	return d[len("sha256:"):n]
}

// decoder reads tensor data from a blob with bounds checks.
type decoder struct{ blob []byte }

func (d *decoder) check(r ref, size int, what string) error {
	if r.N < 0 || r.Off < 0 || r.Off > len(d.blob) || r.N > (len(d.blob)-r.Off)/size {
		return fmt.Errorf("%w: %s: data reference (offset %d, %d elements) is outside the %d-byte blob", ErrFormat, what, r.Off, r.N, len(d.blob))
	}
	return nil
}

func (d *decoder) f32(r ref, what string) ([]float32, error) {
	if err := d.check(r, 4, what); err != nil {
		return nil, err
	}
	if r.N == 0 {
		return nil, nil
	}
	v := make([]float32, r.N)
	b := d.blob[r.Off:]
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func (d *decoder) i64(r ref, what string) ([]int64, error) {
	if err := d.check(r, 8, what); err != nil {
		return nil, err
	}
	if r.N == 0 {
		return nil, nil
	}
	v := make([]int64, r.N)
	b := d.blob[r.Off:]
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v, nil
}

func (d *decoder) tensor(h *hTensor, what string) (*model.Tensor, error) {
	t := &model.Tensor{Name: h.Name, DType: model.DType(h.DType), Shape: h.Shape}
	var err error
	switch t.DType {
	case model.Float32:
		t.F32, err = d.f32(h.Data, what)
	case model.Int64:
		t.I64, err = d.i64(h.Data, what)
	default:
		return nil, fmt.Errorf("%w: %s: unknown dtype %d", ErrFormat, what, h.DType)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Decode parses an encoding made by Encode. It checks the framing and every
// data reference, not the model's invariants (call Validate for those).
func Decode(b []byte) (*model.Model, error) {
	if len(b) < prefixLen || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: missing %q header (not an xfer snapshot, or truncated)", ErrFormat, magic)
	}
	hlen := binary.LittleEndian.Uint64(b[len(magic):prefixLen])
	if hlen > uint64(len(b)-prefixLen) {
		return nil, fmt.Errorf("%w: header length %d exceeds the %d bytes that remain (truncated?)", ErrFormat, hlen, len(b)-prefixLen)
	}
	head := b[prefixLen : prefixLen+int(hlen)]
	var h hModel
	if err := json.Unmarshal(head, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	d := &decoder{blob: b[prefixLen+int(hlen):]}
	m := &model.Model{
		Name: h.Name, Opset: h.Opset, Outputs: h.Outputs, Sequential: h.Sequential,
		Meta: h.Meta, History: h.History,
	}
	for _, v := range h.Inputs {
		m.Inputs = append(m.Inputs, &model.Value{Name: v.Name, DType: model.DType(v.DType), Shape: v.Shape})
	}
	for _, hl := range h.Layers {
		l := &model.Layer{Name: hl.Name, Kind: hl.Kind, Inputs: hl.Inputs, Outputs: hl.Outputs, Trainable: hl.Trainable}
		if hl.Config != nil {
			l.Config = json.RawMessage(*hl.Config)
		}
		for _, hp := range hl.Params {
			data, err := d.f32(hp.Data, fmt.Sprintf("layer %q: param %q", hl.Name, hp.Name))
			if err != nil {
				return nil, err
			}
			p := &model.Param{Name: hp.Name, Role: hp.Role, Shape: hp.Shape, Data: data, State: hp.State, Trainable: hp.Trainable}
			if hp.InitName != nil {
				p.Init = &model.Initializer{Name: *hp.InitName}
				if hp.InitCfg != nil {
					p.Init.Config = json.RawMessage(*hp.InitCfg)
				}
			}
			l.Params = append(l.Params, p)
		}
		for i := range hl.Consts {
			t, err := d.tensor(&hl.Consts[i], fmt.Sprintf("layer %q: const %q", hl.Name, hl.Consts[i].Name))
			if err != nil {
				return nil, err
			}
			l.Consts = append(l.Consts, t)
		}
		for _, hn := range hl.Nodes {
			n := &model.Node{Name: hn.Name, Op: hn.Op, Inputs: hn.Inputs, Outputs: hn.Outputs}
			if hn.Attrs != nil {
				n.Attrs = make(map[string]model.Attr, len(hn.Attrs))
				for k, ha := range hn.Attrs {
					what := fmt.Sprintf("layer %q: node %q: attribute %q", hl.Name, hn.Name, k)
					a := model.Attr{Kind: model.AttrKind(ha.Kind), Int: ha.Int, Ints: ha.Ints, String: ha.String, Float: math.Float32frombits(ha.FloatBits)}
					if ha.Floats != nil {
						v, err := d.f32(*ha.Floats, what)
						if err != nil {
							return nil, err
						}
						a.Floats = v
						if a.Floats == nil {
							a.Floats = []float32{}
						}
					}
					if ha.Tensor != nil {
						t, err := d.tensor(ha.Tensor, what)
						if err != nil {
							return nil, err
						}
						a.Tensor = t
					}
					n.Attrs[k] = a
				}
			}
			l.Nodes = append(l.Nodes, n)
		}
		m.Layers = append(m.Layers, l)
	}
	return m, nil
}

func sortedKeys(m map[string]model.Attr) []string {
	return slices.Sorted(maps.Keys(m))
}
