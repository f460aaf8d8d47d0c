package formats

import (
	"os"
	"syscall"
)

// fSetPipeSz is fcntl's F_SETPIPE_SZ (linux/fcntl.h: F_LINUX_SPECIFIC_BASE
// 1024 + 7).
const fSetPipeSz = 1024 + 7

// childPipeSize is the capacity asked for the reader child's stdout pipe:
// 1 MiB, Linux's default /proc/sys/fs/pipe-max-size (the default 64 KiB
// makes a 100 MB model cost some 1,600 switches between the processes).
const childPipeSize = 1 << 20

// growPipe asks for a larger pipe buffer; failing that (an unprivileged
// process above pipe-max-size, an old kernel), the pipe stays as it is.
func growPipe(f *os.File) {
	c, err := f.SyscallConn()
	if err != nil {
		return
	}
	c.Control(func(fd uintptr) {
		syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, childPipeSize)
	})
}
