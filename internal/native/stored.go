package native

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// magicStored starts a stored snapshot: the encoding of a model whose
// params' data is kept in a Store, each param referred to by its key.
const magicStored = "XFERSNP1"

// A Store keeps params' data by content: the workspace's objects
// directory, where a step that changes one layer adds only that layer's
// params and every other param is shared with the snapshots before it.
type Store interface {
	// Put keeps data under key (Key(data)); a Store that has key already
	// keeps what it has.
	Put(key string, data []float32) error
	// Get returns the n values kept under key.
	Get(key string, n int) ([]float32, error)
}

// Key returns the content key of a param's data: the hex sha256 of its
// little-endian bytes.
func Key(data []float32) string {
	h := sha256.New()
	if littleEndian {
		if len(data) > 0 {
			h.Write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data)))
		}
	} else {
		buf := make([]byte, 0, 64<<10)
		for _, x := range data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// IsKey reports whether s has the form of a Key (64 lower-case hex
// digits), so that a Store can use it as a file name.
func IsKey(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// WriteStoredFile writes m as a stored snapshot to path atomically: every
// param's data goes to s under its Key (which s keeps once, however many
// snapshots refer to it), the rest of the encoding to path. It returns
// Digest(m), the same for a model written self-contained (WriteFile), so
// that the two forms of a model are one model to the journal. m is not
// modified.
func WriteStoredFile(path string, m *model.Model, s Store) (digest string, err error) {
	return WriteStoredFileDigest(path, m, s, "")
}

// WriteStoredFileDigest is WriteStoredFile for a caller that has computed
// Digest(m) already (known, not empty): only the header is hashed for the
// digest. With known "" it computes the digest from the keys the params
// are stored under.
func WriteStoredFileDigest(path string, m *model.Model, s Store, known string) (digest string, err error) {
	return WriteStoredFileWith(path, m, s, Hashed{Digest: known}, nil)
}

// WriteStoredFileWith is WriteStoredFileDigest for a caller that may have
// hashed m already (DigestHashed: its params are not hashed again; it must
// be m's, params unchanged since) and that may record the digest in the
// stored model: edit, when not nil, gets the digest once it is known and
// returns the model to encode, m with more History (the digest does not
// cover History; edit must change nothing else).
func WriteStoredFileWith(path string, m *model.Model, s Store, known Hashed, edit func(digest string) *model.Model) (digest string, err error) {
	if m == nil {
		return "", fmt.Errorf("native: encode: nil model")
	}
	keys, err := paramKeys(m, known.keys, s.Put)
	if err != nil {
		return "", err
	}
	if digest = known.Digest; digest == "" {
		digest = digestKeys(m, keys)
	}
	if digest == "" {
		return "", fmt.Errorf("native: model %q cannot be encoded", m.Name)
	}
	if edit != nil {
		m = edit(digest)
	}
	enc, err := prepare(m, keys)
	if err != nil {
		return "", err
	}
	if err := writeBuffered(path, func(w io.Writer) error { _, err := enc.WriteTo(w); return err }); err != nil {
		return "", err
	}
	return digest, nil
}

// paramKeys returns the Key of every param of m that holds data (taken
// from have, by param name, where it is there; hashed otherwise) and, when
// put is not nil, passes each param's key and data to it. Params are hashed
// by one worker per CPU; with put by four per CPU: a worker then spends much
// of its time blocked in writing and syncing an object file (a Store's Put
// is durable), and meanwhile the others hash theirs (ResNet50's 103 MB in
// 320 params: `xfer import` 0.87 s -> 0.72 s median on a loaded 2-CPU
// machine with one worker per CPU against four).
func paramKeys(m *model.Model, have map[string]string, put func(key string, data []float32) error) (map[*model.Param]string, error) {
	var ps []*model.Param
	for _, l := range m.Layers {
		for _, p := range l.Params {
			if len(p.Data) > 0 {
				ps = append(ps, p)
			}
		}
	}
	keys := make([]string, len(ps))
	errs := make([]error, len(ps))
	next := make(chan int)
	workers := runtime.GOMAXPROCS(0)
	if put != nil {
		workers *= 4
	}
	var wg sync.WaitGroup
	for range min(workers, len(ps)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if k, ok := have[ps[i].Name]; ok {
					keys[i] = k
				} else {
					keys[i] = Key(ps[i].Data)
				}
				if put != nil {
					errs[i] = put(keys[i], ps[i].Data)
				}
			}
		}()
	}
	for i := range ps {
		next <- i
	}
	close(next)
	wg.Wait()
	out := make(map[*model.Param]string, len(ps))
	for i, p := range ps {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out[p] = keys[i]
	}
	return out, nil
}

// ReadStoredFile decodes the snapshot at path, stored (WriteStoredFile:
// its params' data comes from s) or self-contained (WriteFile).
func ReadStoredFile(path string, s Store) (*model.Model, error) {
	f, size, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(bufio.NewReaderSize(f, 64<<10), size, s.Get)
}

// StoredKeys returns the Store keys the snapshot at path refers to, read
// from its header alone; none for a self-contained encoding.
func StoredKeys(path string) ([]string, error) {
	f, size, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, stored, _, err := readHeader(bufio.NewReaderSize(f, 64<<10), size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var keys []string
	for _, l := range h.Layers {
		for _, p := range l.Params {
			if p.Object == "" {
				continue
			}
			if !stored || !IsKey(p.Object) {
				return nil, fmt.Errorf("%w: %s: layer %q: param %q: bad object key %q", ErrFormat, path, l.Name, p.Name, p.Object)
			}
			keys = append(keys, p.Object)
		}
	}
	return keys, nil
}

// storedParam returns the data of a param a stored snapshot refers to by
// key.
func storedParam(hp hParam, stored bool, get func(string, int) ([]float32, error), what string) ([]float32, error) {
	if !stored || !IsKey(hp.Object) {
		return nil, fmt.Errorf("%w: %s: bad object key %q", ErrFormat, what, hp.Object)
	}
	n := hp.Data.N
	if n <= 0 {
		return nil, fmt.Errorf("%w: %s: object %s of %d values", ErrFormat, what, hp.Object, n)
	}
	data, err := get(hp.Object, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(data) != n {
		return nil, fmt.Errorf("%w: %s: object %s holds %d values, the snapshot says %d", ErrFormat, what, hp.Object, len(data), n)
	}
	return data, nil
}

// open opens path for reading after checking its size against the memory
// ceiling (the tensors read are about as large as the file).
func open(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("native: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("native: %w", err)
	}
	if err := limits.Check(path, st.Size(), 1); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("native: %w", err)
	}
	return f, st.Size(), nil
}

// ReadObject reads a Store object file at path: the little-endian float32
// values of one param, n of them (a Store's Get).
func ReadObject(path string, n int) ([]float32, error) {
	f, size, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size != 4*int64(n) {
		return nil, fmt.Errorf("%w: %s is %d bytes; want %d values, %d bytes", ErrFormat, path, size, n, 4*int64(n))
	}
	d := &decoder{r: bufio.NewReaderSize(f, 64<<10), remain: size}
	return d.f32(ref{N: n}, path)
}

// WriteObject writes data to path as a Store object (its little-endian
// float32 values), atomically.
func WriteObject(path string, data []float32) error {
	return atomicfile.Write(path, func(tmp string) error {
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("native: %w", err)
		}
		c := chunk{f32: data}
		if littleEndian {
			_, err = f.Write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data)))
		} else {
			var buf []byte
			_, err = writeSwapped(f, &c, &buf)
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
