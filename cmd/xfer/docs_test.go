package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestCLIDocs: docs/CLI.md is what the commands' own help says; a flag or
// command changed without regenerating it fails here.
func TestCLIDocs(t *testing.T) {
	const path = "../../docs/CLI.md"
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := mustXfer(t, t.TempDir(), docsCommand)
	if !bytes.Equal(got, []byte(want)) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("docs/CLI.md line %d is\n\t%s\nthe help says\n\t%s\nrun `go generate ./cmd/xfer` (go run ./cmd/xfer %s > docs/CLI.md)", i+1, gl[i], wl[i], docsCommand)
			}
		}
		t.Fatalf("docs/CLI.md has %d lines, the help %d: run `go generate ./cmd/xfer`", len(gl), len(wl))
	}
	// Every command and every flag is in it.
	for _, c := range visibleCommands(newApp(&env{})) {
		if !strings.Contains(want, "## xfer "+c.Name+"\n") {
			t.Errorf("docs/CLI.md has no section for %s", c.Name)
		}
		for _, f := range c.Flags {
			if !strings.Contains(want, "`--"+f.Names()[0]) {
				t.Errorf("docs/CLI.md lacks %s --%s", c.Name, f.Names()[0])
			}
		}
	}
}
