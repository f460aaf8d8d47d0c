package hdf5

/*
#cgo pkg-config: hdf5
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>

// xfer_w_create makes a new file held in memory (core driver, no backing
// store) whose objects record no creation/modification times. The library
// version bounds stay at libhdf5's default (earliest), as h5py's default is,
// so the superblock and object headers are the versions Keras-written files
// have.
static hid_t xfer_w_create(void) {
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl < 0) return -1;
	hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
	if (fcpl < 0) { H5Pclose(fapl); return -1; }
	hid_t f = -1;
	// 1 MiB: the core driver's allocation increment (memory only; the file
	// image ends at the end of allocated addresses).
	if (H5Pset_fapl_core(fapl, 1 << 20, 0) >= 0 && H5Pset_obj_track_times(fcpl, 0) >= 0)
		f = H5Fcreate("xfer-write.h5", H5F_ACC_TRUNC, fcpl, fapl);
	H5Pclose(fcpl);
	H5Pclose(fapl);
	return f;
}

// xfer_w_create_file makes a new file at path with libhdf5's default
// (sec2) driver, with the same creation properties as xfer_w_create.
static hid_t xfer_w_create_file(const char *path) {
	hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
	if (fcpl < 0) return -1;
	hid_t f = -1;
	if (H5Pset_obj_track_times(fcpl, 0) >= 0)
		f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
	H5Pclose(fcpl);
	return f;
}

// xfer_w_image_size flushes f and returns the size of its file image.
static long long xfer_w_image_size(hid_t f) {
	if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) return -1;
	return (long long)H5Fget_file_image(f, NULL, 0);
}

// xfer_w_image copies the file image of f into buf (len bytes).
static int xfer_w_image(hid_t f, void *buf, size_t len) {
	return H5Fget_file_image(f, buf, len) == (ssize_t)len ? 0 : -1;
}

static hid_t xfer_w_group(hid_t loc, const char *name) {
	hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
	if (gcpl < 0) return -1;
	hid_t g = -1;
	if (H5Pset_obj_track_times(gcpl, 0) >= 0)
		g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
	H5Pclose(gcpl);
	return g;
}

// xfer_w_dataset writes a contiguous little-endian dataset (rank 0 for a
// scalar) of float32, or of int32 / int64 when intbits is 32 / 64 (libhdf5
// converts the float data), and returns it open.
static hid_t xfer_w_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data, int intbits) {
	hid_t s = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
	if (s < 0) return -1;
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (dcpl < 0) { H5Sclose(s); return -1; }
	hid_t d = -1;
	if (H5Pset_obj_track_times(dcpl, 0) >= 0)
		d = H5Dcreate2(loc, name, intbits == 32 ? H5T_STD_I32LE : intbits == 64 ? H5T_STD_I64LE : H5T_IEEE_F32LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	H5Pclose(dcpl);
	H5Sclose(s);
	if (d < 0) return -1;
	hsize_t n = 1;
	for (int i = 0; i < rank; i++) n *= dims[i];
	if (n > 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
		H5Dclose(d);
		return -1;
	}
	return d;
}

// xfer_w_attr_strings writes a variable-length string attribute: a scalar
// (n must be 1) or a one-dimensional array of n values.
static int xfer_w_attr_strings(hid_t obj, const char *name, const char **vals, size_t n, int scalar, int utf8) {
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t < 0) return -1;
	if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) < 0) {
		H5Tclose(t);
		return -1;
	}
	hsize_t dims[1] = {n};
	hid_t s = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
	if (s < 0) { H5Tclose(t); return -1; }
	int rc = -1;
	hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0) {
		const char *none = "";
		rc = H5Awrite(a, t, n ? (const void *)vals : (const void *)&none) < 0 ? -1 : 0;
		if (H5Aclose(a) < 0) rc = -1;
	}
	H5Sclose(s);
	H5Tclose(t);
	return rc;
}

// xfer_w_attr_floats writes a one-dimensional little-endian float64 array
// attribute of n values (n may be 0).
static int xfer_w_attr_floats(hid_t obj, const char *name, const double *vals, size_t n) {
	hsize_t dims[1] = {n};
	hid_t s = H5Screate_simple(1, dims, NULL);
	if (s < 0) return -1;
	int rc = -1;
	hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0) {
		double none = 0;
		rc = H5Awrite(a, H5T_NATIVE_DOUBLE, n ? vals : &none) < 0 ? -1 : 0;
		if (H5Aclose(a) < 0) rc = -1;
	}
	H5Sclose(s);
	return rc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// Encode builds the HDF5 file described by root in memory and returns its
// bytes. Peak memory is about twice the file size (libhdf5's in-memory file
// and the returned copy). The output is deterministic: the same spec gives the same bytes
// (objects carry no timestamps; groups are created, and attributes written,
// in spec order). Nothing is written to disk; callers write the bytes
// atomically.
func Encode(root *GroupSpec) ([]byte, error) {
	if root == nil {
		return nil, fmt.Errorf("hdf5: write: nil root group")
	}
	if err := root.check("/"); err != nil {
		return nil, err
	}
	lockHDF5()
	defer mu.Unlock()
	f := C.xfer_w_create()
	if f < 0 {
		return nil, fmt.Errorf("hdf5: write: libhdf5 cannot create an in-memory file")
	}
	err := writeGroup(f, root, "/")
	var image []byte
	if err == nil {
		// The image is copied straight into Go memory (it holds no Go
		// pointers, so libhdf5 may write to it during the call).
		n := C.xfer_w_image_size(f)
		if n <= 0 {
			err = fmt.Errorf("hdf5: write: libhdf5 cannot produce the file image")
		} else {
			image = make([]byte, int(n))
			if C.xfer_w_image(f, unsafe.Pointer(&image[0]), C.size_t(n)) < 0 {
				err = fmt.Errorf("hdf5: write: libhdf5 cannot copy the file image")
			}
		}
	}
	if C.H5Fclose(f) < 0 && err == nil {
		err = fmt.Errorf("hdf5: write: closing the in-memory file failed")
	}
	if err != nil {
		return nil, err
	}
	return image, nil
}

// WriteFile writes the HDF5 file described by root to path (created or
// truncated), through libhdf5's default file driver: the bytes are those
// Encode returns, and no image of the file is held in memory (the datasets
// go from their Go slices to the file). Callers make the write atomic
// (write to a temporary path, then rename).
func WriteFile(path string, root *GroupSpec) error {
	if root == nil {
		return fmt.Errorf("hdf5: write %s: nil root group", path)
	}
	if err := root.check("/"); err != nil {
		return err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	// libhdf5's error stack, silenced by lockHDF5, is per thread: without
	// the lock a failed write (a full disk) could print it to stderr from
	// another thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lockHDF5()
	defer mu.Unlock()
	f := C.xfer_w_create_file(cpath)
	if f < 0 {
		return fmt.Errorf("hdf5: write %s: libhdf5 cannot create the file (check the directory exists and is writable)", path)
	}
	err := writeGroup(f, root, "/")
	// Closing flushes the metadata libhdf5 has cached: a full disk often
	// shows here first.
	if rc, cerr := C.H5Fclose(f); rc < 0 && err == nil {
		if oerr := writeErrno(cerr); oerr != nil {
			err = fmt.Errorf("hdf5: write %s: closing the file failed: %w", path, oerr)
		} else {
			err = fmt.Errorf("hdf5: write %s: closing the file failed (disk full?)", path)
		}
	}
	return err
}

// writeErrno returns the errno of a failed libhdf5 call (cgo's second
// result) when it is one a file write fails with for want of room or by an
// I/O error, else nil: libhdf5 reports only that the call failed, and errno
// is still what its write(2) returned. Other errno values may be left over
// from calls libhdf5 expected to fail, so they are not reported.
func writeErrno(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return nil
	}
	switch errno {
	case syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG, syscall.EIO:
		return errno
	}
	return nil
}

// writeGroup writes g's attributes and members into the open object id.
// The caller holds mu.
func writeGroup(id C.hid_t, g *GroupSpec, where string) error {
	if err := writeAttrs(id, g.Attrs, where); err != nil {
		return err
	}
	for _, c := range g.Groups {
		at := join(where, c.Name)
		cs := C.CString(c.Name)
		cid := C.xfer_w_group(id, cs)
		C.free(unsafe.Pointer(cs))
		if cid < 0 {
			return fmt.Errorf("hdf5: write %s: libhdf5 cannot create the group", at)
		}
		err := writeGroup(cid, c, at)
		if C.H5Gclose(cid) < 0 && err == nil {
			err = fmt.Errorf("hdf5: write %s: closing the group failed", at)
		}
		if err != nil {
			return err
		}
	}
	for _, d := range g.Datasets {
		if err := writeDataset(id, d, join(where, d.Name)); err != nil {
			return err
		}
	}
	return nil
}

func writeDataset(loc C.hid_t, d *DatasetSpec, at string) error {
	dims := make([]C.hsize_t, len(d.Shape)+1) // +1: never empty, so &dims[0] is valid
	for i, s := range d.Shape {
		dims[i] = C.hsize_t(s)
	}
	var data *C.float
	if len(d.Data) > 0 {
		data = (*C.float)(unsafe.Pointer(&d.Data[0]))
	}
	cs := C.CString(d.Name)
	id, cerr := C.xfer_w_dataset(loc, cs, C.int(len(d.Shape)), &dims[0], data, C.int(d.IntBits))
	C.free(unsafe.Pointer(cs))
	if id < 0 {
		if oerr := writeErrno(cerr); oerr != nil {
			return fmt.Errorf("hdf5: write %s: libhdf5 cannot write the dataset: %w", at, oerr)
		}
		return fmt.Errorf("hdf5: write %s: libhdf5 cannot create or write the dataset", at)
	}
	err := writeAttrs(id, d.Attrs, at)
	if C.H5Dclose(id) < 0 && err == nil {
		err = fmt.Errorf("hdf5: write %s: closing the dataset failed", at)
	}
	return err
}

func writeAttrs(id C.hid_t, attrs []AttrSpec, where string) error {
	for _, a := range attrs {
		cname := C.CString(a.Name)
		var rc C.int
		if a.Strings != nil {
			rc = writeStrings(id, cname, a)
		} else {
			var vals *C.double
			if len(a.Floats) > 0 {
				vals = (*C.double)(unsafe.Pointer(&a.Floats[0]))
			}
			rc = C.xfer_w_attr_floats(id, cname, vals, C.size_t(len(a.Floats)))
		}
		C.free(unsafe.Pointer(cname))
		if rc < 0 {
			return fmt.Errorf("hdf5: write %s: libhdf5 cannot write attribute %q", where, a.Name)
		}
	}
	return nil
}

// writeStrings copies the values to C memory (libhdf5 reads an array of
// char pointers, which Go memory must not hold) and writes them.
func writeStrings(id C.hid_t, cname *C.char, a AttrSpec) C.int {
	n := len(a.Strings)
	ptrSize := C.size_t(unsafe.Sizeof((*C.char)(nil)))
	arr := (**C.char)(C.calloc(C.size_t(n+1), ptrSize))
	if arr == nil {
		return -1
	}
	vals := unsafe.Slice(arr, n+1)
	defer func() {
		for _, p := range vals {
			if p != nil {
				C.free(unsafe.Pointer(p))
			}
		}
		C.free(unsafe.Pointer(arr))
	}()
	for i, s := range a.Strings {
		vals[i] = C.CString(s)
	}
	scalar, utf8 := C.int(0), C.int(0)
	if a.Scalar {
		scalar = 1
	}
	if a.UTF8 {
		utf8 = 1
	}
	return C.xfer_w_attr_strings(id, cname, arr, C.size_t(n), scalar, utf8)
}
