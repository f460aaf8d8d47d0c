// Command treerss runs a command and prints its wall time, the peak RSS of
// its largest process (from the kernel's rusage, like GNU time's %M) and the
// peak of the summed RSS of the whole process tree (the command and its
// children, sampled every millisecond from /proc): xfer reads Keras files in
// a child process, so the memory a user needs is the tree's, not one
// process's. Used by bench/import_export_100mb.sh.
//
// Usage: treerss COMMAND [ARGS...]
// Output (one line): seconds largest_process_kB tree_kB
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: treerss COMMAND [ARGS...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "treerss:", err)
		os.Exit(1)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	peak := 0
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			wall := time.Since(start).Seconds()
			ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			maxrss := 0
			if ru != nil {
				maxrss = int(ru.Maxrss) // kB on Linux
			}
			fmt.Printf("%.3f %d %d\n", wall, maxrss, max(peak, maxrss))
			if err != nil {
				fmt.Fprintln(os.Stderr, "treerss:", err)
				os.Exit(1)
			}
			return
		case <-tick.C:
			peak = max(peak, treeRSS(cmd.Process.Pid))
		}
	}
}

// treeRSS returns the summed VmRSS (kB) of pid and its descendants.
func treeRSS(pid int) int {
	total := rss(pid)
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				total += treeRSS(c)
			}
		}
	}
	return total
}

func rss(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(v))
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}
