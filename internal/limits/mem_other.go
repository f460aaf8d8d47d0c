//go:build !linux

package limits

// physical is unknown off Linux: the ceiling defaults to 2 GiB (a quarter
// of an assumed 8 GiB).
func physical() int64 { return 8 << 30 }

func addressSpace() int64 { return 0 }
