package native

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"unsafe"

	"github.com/xferml/xfer/internal/atomicfile"
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
	Submodels  []hSubmodel       `json:"submodels,omitempty"`
}

type hSubmodel struct {
	Config    *string  `json:"config,omitempty"`
	Inputs    []string `json:"inputs"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	Outputs   []string `json:"outputs"`
	Trainable bool     `json:"trainable"`
	Training  *bool    `json:"training,omitempty"`
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
	Scope     string    `json:"scope,omitempty"`
	Shares    string    `json:"shares,omitempty"`
	Trainable bool      `json:"trainable"`
}

type hParam struct {
	Data      ref     `json:"data"`
	InitCfg   *string `json:"init_config,omitempty"`
	InitName  *string `json:"init_name,omitempty"`
	Name      string  `json:"name"`
	Object    string  `json:"object,omitempty"` // a stored snapshot's Store key (stored.go)
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
	Strings   []string `json:"strings,omitempty"`
	Tensor    *hTensor `json:"tensor,omitempty"`
}

// encoder lays out tensor data in the blob: it records each tensor, in blob
// order, and hands out references without copying any data.
type encoder struct {
	off    int
	chunks []chunk
}

// chunk is one tensor's data in the blob: F32 or I64, and the param that
// owns it (nil for consts and attributes).
type chunk struct {
	f32   []float32
	i64   []int64
	param *model.Param
}

func (e *encoder) f32(v []float32, p *model.Param) ref {
	r := ref{N: len(v), Off: e.off}
	if len(v) > 0 {
		e.chunks = append(e.chunks, chunk{f32: v, param: p})
		e.off += 4 * len(v)
	}
	return r
}

func (e *encoder) i64(v []int64) ref {
	r := ref{N: len(v), Off: e.off}
	if len(v) > 0 {
		e.chunks = append(e.chunks, chunk{i64: v})
		e.off += 8 * len(v)
	}
	return r
}

func (e *encoder) tensor(t *model.Tensor) hTensor {
	h := hTensor{DType: int(t.DType), Name: t.Name, Shape: t.Shape}
	if !t.DType.IsFloat() { // every integer dtype and bool is held as int64
		h.Data = e.i64(t.I64)
	} else {
		h.Data = e.f32(t.F32, nil)
	}
	return h
}

// An Encoding is a model's encoding laid out but not yet written: the header
// is built and the blob's tensors are listed, so that Size is known before
// any tensor data is copied. WriteTo then streams the bytes, each tensor
// straight from the model's memory.
type Encoding struct {
	prefix []byte // magic, header length and header
	e      encoder
	name   string
}

// Prepare lays out m's encoding. The Encoding refers to m's tensors: m must
// not change until the Encoding is written.
func Prepare(m *model.Model) (*Encoding, error) { return prepare(m, nil) }

// prepare lays out m's encoding; with keys, a stored snapshot's (stored.go):
// the params keys names are referred to by key instead of laid out in the
// blob.
func prepare(m *model.Model, keys map[*model.Param]string) (*Encoding, error) {
	if m == nil {
		return nil, fmt.Errorf("native: encode: nil model")
	}
	enc := &Encoding{name: m.Name}
	e := &enc.e
	h := hModel{
		History: m.History, Meta: m.Meta, Name: m.Name, Opset: m.Opset,
		Outputs: m.Outputs, Sequential: m.Sequential,
		Inputs: []hValue{}, Layers: []hLayer{},
	}
	for _, v := range m.Inputs {
		h.Inputs = append(h.Inputs, hValue{DType: int(v.DType), Name: v.Name, Shape: v.Shape})
	}
	for _, sm := range m.Submodels {
		hs := hSubmodel{Inputs: sm.Inputs, Kind: sm.Kind, Name: sm.Name, Outputs: sm.Outputs, Trainable: sm.Trainable, Training: sm.Training}
		if sm.Config != nil {
			s := string(sm.Config)
			hs.Config = &s
		}
		h.Submodels = append(h.Submodels, hs)
	}
	for _, l := range m.Layers {
		hl := hLayer{Inputs: l.Inputs, Kind: l.Kind, Name: l.Name, Outputs: l.Outputs, Trainable: l.Trainable, Scope: l.Scope, Shares: l.Shares}
		if l.Config != nil {
			s := string(l.Config)
			hl.Config = &s
		}
		for _, p := range l.Params {
			hp := hParam{Name: p.Name, Role: p.Role, Shape: p.Shape, State: p.State, Trainable: p.Trainable}
			if k, ok := keys[p]; ok {
				hp.Data, hp.Object = ref{N: len(p.Data)}, k
			} else {
				hp.Data = e.f32(p.Data, p)
			}
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
					ha := hAttr{Kind: int(a.Kind), Int: a.Int, Ints: a.Ints, String: a.String, Strings: a.Strings, FloatBits: math.Float32bits(a.Float)}
					if a.Floats != nil {
						r := e.f32(a.Floats, nil)
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
	enc.prefix = make([]byte, 0, prefixLen+len(head))
	if keys != nil {
		enc.prefix = append(enc.prefix, magicStored...)
	} else {
		enc.prefix = append(enc.prefix, magic...)
	}
	enc.prefix = binary.LittleEndian.AppendUint64(enc.prefix, uint64(len(head)))
	enc.prefix = append(enc.prefix, head...)
	return enc, nil
}

// Size returns the length in bytes of the encoding.
func (enc *Encoding) Size() int64 { return int64(len(enc.prefix)) + int64(enc.e.off) }

// WriteTo writes the encoding to w.
func (enc *Encoding) WriteTo(w io.Writer) (int64, error) { return enc.write(w, false) }

// releaseEvery is how many bytes of released params WriteAndRelease lets
// pile up before it returns them to the operating system (a garbage
// collection each time, cheap on a heap of pointer-free tensors: 4 MiB
// keeps the excess to about one large tensor, and the collections few for
// a model of many small ones).
const releaseEvery = 4 << 20

// WriteAndRelease writes the encoding to w like WriteTo, and drops each
// param's data (sets Param.Data to nil) once it is written, returning the
// memory to the operating system as it goes: a process that only sends the
// model (a reader child) then never holds it twice over with its receiver.
// On Linux a param's pages go back while it is being written (its data
// reads as zeros afterwards), unless its memory is shared with another
// tensor of the model. The model is unusable afterwards, and so is any
// other slice of its params' data.
func (enc *Encoding) WriteAndRelease(w io.Writer) (int64, error) { return enc.write(w, true) }

// write writes the encoding to w.
func (enc *Encoding) write(w io.Writer, release bool) (int64, error) {
	n, err := w.Write(enc.prefix)
	total := int64(n)
	if err != nil {
		return total, fmt.Errorf("native: write model %q: %w", enc.name, err)
	}
	var own []bool // chunks whose memory no other chunk shares
	if release {
		own = enc.e.exclusive()
	}
	freed := 0
	var buf []byte // conversion buffer on a big-endian machine only
	for i := range enc.e.chunks {
		c := &enc.e.chunks[i]
		var k int
		if littleEndian {
			var b []byte
			if c.f32 != nil {
				b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c.f32))), 4*len(c.f32))
			} else {
				b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c.i64))), 8*len(c.i64))
			}
			if release && c.param != nil && own[i] && canDropPages {
				// Sent pieces leave memory as they go, not a whole tensor
				// after it is sent.
				k, err = writeDropping(w, b)
				freed -= len(b) // already returned
			} else {
				k, err = w.Write(b)
			}
		} else {
			k, err = writeSwapped(w, c, &buf)
		}
		total += int64(k)
		if err != nil {
			return total, fmt.Errorf("native: write model %q: %w", enc.name, err)
		}
		if release && c.param != nil {
			freed += 4 * len(c.f32)
			c.param.Data = nil
			c.f32 = nil
			if freed >= releaseEvery {
				debug.FreeOSMemory()
				freed = 0
			}
		}
	}
	if release && freed > 0 {
		debug.FreeOSMemory()
	}
	return total, nil
}

// dropPiece is how much of a tensor writeDropping writes before it drops
// the pages written (1 MiB: the excess held at once, against a madvise call
// per piece).
const dropPiece = 1 << 20

// writeDropping writes b to w in pieces and, after each, returns the whole
// pages of b written so far to the operating system (their content reads
// as zeros afterwards). b must be memory that nothing reads again.
func writeDropping(w io.Writer, b []byte) (int, error) {
	page := uintptr(os.Getpagesize())
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	dropped := int((base+page-1)&^(page-1) - base) // first whole page
	written := 0
	for written < len(b) {
		k, err := w.Write(b[written:min(len(b), written+dropPiece)])
		written += k
		if err != nil {
			return written, err
		}
		// Whole pages only: the first and last may hold other objects.
		end := int((base+uintptr(written))&^(page-1)) - int(base)
		if end > dropped {
			dropPages(b[dropped:end])
			dropped = end
		}
	}
	return written, nil
}

// exclusive reports, for each chunk, that no other chunk's data overlaps
// its memory (a model whose tensors alias one another must not lose one
// tensor's data when another is sent).
func (e *encoder) exclusive() []bool {
	type span struct {
		lo, hi uintptr
		i      int
	}
	spans := make([]span, 0, len(e.chunks))
	for i, c := range e.chunks {
		var lo, size uintptr
		if c.f32 != nil {
			lo, size = uintptr(unsafe.Pointer(unsafe.SliceData(c.f32))), uintptr(4*cap(c.f32))
		} else {
			lo, size = uintptr(unsafe.Pointer(unsafe.SliceData(c.i64))), uintptr(8*cap(c.i64))
		}
		spans = append(spans, span{lo, lo + size, i})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	own := make([]bool, len(e.chunks))
	for j, s := range spans {
		own[s.i] = (j == 0 || spans[j-1].hi <= s.lo) && (j == len(spans)-1 || s.hi <= spans[j+1].lo)
	}
	return own
}

// writeSwapped writes c's values little-endian through a 64 KiB buffer (on a
// big-endian machine, where memory order is not the encoding's).
func writeSwapped(w io.Writer, c *chunk, buf *[]byte) (int, error) {
	if *buf == nil {
		*buf = make([]byte, 0, 64<<10)
	}
	total := 0
	flush := func() error {
		n, err := w.Write(*buf)
		total += n
		*buf = (*buf)[:0]
		return err
	}
	for _, x := range c.f32 {
		*buf = binary.LittleEndian.AppendUint32(*buf, math.Float32bits(x))
		if len(*buf) == cap(*buf) {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	for _, x := range c.i64 {
		*buf = binary.LittleEndian.AppendUint64(*buf, uint64(x))
		if len(*buf) == cap(*buf) {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if len(*buf) > 0 {
		if err := flush(); err != nil {
			return total, err
		}
	}
	return total, nil
}

// littleEndian is true on a machine whose memory order is the encoding's:
// tensor data then goes between memory and the stream without conversion.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Encode returns the snapshot encoding of m. The same model always gives the
// same bytes. m is not modified.
func Encode(m *model.Model) ([]byte, error) {
	enc, err := Prepare(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(int(enc.Size()))
	if _, err := enc.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write writes the snapshot encoding of m to w, each tensor straight from
// m's memory (no copy of the whole encoding). m is not modified.
func Write(w io.Writer, m *model.Model) error {
	enc, err := Prepare(m)
	if err != nil {
		return err
	}
	_, err = enc.WriteTo(w)
	return err
}

// Digest returns "sha256:" and the hex sha256 of m's stored encoding
// without its History: the encoding WriteStoredFile writes, each param's
// data named by its Key. A hash of hashes, so that the params are hashed
// once, on every CPU, and a workspace commit, which stores them by key, has
// the digest for the price of the header. "" only if m cannot be encoded.
func Digest(m *model.Model) string { return DigestHashed(m).Digest }

// Hashed is a model's Digest with the Keys of its params, as DigestHashed
// computed them: what a later stored write of the same model needs
// (WriteStoredFileWith), so that its params are not hashed again. It is
// valid only while the model's params keep their names and data.
type Hashed struct {
	Digest string
	keys   map[string]string // param name -> Key of its data
}

// DigestHashed returns m's Digest and its params' keys ("" only if m cannot
// be encoded).
func DigestHashed(m *model.Model) Hashed {
	if m == nil {
		return Hashed{}
	}
	keys, err := paramKeys(m, nil, nil)
	if err != nil {
		return Hashed{}
	}
	h := Hashed{Digest: digestKeys(m, keys), keys: make(map[string]string, len(keys))}
	for p, k := range keys {
		h.keys[p.Name] = k
	}
	return h
}

// digestKeys is Digest for a caller that has the keys of m's params.
func digestKeys(m *model.Model, keys map[*model.Param]string) string {
	c := *m // shallow: only History differs, prepare does not modify
	c.History = nil
	enc, err := prepare(&c, keys)
	if err != nil {
		return ""
	}
	h := sha256.New()
	if _, err := enc.WriteTo(h); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// LegacyDigest is the digest xfer gave models before Digest hashed keys:
// the hex sha256 of m's self-contained encoding without its History, every
// param's data in the stream. Workspaces written then record it in their
// journals; it is there to check them.
func LegacyDigest(m *model.Model) string {
	if m == nil {
		return ""
	}
	c := *m // shallow: only History differs, Encode does not modify
	c.History = nil
	h := sha256.New()
	if err := Write(h, &c); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ShortDigest returns the first 12 hex digits of a digest, for display.
func ShortDigest(d string) string {
	const n = len("sha256:") + 12
	if len(d) < n {
		return d
	}
	return d[len("sha256:"):n]
}

// decoder reads tensor data from the blob as a stream, in the encoder's
// order, each tensor straight into its own slice.
type decoder struct {
	r      io.Reader
	pos    int64 // blob offset of the next byte of r
	remain int64 // bytes of the blob the input holds at most
	buf    []byte
}

func (d *decoder) outside(r ref, what string) error {
	return fmt.Errorf("%w: %s: data reference (offset %d, %d elements) is outside the %d-byte blob", ErrFormat, what, r.Off, r.N, d.pos+d.remain)
}

// seek checks that r's n elements of size bytes lie in the rest of the blob
// and skips to its offset. References must come in the encoder's order:
// one that goes back is an error.
func (d *decoder) seek(r ref, size int, what string) error {
	if r.N < 0 || r.Off < 0 {
		return d.outside(r, what)
	}
	if r.N == 0 {
		return nil
	}
	off := int64(r.Off)
	if off < d.pos {
		return fmt.Errorf("%w: %s: data reference (offset %d, %d elements) goes back before offset %d (references must follow the blob's order)", ErrFormat, what, r.Off, r.N, d.pos)
	}
	if off-d.pos > d.remain || int64(r.N) > (d.remain-(off-d.pos))/int64(size) {
		return d.outside(r, what)
	}
	if skip := off - d.pos; skip > 0 {
		if _, err := io.CopyN(io.Discard, d.r, skip); err != nil {
			return d.truncated(what, err)
		}
		d.pos, d.remain = off, d.remain-skip
	}
	return nil
}

func (d *decoder) truncated(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: data ends early (truncated?)", ErrFormat, what)
	}
	return fmt.Errorf("native: %s: %w", what, err)
}

// fill reads len(b) bytes of the blob into b.
func (d *decoder) fill(b []byte, what string) error {
	if _, err := io.ReadFull(d.r, b); err != nil {
		return d.truncated(what, err)
	}
	d.pos += int64(len(b))
	d.remain -= int64(len(b))
	return nil
}

// chunkBuf returns the conversion buffer of a big-endian machine.
func (d *decoder) chunkBuf() []byte {
	if d.buf == nil {
		d.buf = make([]byte, 64<<10)
	}
	return d.buf
}

func (d *decoder) f32(r ref, what string) ([]float32, error) {
	if err := d.seek(r, 4, what); err != nil {
		return nil, err
	}
	if r.N == 0 {
		return nil, nil
	}
	v := make([]float32, r.N)
	if littleEndian {
		return v, d.fill(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)), what)
	}
	for i := 0; i < len(v); {
		b := d.chunkBuf()[:4*min(len(v)-i, len(d.chunkBuf())/4)]
		if err := d.fill(b, what); err != nil {
			return nil, err
		}
		for j := 0; j < len(b); j += 4 {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[j:]))
			i++
		}
	}
	return v, nil
}

func (d *decoder) i64(r ref, what string) ([]int64, error) {
	if err := d.seek(r, 8, what); err != nil {
		return nil, err
	}
	if r.N == 0 {
		return nil, nil
	}
	v := make([]int64, r.N)
	if littleEndian {
		return v, d.fill(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 8*len(v)), what)
	}
	for i := 0; i < len(v); {
		b := d.chunkBuf()[:8*min(len(v)-i, len(d.chunkBuf())/8)]
		if err := d.fill(b, what); err != nil {
			return nil, err
		}
		for j := 0; j < len(b); j += 8 {
			v[i] = int64(binary.LittleEndian.Uint64(b[j:]))
			i++
		}
	}
	return v, nil
}

func (d *decoder) tensor(h *hTensor, what string) (*model.Tensor, error) {
	t := &model.Tensor{Name: h.Name, DType: model.DType(h.DType), Shape: h.Shape}
	var err error
	switch {
	case !t.DType.Valid():
		return nil, fmt.Errorf("%w: %s: unknown dtype %d", ErrFormat, what, h.DType)
	case t.DType.IsFloat():
		t.F32, err = d.f32(h.Data, what)
	default:
		t.I64, err = d.i64(h.Data, what)
	}
	if err != nil {
		return nil, err
	}
	t.Fit() // a snapshot edited by hand cannot hold a 3 in a bool
	return t, nil
}

// Decode parses an encoding made by Encode. It checks the framing and every
// data reference, not the model's invariants (call Validate for those).
func Decode(b []byte) (*model.Model, error) {
	return Read(bytes.NewReader(b), int64(len(b)))
}

// Read decodes an encoding of size bytes from r, reading each tensor
// straight into its own slice: no copy of the encoding is held. size (a
// file's or a message's length) bounds every allocation; Read reads no
// further than the last tensor, and fails on input that ends early. Like
// Decode, it checks the framing and every data reference, not the model's
// invariants.
func Read(r io.Reader, size int64) (*model.Model, error) { return read(r, size, nil) }

// readHeader reads the magic, the header length and the header of an
// encoding of size bytes from r, and returns the header, whether the
// encoding is a stored snapshot's, and the bytes that remain after it.
func readHeader(r io.Reader, size int64) (h *hModel, stored bool, remain int64, err error) {
	var pre [prefixLen]byte
	if size < int64(prefixLen) {
		return nil, false, 0, fmt.Errorf("%w: missing %q header (not an xfer snapshot, or truncated)", ErrFormat, magic)
	}
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, false, 0, fmt.Errorf("native: %w", err)
		}
		return nil, false, 0, fmt.Errorf("%w: missing %q header (not an xfer snapshot, or truncated)", ErrFormat, magic)
	}
	switch string(pre[:len(magic)]) {
	case magic:
	case magicStored:
		stored = true
	default:
		return nil, false, 0, fmt.Errorf("%w: missing %q header (not an xfer snapshot, or truncated)", ErrFormat, magic)
	}
	hlen := binary.LittleEndian.Uint64(pre[len(magic):])
	if hlen > uint64(size-int64(prefixLen)) {
		return nil, false, 0, fmt.Errorf("%w: header length %d exceeds the %d bytes that remain (truncated?)", ErrFormat, hlen, size-int64(prefixLen))
	}
	// The header grows with what arrives, not with what hlen claims.
	var hb bytes.Buffer
	if _, err := io.CopyN(&hb, r, int64(hlen)); err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, false, 0, fmt.Errorf("native: %w", err)
		}
		return nil, false, 0, fmt.Errorf("%w: header ends early (truncated?)", ErrFormat)
	}
	h = new(hModel)
	if err := json.Unmarshal(hb.Bytes(), h); err != nil {
		return nil, false, 0, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	return h, stored, size - int64(prefixLen) - int64(hlen), nil
}

// read decodes an encoding of size bytes from r; get gives the data of a
// stored snapshot's params (nil: r must be a self-contained encoding).
func read(r io.Reader, size int64, get func(key string, n int) ([]float32, error)) (*model.Model, error) {
	h, stored, remain, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	if stored && get == nil {
		return nil, fmt.Errorf("%w: a workspace snapshot, whose weights are kept in its workspace's objects directory: read it through the workspace (xfer inspect in that directory, or xfer export FILE)", ErrFormat)
	}
	d := &decoder{r: r, remain: remain}
	m := &model.Model{
		Name: h.Name, Opset: h.Opset, Outputs: h.Outputs, Sequential: h.Sequential,
		Meta: h.Meta, History: h.History,
	}
	for _, v := range h.Inputs {
		m.Inputs = append(m.Inputs, &model.Value{Name: v.Name, DType: model.DType(v.DType), Shape: v.Shape})
	}
	for _, hs := range h.Submodels {
		sm := &model.Submodel{Name: hs.Name, Kind: hs.Kind, Inputs: hs.Inputs, Outputs: hs.Outputs, Trainable: hs.Trainable, Training: hs.Training}
		if hs.Config != nil {
			sm.Config = json.RawMessage(*hs.Config)
		}
		m.Submodels = append(m.Submodels, sm)
	}
	for _, hl := range h.Layers {
		l := &model.Layer{Name: hl.Name, Kind: hl.Kind, Inputs: hl.Inputs, Outputs: hl.Outputs, Trainable: hl.Trainable, Scope: hl.Scope, Shares: hl.Shares}
		if hl.Config != nil {
			l.Config = json.RawMessage(*hl.Config)
		}
		for _, hp := range hl.Params {
			what := fmt.Sprintf("layer %q: param %q", hl.Name, hp.Name)
			var data []float32
			if hp.Object != "" {
				data, err = storedParam(hp, stored, get, what)
			} else {
				data, err = d.f32(hp.Data, what)
			}
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
				// The encoder's order: keys sorted, Floats before Tensor.
				for _, k := range slices.Sorted(maps.Keys(hn.Attrs)) {
					ha := hn.Attrs[k]
					what := fmt.Sprintf("layer %q: node %q: attribute %q", hl.Name, hn.Name, k)
					a := model.Attr{Kind: model.AttrKind(ha.Kind), Int: ha.Int, Ints: ha.Ints, String: ha.String, Strings: ha.Strings, Float: math.Float32frombits(ha.FloatBits)}
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

// writeBuffered writes path atomically (internal/atomicfile) with what fill
// writes through a 1 MiB buffer: the header and small tensors coalesce; a
// large tensor's write bypasses the buffer.
func writeBuffered(path string, fill func(w io.Writer) error) error {
	return atomicfile.Write(path, func(tmp string) error {
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("native: %w", err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		err = fill(bw)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("native: write %s: %w", path, err)
		}
		return nil
	})
}

// WriteFile writes m's encoding to path atomically (internal/atomicfile),
// streaming it from m's memory, and returns Digest(m), hashed on the other
// CPUs while the file is written. m is not modified.
func WriteFile(path string, m *model.Model) (digest string, err error) {
	enc, err := Prepare(m)
	if err != nil {
		return "", err
	}
	dc := make(chan string, 1)
	go func() { dc <- Digest(m) }()
	err = writeBuffered(path, func(w io.Writer) error {
		_, err := enc.WriteTo(w)
		return err
	})
	if digest = <-dc; err != nil {
		return "", err
	}
	if digest == "" {
		return "", fmt.Errorf("native: model %q cannot be encoded", m.Name)
	}
	return digest, nil
}

// ReadFile decodes the encoding in the file at path (see Read), reading
// each tensor straight into its slice.
func ReadFile(path string) (*model.Model, error) {
	f, size, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(bufio.NewReaderSize(f, 64<<10), size)
}
