package native

import "syscall"

// canDropPages is true where dropPages returns memory at once.
const canDropPages = true

// dropPages returns b's pages (b is page-aligned, whole pages) to the
// operating system: madvise(MADV_DONTNEED) frees them now, and a later read
// of them sees zeros. The Go heap still counts them as its own until the
// garbage collector frees the object; reusing them then is safe (it zeroes
// or overwrites them).
func dropPages(b []byte) {
	if len(b) > 0 {
		syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}
