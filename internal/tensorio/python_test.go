package tensorio

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
)

// runPython runs script with py and returns its stdout; a failed run's
// error carries what Python wrote to stderr.
func runPython(py, script string, args ...string) (string, error) {
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return string(out), err
}
