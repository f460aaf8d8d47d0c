package native

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// memStore is a Store in memory that counts its Puts of new keys.
type memStore struct {
	objs map[string][]float32
	puts int
}

func (s *memStore) Put(key string, data []float32) error {
	if _, ok := s.objs[key]; !ok {
		s.objs[key] = append([]float32(nil), data...)
		s.puts++
	}
	return nil
}

func (s *memStore) Get(key string, n int) ([]float32, error) {
	v, ok := s.objs[key]
	if !ok {
		return nil, os.ErrNotExist
	}
	return append([]float32(nil), v...), nil
}

func TestStoredRoundTrip(t *testing.T) {
	m := testModel(t)
	s := &memStore{objs: map[string][]float32{}}
	path := filepath.Join(t.TempDir(), "1.snap")
	d, err := WriteStoredFile(path, m, s)
	if err != nil {
		t.Fatal(err)
	}
	if d != Digest(m) {
		t.Errorf("WriteStoredFile digest %s; want Digest(m) %s", d, Digest(m))
	}
	nparams := 0
	for _, l := range m.Layers {
		nparams += len(l.Params)
	}
	if s.puts != nparams {
		t.Errorf("WriteStoredFile put %d objects; want one per param, %d", s.puts, nparams)
	}
	back, err := ReadStoredFile(path, s)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := Encode(back)
	want, _ := Encode(m)
	if !bytes.Equal(got, want) {
		t.Errorf("ReadStoredFile(WriteStoredFile(m)) encodes differently from m")
	}
	keys, err := StoredKeys(path)
	if err != nil || len(keys) != nparams {
		t.Errorf("StoredKeys = %v, %v; want %d keys", keys, err, nparams)
	}
	// The same model again puts nothing new.
	if _, err := WriteStoredFile(filepath.Join(t.TempDir(), "2.snap"), m, s); err != nil || s.puts != nparams {
		t.Errorf("a second WriteStoredFile of the same model: %v, %d puts; want none new", err, s.puts-nparams)
	}
	// A self-contained file reads through ReadStoredFile too, with no keys.
	self := filepath.Join(t.TempDir(), "m.xnat")
	if _, err := WriteFile(self, m); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStoredFile(self, s); err != nil {
		t.Errorf("ReadStoredFile(self-contained) = %v", err)
	}
	if keys, err := StoredKeys(self); err != nil || len(keys) != 0 {
		t.Errorf("StoredKeys(self-contained) = %v, %v; want none", keys, err)
	}
}

func TestStoredBad(t *testing.T) {
	m := testModel(t)
	s := &memStore{objs: map[string][]float32{}}
	path := filepath.Join(t.TempDir(), "1.snap")
	if _, err := WriteStoredFile(path, m, s); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	key := Key(m.Layers[0].Params[0].Data)
	tests := []struct {
		name string
		edit func(b []byte) []byte
		get  func(string, int) ([]float32, error)
		want string
	}{
		{"key outside the store", func(b []byte) []byte {
			return bytes.Replace(b, []byte(key), []byte("../../../../etc/passwd"+strings.Repeat("0", len(key)-22)), 1)
		}, nil, "bad object key"},
		{"object of another length", nil, func(string, int) ([]float32, error) { return []float32{1}, nil }, "holds 1 values"},
		{"object missing", nil, func(string, int) ([]float32, error) { return nil, os.ErrNotExist }, "file does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := good
			if tc.edit != nil {
				b = tc.edit(bytes.Clone(good))
			}
			get := s.Get
			if tc.get != nil {
				get = tc.get
			}
			_, err := read(bytes.NewReader(b), int64(len(b)), get)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("read(%s) = %v; want an error saying %q", tc.name, err, tc.want)
			}
		})
	}
	// A stored snapshot is not a self-contained file.
	if _, err := Decode(good); !errors.Is(err, ErrFormat) {
		t.Errorf("Decode(stored snapshot) = %v; want ErrFormat", err)
	}
}

// FuzzReadStored decodes arbitrary stored snapshots against a store that
// holds the seed's objects: errors, never a panic, and a param whose data
// came from the store has the length its reference says.
func FuzzReadStored(f *testing.F) {
	m := testModel(f)
	s := &memStore{objs: map[string][]float32{}}
	path := filepath.Join(f.TempDir(), "1.snap")
	if _, err := WriteStoredFile(path, m, s); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		asked := map[string]int{}
		get := func(key string, n int) ([]float32, error) {
			v, err := s.Get(key, n)
			if err == nil && len(v) != n {
				asked[key] = n
			}
			return v, err
		}
		if _, err := read(bytes.NewReader(b), int64(len(b)), get); err == nil && len(asked) > 0 {
			t.Fatalf("read accepted objects of another length than the snapshot says: %v", asked)
		}
	})
}

// TestWriteStoredHashed: a stored write given DigestHashed(m) stores the
// params under the keys it holds without hashing them again (a key planted
// in it is the one used) and writes the digest it holds; the snapshot
// equals one written without it.
func TestWriteStoredHashed(t *testing.T) {
	m := testModel(t)
	h := DigestHashed(m)
	if h.Digest != Digest(m) || len(h.keys) == 0 {
		t.Fatalf("DigestHashed(m) = %q with %d keys; want Digest(m) %q and the params' keys", h.Digest, len(h.keys), Digest(m))
	}
	dir := t.TempDir()
	s1 := &memStore{objs: map[string][]float32{}}
	d1, err := WriteStoredFileWith(filepath.Join(dir, "1.snap"), m, s1, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2 := &memStore{objs: map[string][]float32{}}
	d2, err := WriteStoredFile(filepath.Join(dir, "2.snap"), m, s2)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(filepath.Join(dir, "1.snap"))
	b2, _ := os.ReadFile(filepath.Join(dir, "2.snap"))
	if d1 != d2 || !bytes.Equal(b1, b2) || len(s1.objs) != len(s2.objs) {
		t.Errorf("write with DigestHashed: digest %s, %d objects; without: %s, %d objects; snapshots equal %v; want the same",
			d1, len(s1.objs), d2, len(s2.objs), bytes.Equal(b1, b2))
	}
	name := m.Layers[0].Params[0].Name
	planted := strings.Repeat("0", 64)
	h.keys[name] = planted
	s3 := &memStore{objs: map[string][]float32{}}
	if _, err := WriteStoredFileWith(filepath.Join(dir, "3.snap"), m, s3, h, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := s3.objs[planted]; !ok {
		t.Errorf("param %s was hashed again: the key DigestHashed gave was not used", name)
	}
}
