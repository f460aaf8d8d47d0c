package hdf5

/*
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>

static void xfer_silence_a(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static hid_t xfer_aopen(hid_t obj, const char *name) {
	xfer_silence_a();
	htri_t ok = H5Aexists(obj, name);
	if (ok < 0) return -1;
	if (ok == 0) return -2;
	return H5Aopen(obj, name, H5P_DEFAULT);
}

static int xfer_attr_info(hid_t a, int *tclass, long long *npoints, unsigned long long *storage,
		size_t *tsize, int *vlen) {
	xfer_silence_a();
	hid_t t = H5Aget_type(a);
	if (t < 0) return -1;
	*tclass = (int)H5Tget_class(t);
	*tsize = H5Tget_size(t);
	htri_t v = H5Tis_variable_str(t);
	H5Tclose(t);
	if (v < 0) return -1;
	*vlen = v > 0;
	hid_t s = H5Aget_space(a);
	if (s < 0) return -1;
	H5S_class_t sc = H5Sget_simple_extent_type(s);
	hssize_t n = H5Sget_simple_extent_npoints(s);
	H5Sclose(s);
	if (sc == H5S_NULL) n = 0;
	if (n < 0) return -1;
	*npoints = (long long)n;
	*storage = (unsigned long long)H5Aget_storage_size(a);
	return 0;
}

// xfer_attr_strings reads the n-element string attribute a into a malloc'd
// buffer of NUL-terminated strings, one after the other.
static int xfer_attr_strings(hid_t a, size_t n, char **out, size_t *outlen) {
	xfer_silence_a();
	hid_t ft = H5Aget_type(a);
	if (ft < 0) return -1;
	htri_t isv = H5Tis_variable_str(ft);
	hid_t s = H5Aget_space(a);
	if (isv < 0 || s < 0) { H5Tclose(ft); if (s >= 0) H5Sclose(s); return -1; }
	int rc = -1;
	char *res = NULL;
	size_t len = 0;
	if (isv > 0) {
		hid_t mt = H5Tcopy(H5T_C_S1);
		H5Tset_size(mt, H5T_VARIABLE);
		H5Tset_cset(mt, H5Tget_cset(ft));
		char **p = calloc(n ? n : 1, sizeof(char *));
		if (p && H5Aread(a, mt, p) >= 0) {
			size_t total = 0;
			for (size_t i = 0; i < n; i++) total += (p[i] ? strlen(p[i]) : 0) + 1;
			res = malloc(total ? total : 1);
			if (res) {
				for (size_t i = 0; i < n; i++) {
					size_t l = p[i] ? strlen(p[i]) : 0;
					if (l) memcpy(res + len, p[i], l);
					len += l;
					res[len++] = 0;
				}
				rc = 0;
			}
			H5Dvlen_reclaim(mt, s, H5P_DEFAULT, p);
		}
		free(p);
		H5Tclose(mt);
	} else {
		size_t sz = H5Tget_size(ft);
		H5T_str_t pad = H5Tget_strpad(ft);
		char *raw = malloc(n * sz ? n * sz : 1);
		res = malloc(n * (sz + 1) ? n * (sz + 1) : 1);
		// Reading with the file's own string type: no conversion.
		if (raw && res && H5Aread(a, ft, raw) >= 0) {
			for (size_t i = 0; i < n; i++) {
				const char *e = raw + i * sz;
				size_t l = 0;
				while (l < sz && e[l]) l++;
				if (pad == H5T_STR_SPACEPAD) while (l > 0 && e[l - 1] == ' ') l--;
				memcpy(res + len, e, l);
				len += l;
				res[len++] = 0;
			}
			rc = 0;
		}
		free(raw);
	}
	H5Sclose(s);
	H5Tclose(ft);
	if (rc < 0) { free(res); return -1; }
	*out = res;
	*outlen = len;
	return 0;
}

static int xfer_attr_doubles(hid_t a, double *out) {
	xfer_silence_a();
	return H5Aread(a, H5T_NATIVE_DOUBLE, out) < 0 ? -1 : 0;
}
static int xfer_aclose(hid_t a) { xfer_silence_a(); return H5Aclose(a); }
static int xfer_oclose_a(hid_t o) { xfer_silence_a(); return H5Oclose(o); }
static int class_integer(void) { return H5T_INTEGER; }
static int class_float_a(void) { return H5T_FLOAT; }
static int class_string_a(void) { return H5T_STRING; }
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// attrFacts describes an attribute before it is read.
type attrFacts struct {
	class   C.int
	n       int
	storage uint64
	size    int
	vlen    bool
}

// withAttr opens attribute name of the object at path and calls fn with mu
// held.
func (f *File) withAttr(path, name string, fn func(a C.hid_t, af attrFacts, where string) error) error {
	lockHDF5()
	defer unlockHDF5()
	obj, err := f.open(path)
	if err != nil {
		return err
	}
	defer C.xfer_oclose_a(obj)
	where := fmt.Sprintf("%s: attribute %q of %q", f.name, name, "/"+strings.Trim(path, "/"))
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	a := C.xfer_aopen(obj, cs)
	switch {
	case a == -2:
		return fmt.Errorf("%w: %s", ErrNotFound, where)
	case a < 0:
		return fmt.Errorf("%w: %s: cannot open", ErrFormat, where)
	}
	defer C.xfer_aclose(a)
	var (
		class, vlen C.int
		n           C.longlong
		storage     C.ulonglong
		size        C.size_t
	)
	if C.xfer_attr_info(a, &class, &n, &storage, &size, &vlen) < 0 {
		return fmt.Errorf("%w: %s: cannot read its type or dataspace", ErrFormat, where)
	}
	af := attrFacts{class: class, n: int(n), storage: uint64(storage), size: int(size), vlen: vlen != 0}
	// An attribute cannot hold more elements than it stores bytes (at least
	// one byte per element in every encoding): refuse before allocating.
	if n < 0 || uint64(n) > af.storage || n > maxElements {
		return fmt.Errorf("%w: %s: %d elements in %d stored bytes", ErrFormat, where, int64(n), af.storage)
	}
	if !af.vlen && af.n > 0 && (af.size <= 0 || uint64(af.n) > af.storage/uint64(af.size)) {
		return fmt.Errorf("%w: %s: %d elements of %d bytes in %d stored bytes", ErrFormat, where, af.n, af.size, af.storage)
	}
	return fn(a, af, where)
}

// HasAttr reports whether the object at path has attribute name.
func (f *File) HasAttr(path, name string) bool {
	err := f.withAttr(path, name, func(C.hid_t, attrFacts, string) error { return nil })
	return err == nil
}

// AttrStrings reads a string attribute (scalar or array, fixed- or
// variable-length) as a list. A numeric attribute with no elements (Keras
// writes an empty float64 array as the weight_names of a layer without
// weights) gives an empty list.
func (f *File) AttrStrings(path, name string) ([]string, error) {
	var out []string
	err := f.withAttr(path, name, func(a C.hid_t, af attrFacts, where string) error {
		if af.class != C.class_string_a() {
			if af.n == 0 {
				out = []string{}
				return nil
			}
			return fmt.Errorf("%w: %s: not a string attribute (type class %d)", ErrFormat, where, int(af.class))
		}
		if af.n == 0 {
			out = []string{}
			return nil
		}
		var buf *C.char
		var n C.size_t
		if C.xfer_attr_strings(a, C.size_t(af.n), &buf, &n) < 0 {
			return fmt.Errorf("%w: %s: cannot read strings", ErrFormat, where)
		}
		defer C.free(unsafe.Pointer(buf))
		raw := C.GoStringN(buf, C.int(n))
		out = strings.Split(strings.TrimSuffix(raw, "\x00"), "\x00")
		if len(out) != af.n {
			return fmt.Errorf("%w: %s: read %d strings, want %d", ErrFormat, where, len(out), af.n)
		}
		return nil
	})
	return out, err
}

// AttrString reads a scalar (or one-element) string attribute.
func (f *File) AttrString(path, name string) (string, error) {
	ss, err := f.AttrStrings(path, name)
	if err != nil {
		return "", err
	}
	if len(ss) != 1 {
		return "", fmt.Errorf("%w: %s: attribute %q of %q holds %d strings, want 1", ErrFormat, f.name, name, path, len(ss))
	}
	return ss[0], nil
}

// AttrFloats reads a numeric (integer or float) attribute as float64s.
func (f *File) AttrFloats(path, name string) ([]float64, error) {
	var out []float64
	err := f.withAttr(path, name, func(a C.hid_t, af attrFacts, where string) error {
		if af.class != C.class_float_a() && af.class != C.class_integer() {
			return fmt.Errorf("%w: %s: not a numeric attribute (type class %d)", ErrFormat, where, int(af.class))
		}
		out = make([]float64, af.n)
		if af.n == 0 {
			return nil
		}
		if C.xfer_attr_doubles(a, (*C.double)(unsafe.Pointer(&out[0]))) < 0 {
			return fmt.Errorf("%w: %s: cannot read numbers", ErrFormat, where)
		}
		return nil
	})
	return out, err
}
