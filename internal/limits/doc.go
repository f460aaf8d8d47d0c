// Package limits holds the one memory ceiling every xfer decoder checks
// before it allocates for what a file declares: a dataset's shape, a zip
// member's size, a tensor file, a snapshot. Files come from strangers; a
// header that announces 10^12 elements must end in an error naming the
// ceiling, not in the kernel's OOM killer.
//
// The ceiling is a number of bytes. By default it is a quarter of the
// machine's physical memory, and a quarter of the address-space limit
// (ulimit -v) when that is lower, at least 64 MiB. The environment variable
// XFER_MAX_MEMORY sets it: a byte count with an optional unit, "6GiB",
// "512MiB", "2GB", "100000000". Decoders also check that declared sizes fit
// the bytes a file actually stores; the ceiling bounds the files that are
// honest but too large for this machine.
package limits
