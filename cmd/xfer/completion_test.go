package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletion runs each shell's script in the shell itself: bash and
// fish complete a command and a flag as a user's Tab would; zsh, whose
// completion needs a terminal, checks and loads the script. A shell that
// is not installed skips loudly.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	// What each shell must offer for "xfer fre" and "xfer freeze --up".
	const wantCmd, wantFlag = "freeze", "--upto"
	cases := []struct {
		shell string
		run   func(script string) (string, error)
		check bool // the output must hold wantCmd and wantFlag
	}{
		{"bash", func(script string) (string, error) {
			out, err := exec.Command("bash", "-c", `source "$1"
COMP_WORDS=(xfer fre); COMP_CWORD=1; _xfer; echo "${COMPREPLY[@]}"
COMP_WORDS=(xfer freeze --up); COMP_CWORD=2; _xfer; echo "${COMPREPLY[@]}"`, "bash", script).CombinedOutput()
			return string(out), err
		}, true},
		{"fish", func(script string) (string, error) {
			out, err := exec.Command("fish", "-c", `source $argv[1]; complete -C "xfer fre"; complete -C "xfer freeze --up"`, script).CombinedOutput()
			return string(out), err
		}, true},
		{"zsh", func(script string) (string, error) {
			if out, err := exec.Command("zsh", "-n", script).CombinedOutput(); err != nil {
				return string(out), err
			}
			out, err := exec.Command("zsh", "-c", `autoload -Uz compinit && compinit -u -D; source "$1" && print -r -- ${_comps[xfer]}`, "zsh", script).CombinedOutput()
			if err == nil && strings.TrimSpace(string(out)) != "_xfer" {
				t.Errorf("zsh: after sourcing the script, xfer completes with %q; want _xfer", out)
			}
			return string(out), err
		}, false},
	}
	for _, c := range cases {
		t.Run(c.shell, func(t *testing.T) {
			if _, err := exec.LookPath(c.shell); err != nil {
				t.Skipf("SKIP LOUDLY: %s not installed; its completion script is not run", c.shell)
			}
			script := filepath.Join(dir, "xfer."+c.shell)
			if err := os.WriteFile(script, []byte(mustXfer(t, dir, "completion", c.shell)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := c.run(script)
			if err != nil {
				t.Fatalf("%s with xfer's script: %v\n%s", c.shell, err, out)
			}
			if c.check && (!strings.Contains(out, wantCmd) || !strings.Contains(out, wantFlag)) {
				t.Errorf("%s completes xfer fre / xfer freeze --up with\n%s\nwant %s and %s", c.shell, out, wantCmd, wantFlag)
			}
		})
	}
	// Every command and every flag is in every script.
	for _, shell := range []string{"bash", "zsh", "fish"} {
		script := mustXfer(t, dir, "completion", shell)
		for _, c := range visibleCommands(newApp(&env{})) {
			if !strings.Contains(script, c.Name) {
				t.Errorf("the %s script lacks command %s", shell, c.Name)
			}
			for _, f := range c.Flags {
				if !strings.Contains(script, f.Names()[0]) {
					t.Errorf("the %s script lacks %s's flag --%s", shell, c.Name, f.Names()[0])
				}
			}
		}
	}
	checkMessages(t, dir, []messageCase{
		{name: "no shell", args: []string{"completion"}, code: 2, stderr: []string{"completion: name the shell: bash, zsh or fish"}},
		{name: "a typo", args: []string{"completion", "bsh"}, code: 2, stderr: []string{`completion: unknown shell "bsh" (did you mean bash?)`}},
		{name: "two shells", args: []string{"completion", "bash", "zsh"}, code: 2, stderr: []string{"completion: name one shell (bash, zsh or fish), not 2"}},
	})
}
