//go:build unix

package atomicfile

import "syscall"

// fileSizeLimit returns the process's file size limit in bytes
// (RLIMIT_FSIZE, ulimit -f), or 0 when there is none.
func fileSizeLimit() uint64 {
	var l syscall.Rlimit
	// RLIM_INFINITY is all ones on Linux, 1<<63 - 1 on Darwin.
	if syscall.Getrlimit(syscall.RLIMIT_FSIZE, &l) != nil || uint64(l.Cur) >= 1<<62 {
		return 0
	}
	return uint64(l.Cur)
}
