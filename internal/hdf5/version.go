package hdf5

/*
#cgo pkg-config: hdf5
#include <hdf5.h>
*/
import "C"

import "fmt"

// Version returns the version of the libhdf5 xfer runs with ("1.10.8"), as
// the library reports it (H5get_libversion).
func Version() string {
	var maj, mnr, rel C.uint
	mu.Lock()
	defer mu.Unlock()
	if C.H5get_libversion(&maj, &mnr, &rel) < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d.%d", maj, mnr, rel)
}
