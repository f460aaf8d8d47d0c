package tensorio

import "os/exec"

func runPython(py, script string, args ...string) (string, error) {
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).Output()
	return string(out), err
}
