package hdf5

/*
#cgo pkg-config: hdf5
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>

// xfer_silence switches off libhdf5's automatic error printing for the
// calling thread (error-stack settings are per thread in thread-safe builds),
// so every helper below calls it first: the Go side cannot pin a goroutine to
// a thread across calls without side effects on its callers.
static void xfer_silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static hid_t xfer_fopen(const char *path) {
	xfer_silence();
	return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
}
static int xfer_fclose(hid_t f) { xfer_silence(); return H5Fclose(f); }
static int xfer_oclose(hid_t o) { xfer_silence(); return H5Oclose(o); }

// xfer_open_image opens an in-memory HDF5 file image read-only. libhdf5 copies
// the buffer.
static hid_t xfer_open_image(void *buf, size_t len) {
	xfer_silence();
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl < 0) return -1;
	if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 || H5Pset_file_image(fapl, buf, len) < 0) {
		H5Pclose(fapl);
		return -1;
	}
	hid_t f = H5Fopen("xfer-image.h5", H5F_ACC_RDONLY, fapl);
	H5Pclose(fapl);
	return f;
}

// xfer_link_type returns the type of the link called name in loc (H5L_TYPE_HARD,
// _SOFT, _EXTERNAL), -1 on error, -2 when it does not exist.
static int xfer_link_type(hid_t loc, const char *name) {
	xfer_silence();
	htri_t ok = H5Lexists(loc, name, H5P_DEFAULT);
	if (ok < 0) return -1;
	if (ok == 0) return -2;
	H5L_info_t info;
	if (H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0) return -1;
	return (int)info.type;
}

typedef struct { char *buf; size_t len, cap, count; int bad; } xfer_names;

static herr_t xfer_list_cb(hid_t g, const char *name, const H5L_info_t *info, void *op) {
	xfer_names *n = (xfer_names *)op;
	size_t l = strlen(name) + 1;
	if (n->len + l > n->cap) {
		size_t c = n->cap ? n->cap * 2 : 256;
		while (c < n->len + l) c *= 2;
		char *b = realloc(n->buf, c);
		if (!b) { n->bad = 1; return -1; }
		n->buf = b;
		n->cap = c;
	}
	memcpy(n->buf + n->len, name, l);
	n->len += l;
	n->count++;
	return 0;
}

// xfer_list writes the NUL-separated names of the links of group g, in name
// order, into a malloc'd buffer the caller frees.
static int xfer_list(hid_t g, char **buf, size_t *len, size_t *count) {
	xfer_silence();
	xfer_names n = {0};
	hsize_t idx = 0;
	herr_t err = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, xfer_list_cb, &n);
	if (err < 0 || n.bad) { free(n.buf); return -1; }
	*buf = n.buf;
	*len = n.len;
	*count = n.count;
	return 0;
}

// xfer_dataset_info fills the facts the reader checks before reading.
static int xfer_dataset_info(hid_t d, int *rank, hsize_t *dims, int *tclass, size_t *tsize,
		int *layout, int *nexternal, hsize_t *storage) {
	xfer_silence();
	hid_t s = H5Dget_space(d);
	if (s < 0) return -1;
	H5S_class_t sc = H5Sget_simple_extent_type(s);
	int r = H5Sget_simple_extent_ndims(s);
	if (sc == H5S_SCALAR) r = 0;
	if (r < 0 || r > H5S_MAX_RANK || (sc != H5S_SIMPLE && sc != H5S_SCALAR)) { H5Sclose(s); return -1; }
	if (r > 0 && H5Sget_simple_extent_dims(s, dims, NULL) < 0) { H5Sclose(s); return -1; }
	H5Sclose(s);
	*rank = r;
	hid_t t = H5Dget_type(d);
	if (t < 0) return -1;
	*tclass = (int)H5Tget_class(t);
	*tsize = H5Tget_size(t);
	H5Tclose(t);
	hid_t p = H5Dget_create_plist(d);
	if (p < 0) return -1;
	*layout = (int)H5Pget_layout(p);
	*nexternal = H5Pget_external_count(p);
	H5Pclose(p);
	*storage = H5Dget_storage_size(d);
	return 0;
}

static int xfer_read_f32(hid_t d, float *out) {
	xfer_silence();
	return H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0 ? -1 : 0;
}

static int xfer_is_group(hid_t o) { return H5Iget_type(o) == H5I_GROUP; }
static int xfer_is_dataset(hid_t o) { return H5Iget_type(o) == H5I_DATASET; }

static int layout_virtual(void) {
#if H5_VERSION_GE(1, 10, 0)
	return H5D_VIRTUAL;
#else
	return -100;
#endif
}
static int layout_contiguous(void) { return H5D_CONTIGUOUS; }
static int layout_compact(void) { return H5D_COMPACT; }
static int layout_chunked(void) { return H5D_CHUNKED; }
static int class_float(void) { return H5T_FLOAT; }
static int class_int(void) { return H5T_INTEGER; }
static int class_string(void) { return H5T_STRING; }
static int link_hard(void) { return H5L_TYPE_HARD; }
static hid_t xfer_oopen(hid_t loc, const char *name) { xfer_silence(); return H5Oopen(loc, name, H5P_DEFAULT); }
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// Sentinel errors, for errors.Is.
var (
	// ErrFormat reports a file that is not HDF5 or is damaged.
	ErrFormat = errors.New("hdf5: bad format")
	// ErrNotFound reports a missing object or attribute.
	ErrNotFound = errors.New("hdf5: not found")
)

// mu serialises every call into libhdf5 (Debian's serial build is not
// thread-safe). Writers in this package must hold it too.
var mu sync.Mutex

// lockHDF5 takes mu, pins the goroutine to its OS thread and switches off
// libhdf5's automatic error printing there: in a thread-safe libhdf5 the
// setting is per thread, and a goroutine that moved between calls could
// let HDF5-DIAG text reach stderr (the reader's C helpers also silence on
// every call). unlockHDF5 unpins and releases mu.
func lockHDF5() {
	mu.Lock()
	runtime.LockOSThread()
	C.xfer_silence()
}

func unlockHDF5() {
	runtime.UnlockOSThread()
	mu.Unlock()
}

// maxElements bounds the number of elements of one attribute and of one
// dataset written (2^31); datasets read are bounded by the memory ceiling
// of internal/limits.
const maxElements = 1 << 31

// File is an HDF5 file open for reading.
type File struct {
	id   C.hid_t
	name string // for messages
}

// Open opens the HDF5 file at path read-only.
func Open(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("hdf5: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("hdf5: %s: not a regular file", path)
	}
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	lockHDF5()
	defer unlockHDF5()
	id := C.xfer_fopen(cs)
	if id < 0 {
		return nil, fmt.Errorf("%w: %s: libhdf5 cannot open it (truncated or damaged?)", ErrFormat, path)
	}
	return &File{id: id, name: path}, nil
}

// OpenBytes opens an HDF5 file image held in memory (for example the
// model.weights.h5 member of a .keras zip). name is used in messages.
func OpenBytes(data []byte, name string) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%w: %s: %d bytes is too short for HDF5", ErrFormat, name, len(data))
	}
	buf := C.CBytes(data)
	defer C.free(buf)
	lockHDF5()
	defer unlockHDF5()
	id := C.xfer_open_image(buf, C.size_t(len(data)))
	if id < 0 {
		return nil, fmt.Errorf("%w: %s: libhdf5 cannot open it (not HDF5, truncated or damaged?)", ErrFormat, name)
	}
	return &File{id: id, name: name}, nil
}

// Name returns the file's path or the name given to OpenBytes.
func (f *File) Name() string { return f.name }

// Close releases the file.
func (f *File) Close() error {
	if f == nil || f.id < 0 {
		return nil
	}
	lockHDF5()
	defer unlockHDF5()
	r := C.xfer_fclose(f.id)
	f.id = -1
	if r < 0 {
		return fmt.Errorf("%w: %s: close failed", ErrFormat, f.name)
	}
	return nil
}

// cleanPath turns "/a/b/" or "a/b" into "a/b"; "" and "/" are the root (".").
func cleanPath(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// checkLinks walks path component by component and fails unless every link
// exists and is a hard link. Call with mu held.
func (f *File) checkLinks(path string) error {
	p := cleanPath(path)
	if p == "." {
		return nil
	}
	parts := strings.Split(p, "/")
	for i := range parts {
		if parts[i] == "" || parts[i] == "." || parts[i] == ".." {
			return fmt.Errorf("%w: %s: bad object path %q", ErrFormat, f.name, path)
		}
		prefix := strings.Join(parts[:i+1], "/")
		cs := C.CString(prefix)
		t := C.xfer_link_type(f.id, cs)
		C.free(unsafe.Pointer(cs))
		switch {
		case t == -2:
			return fmt.Errorf("%w: %s: no object %q", ErrNotFound, f.name, "/"+prefix)
		case t < 0:
			return fmt.Errorf("%w: %s: cannot read link %q", ErrFormat, f.name, "/"+prefix)
		case t != C.link_hard():
			return fmt.Errorf("hdf5: %w: %s: %q is a soft or external link; links are refused", model.ErrUnsupported, f.name, "/"+prefix)
		}
	}
	return nil
}

// open opens the object at path after checking its links. Call with mu held;
// the caller closes the returned id with H5Oclose.
func (f *File) open(path string) (C.hid_t, error) {
	if f == nil || f.id < 0 {
		return -1, fmt.Errorf("hdf5: file is closed")
	}
	if err := f.checkLinks(path); err != nil {
		return -1, err
	}
	cs := C.CString(cleanPath(path))
	defer C.free(unsafe.Pointer(cs))
	id := C.xfer_oopen(f.id, cs)
	if id < 0 {
		return -1, fmt.Errorf("%w: %s: cannot open object %q", ErrFormat, f.name, path)
	}
	return id, nil
}

// Kind is the type of an object.
type Kind int

// Object kinds.
const (
	Other Kind = iota
	Group
	Dataset
)

// Kind returns the kind of the object at path, or an error wrapping
// ErrNotFound when there is none.
func (f *File) Kind(path string) (Kind, error) {
	lockHDF5()
	defer unlockHDF5()
	id, err := f.open(path)
	if err != nil {
		return Other, err
	}
	defer C.xfer_oclose(id)
	switch {
	case C.xfer_is_group(id) != 0:
		return Group, nil
	case C.xfer_is_dataset(id) != 0:
		return Dataset, nil
	}
	return Other, nil
}

// Exists reports whether an object (reached by hard links only) is at path.
func (f *File) Exists(path string) bool {
	_, err := f.Kind(path)
	return err == nil
}

// Members returns the names of the links in the group at path, sorted by
// name (HDF5 name order).
func (f *File) Members(path string) ([]string, error) {
	lockHDF5()
	defer unlockHDF5()
	id, err := f.open(path)
	if err != nil {
		return nil, err
	}
	defer C.xfer_oclose(id)
	if C.xfer_is_group(id) == 0 {
		return nil, fmt.Errorf("%w: %s: %q is not a group", ErrFormat, f.name, path)
	}
	var buf *C.char
	var n, count C.size_t
	if C.xfer_list(id, &buf, &n, &count) < 0 {
		return nil, fmt.Errorf("%w: %s: cannot list group %q", ErrFormat, f.name, path)
	}
	defer C.free(unsafe.Pointer(buf))
	if n == 0 {
		return nil, nil
	}
	raw := C.GoBytes(unsafe.Pointer(buf), C.int(n))
	names := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
	if len(names) != int(count) {
		return nil, fmt.Errorf("%w: %s: group %q has a link name with a NUL byte", ErrFormat, f.name, path)
	}
	return names, nil
}

// Dataset reads the floating-point dataset at path and returns its shape
// (row-major, empty for a scalar) and data converted to float32. It refuses
// external and virtual datasets, non-float element types, and shapes whose
// element count the file's stored bytes cannot hold.
func (f *File) Dataset(path string) (shape []int, data []float32, err error) {
	shape, data, isInt, err := f.NumericDataset(path)
	if err == nil && isInt {
		return nil, nil, f.IntError(path)
	}
	return shape, data, err
}

// IntError is the error Dataset gives for an integer dataset at path, for
// callers of NumericDataset that accept integers only in some places.
func (f *File) IntError(path string) error {
	return fmt.Errorf("hdf5: %w: %s: dataset %q: element type is not a 16-, 32- or 64-bit float (an integer)", model.ErrUnsupported, f.name, path)
}

// NumericDataset is Dataset that also reads integer datasets (of 1 to 8
// bytes), converted to float32 by libhdf5 (exact up to 2^24) and reported by
// isInt. Keras stores a few counters so (Normalization's count).
func (f *File) NumericDataset(path string) (shape []int, data []float32, isInt bool, err error) {
	lockHDF5()
	defer unlockHDF5()
	id, err := f.open(path)
	if err != nil {
		return nil, nil, false, err
	}
	defer C.xfer_oclose(id)
	if C.xfer_is_dataset(id) == 0 {
		return nil, nil, false, fmt.Errorf("%w: %s: %q is not a dataset", ErrFormat, f.name, path)
	}
	var (
		rank, tclass, layout, next C.int
		dims                       [32]C.hsize_t // H5S_MAX_RANK
		tsize                      C.size_t
		storage                    C.hsize_t
	)
	if C.xfer_dataset_info(id, &rank, &dims[0], &tclass, &tsize, &layout, &next, &storage) < 0 {
		return nil, nil, false, fmt.Errorf("%w: %s: dataset %q: cannot read its dataspace, type or layout", ErrFormat, f.name, path)
	}
	where := fmt.Sprintf("%s: dataset %q", f.name, path)
	if next != 0 {
		return nil, nil, false, fmt.Errorf("hdf5: %w: %s: external storage is refused", model.ErrUnsupported, where)
	}
	if layout == C.layout_virtual() {
		return nil, nil, false, fmt.Errorf("hdf5: %w: %s: virtual datasets are refused", model.ErrUnsupported, where)
	}
	isInt = tclass == C.class_int() && tsize >= 1 && tsize <= 8
	if !isInt && (tclass != C.class_float() || (tsize != 2 && tsize != 4 && tsize != 8)) {
		return nil, nil, false, fmt.Errorf("hdf5: %w: %s: element type is not a 16-, 32- or 64-bit float (class %d, %d bytes)", model.ErrUnsupported, where, int(tclass), int(tsize))
	}
	shape = make([]int, int(rank))
	dims64 := make([]int64, int(rank))
	for i := range shape {
		if dims[i] > math.MaxInt64 {
			return nil, nil, false, fmt.Errorf("%w: %s: dimension %d is %d", ErrFormat, where, i, uint64(dims[i]))
		}
		dims64[i] = int64(dims[i])
	}
	n, err := limits.Count(where, dims64)
	if err != nil || n > math.MaxInt64/8 {
		return nil, nil, false, fmt.Errorf("%w: %s: shape %v is too large to count", ErrFormat, where, dims64)
	}
	for i, d := range dims64 {
		shape[i] = int(d)
	}
	count := uint64(n)
	need := count * uint64(tsize)
	stored := uint64(storage)
	switch layout {
	case C.layout_contiguous(), C.layout_compact():
		if stored < need {
			return nil, nil, false, fmt.Errorf("%w: %s: shape %v needs %d bytes but the file stores %d", ErrFormat, where, shape, need, stored)
		}
	case C.layout_chunked():
		// Compressed chunks: deflate cannot shrink data more than about
		// 1032:1 (zlib's technical notes), so a larger claim is a shape bomb.
		if need > 0 && (stored == 0 || need/1032 > stored) {
			return nil, nil, false, fmt.Errorf("%w: %s: shape %v needs %d bytes but the file stores %d compressed", ErrFormat, where, shape, need, stored)
		}
	default:
		return nil, nil, false, fmt.Errorf("hdf5: %w: %s: unknown storage layout %d", model.ErrUnsupported, where, int(layout))
	}
	// Read as float32: the ceiling bounds the 4-byte copy xfer allocates.
	if err := limits.Check(where, n, 4); err != nil {
		return nil, nil, false, fmt.Errorf("hdf5: %w", err)
	}
	data = make([]float32, int(count))
	if count == 0 {
		return shape, data, isInt, nil
	}
	// data holds no Go pointers, so libhdf5 may write into it directly.
	if C.xfer_read_f32(id, (*C.float)(unsafe.Pointer(&data[0]))) < 0 {
		return nil, nil, false, fmt.Errorf("%w: %s: read failed (truncated or damaged file?)", ErrFormat, where)
	}
	return shape, data, isInt, nil
}
