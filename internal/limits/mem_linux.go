package limits

import "syscall"

// physical returns the machine's physical memory in bytes (sysinfo(2)), 0
// when unknown.
func physical() int64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// addressSpace returns the soft RLIMIT_AS (ulimit -v) in bytes, 0 when
// unlimited (RLIM_INFINITY is all ones) or unknown.
func addressSpace() int64 {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_AS, &r) != nil || r.Cur > 1<<62 {
		return 0
	}
	return int64(r.Cur)
}
