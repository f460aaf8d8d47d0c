package keras_test

import "syscall"

// peakRSS returns the process's maximum resident set size in bytes
// (getrusage ru_maxrss, in KiB on Linux).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}
