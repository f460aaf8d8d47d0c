package hdf5

/*
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>

static void xfer_silence_p(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

typedef struct { char *buf; size_t len, cap, count; int bad; } xfer_anames;

static herr_t xfer_anames_cb(hid_t o, const char *name, const H5A_info_t *info, void *op) {
	xfer_anames *n = (xfer_anames *)op;
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

// xfer_attr_names writes the NUL-separated names of the attributes of object
// o, in name order, into a malloc'd buffer the caller frees.
static int xfer_attr_names(hid_t o, char **buf, size_t *len, size_t *count) {
	xfer_silence_p();
	xfer_anames n = {0};
	hsize_t idx = 0;
	herr_t err = H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, &idx, xfer_anames_cb, &n);
	if (err < 0 || n.bad) { free(n.buf); return -1; }
	*buf = n.buf;
	*len = n.len;
	*count = n.count;
	return 0;
}

// xfer_obj_key writes 24 bytes identifying object o in its file (file number
// and address, or token from libhdf5 1.12 on), for cycle detection.
static int xfer_obj_key(hid_t o, unsigned char *key) {
	xfer_silence_p();
	memset(key, 0, 24);
#if H5_VERSION_GE(1, 12, 0)
	H5O_info2_t info;
	if (H5Oget_info3(o, &info, H5O_INFO_BASIC) < 0) return -1;
	memcpy(key, &info.fileno, sizeof(info.fileno) < 8 ? sizeof(info.fileno) : 8);
	memcpy(key + 8, &info.token, sizeof(info.token) < 16 ? sizeof(info.token) : 16);
#else
	H5O_info_t info;
	if (H5Oget_info2(o, &info, H5O_INFO_BASIC) < 0) return -1;
	memcpy(key, &info.fileno, sizeof(info.fileno) < 8 ? sizeof(info.fileno) : 8);
	memcpy(key + 8, &info.addr, sizeof(info.addr) < 16 ? sizeof(info.addr) : 16);
#endif
	return 0;
}
static int xfer_oclose_p(hid_t o) { xfer_silence_p(); return H5Oclose(o); }
static int class_integer_p(void) { return H5T_INTEGER; }
static int class_float_p(void) { return H5T_FLOAT; }
static int class_string_p(void) { return H5T_STRING; }
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// maxProbeObjects bounds the objects Probe visits (a file that hard-links a
// group into itself under many names could otherwise make the walk
// exponential; cycles themselves are cut by object identity).
const maxProbeObjects = 1 << 20

// Probe opens the HDF5 file at path and reads everything in it that a reader
// of this package could be asked for, through the same calls: every object
// reachable from the root by hard links (Kind, Members), every attribute of
// each (AttrStrings or AttrFloats by type), every dataset (Dataset, with its
// guards: refused datasets are not read). Soft and external links are not
// followed, and an object reached twice is walked once.
//
// In-process, Probe is no protection against libhdf5's crashes (see the
// package doc), and in a child process it is only evidence, not proof, that
// a read elsewhere will survive. It walks the whole file even after finding
// damage and returns the first damage found (an error wrapping ErrFormat), or
// nil; features the reader refuses by design (links, external or virtual
// storage, non-float datasets) are not errors here.
func Probe(path string) error {
	f, err := Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Probe()
}

// Probe walks the open file as the function Probe does.
func (f *File) Probe() error {
	w := &prober{f: f, seen: map[[24]byte]bool{}}
	w.walk("/")
	return w.first
}

type prober struct {
	f       *File
	seen    map[[24]byte]bool
	visited int
	first   error // first damage found
}

// note records err unless it is a refusal by design or a missing object.
func (w *prober) note(err error) {
	if err == nil || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrNotFound) {
		return
	}
	if w.first == nil {
		w.first = err
	}
}

func (w *prober) walk(path string) {
	w.visited++
	if w.visited > maxProbeObjects {
		w.note(fmt.Errorf("%w: %s: more than %d objects", ErrFormat, w.f.name, maxProbeObjects))
		return
	}
	kind, err := w.f.Kind(path)
	if err != nil {
		w.note(err)
		return
	}
	key, err := w.f.objectKey(path)
	if err != nil {
		w.note(err)
		return
	}
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	names, err := w.f.attrNames(path)
	w.note(err)
	for _, a := range names {
		w.note(w.f.probeAttr(path, a))
	}
	switch kind {
	case Dataset:
		_, _, err := w.f.Dataset(path)
		w.note(err)
	case Group:
		members, err := w.f.Members(path)
		w.note(err)
		for _, m := range members {
			w.walk(strings.TrimSuffix(path, "/") + "/" + m)
		}
	}
}

// probeAttr reads attribute name of the object at path as the readers would:
// strings as strings, numbers as numbers; other types are only opened.
func (f *File) probeAttr(path, name string) error {
	var class C.int
	err := f.withAttr(path, name, func(_ C.hid_t, af attrFacts, _ string) error {
		class = af.class
		return nil
	})
	if err != nil {
		return err
	}
	switch class {
	case C.class_string_p():
		_, err = f.AttrStrings(path, name)
	case C.class_integer_p(), C.class_float_p():
		_, err = f.AttrFloats(path, name)
	}
	return err
}

// attrNames lists the attribute names of the object at path, in name order.
func (f *File) attrNames(path string) ([]string, error) {
	lockHDF5()
	defer unlockHDF5()
	id, err := f.open(path)
	if err != nil {
		return nil, err
	}
	defer C.xfer_oclose_p(id)
	var buf *C.char
	var n, count C.size_t
	if C.xfer_attr_names(id, &buf, &n, &count) < 0 {
		return nil, fmt.Errorf("%w: %s: cannot list the attributes of %q", ErrFormat, f.name, path)
	}
	defer C.free(unsafe.Pointer(buf))
	if n == 0 {
		return nil, nil
	}
	raw := C.GoBytes(unsafe.Pointer(buf), C.int(n))
	names := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
	if len(names) != int(count) {
		return nil, fmt.Errorf("%w: %s: an attribute name of %q has a NUL byte", ErrFormat, f.name, path)
	}
	return names, nil
}

// objectKey identifies the object at path within the file.
func (f *File) objectKey(path string) ([24]byte, error) {
	var key [24]byte
	lockHDF5()
	defer unlockHDF5()
	id, err := f.open(path)
	if err != nil {
		return key, err
	}
	defer C.xfer_oclose_p(id)
	if C.xfer_obj_key(id, (*C.uchar)(unsafe.Pointer(&key[0]))) < 0 {
		return key, fmt.Errorf("%w: %s: cannot read the object header of %q", ErrFormat, f.name, path)
	}
	return key, nil
}
