package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/xferml/xfer/internal/blas32"
	"github.com/xferml/xfer/internal/hdf5"
)

// versionText says which xfer this is and what it runs on: the module
// version and the commit it was built from (when the build recorded it),
// the Go toolchain, and the versions of the C libraries it calls (the BLAS,
// libhdf5), which decide its numbers and which files it reads.
func versionText() string {
	version, commit := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		var rev, when string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			commit = "commit " + rev[:min(12, len(rev))]
			if when != "" {
				commit += " (" + when + ")"
			}
			if modified {
				commit += " with uncommitted changes"
			}
		}
	}
	if commit == "" {
		commit = "commit not recorded (built without version control information)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "xfer %s, %s\n", version, commit)
	fmt.Fprintf(&b, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "BLAS: %s (kernels %s)\n", blas32.Version(), blas32.Core())
	fmt.Fprintf(&b, "libhdf5 %s\n", hdf5.Version())
	return b.String()
}
