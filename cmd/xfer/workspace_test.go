package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/workspace"
)

// TestWorkspaceGrowth is issue 14's session: four surgery steps on a model
// must not store its weights four more times. The params are stored by
// content, so drop-head, add-head and freeze add only the new head's.
func TestWorkspaceGrowth(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, t.TempDir(), "big.xnat", bigMLP(t)) // 8,048,040 bytes of weights
	mustXfer(t, dir, "import", in)
	xd := workspace.Path(dir)
	imported := treeBytes(t, xd)
	for _, args := range [][]string{
		{"drop-head"},
		{"add-head", "--units", "3", "--activation", "softmax", "--seed", "1"},
		{"freeze", "--upto", "1"},
		{"unfreeze"},
	} {
		mustXfer(t, dir, args...)
	}
	// The new head: a 1000 x 3 kernel and 3 biases, 12,012 bytes; the
	// snapshots' headers a few KB each.
	if grew := treeBytes(t, xd) - imported; grew > 64<<10 {
		t.Errorf("four steps grew the workspace by %d bytes (from %d); want the new head's 12,012 and four headers", grew, imported)
	}
	// Undo is exact through all of it.
	for range 4 {
		mustXfer(t, dir, "undo")
	}
	if got := treeBytes(t, xd); got != imported {
		t.Errorf("after undoing the four steps the workspace holds %d bytes; want the import's %d", got, imported)
	}
}

// treeBytes sums the sizes of the files under dir.
func treeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for p := range hashTree(t, dir) {
		n += int64(len(readFile(t, filepath.Join(dir, p))))
	}
	return n
}

// TestWorkspaceFromSubdirectory: commands find the workspace of a parent
// directory, as git finds .git; import there adds a step to it.
func TestWorkspaceFromSubdirectory(t *testing.T) {
	dir := t.TempDir()
	mustXfer(t, dir, "import", writeModel(t, dir, "m.xnat", mlp(t)))
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	checkMessages(t, sub, []messageCase{
		{name: "inspect", args: []string{"inspect"}, code: 0, stdout: []string{`Model: "mlp"`}},
		{name: "freeze", args: []string{"freeze", "--upto", "0"}, code: 0, stdout: []string{"freeze: layers 0..0 (up to dense) frozen"}},
		{name: "log", args: []string{"log"}, code: 0, stdout: []string{"xfer import", "xfer freeze --upto 0"}},
		{name: "undo", args: []string{"undo"}, code: 0},
	})
	if _, err := os.Stat(filepath.Join(sub, workspace.DirName)); err == nil {
		t.Errorf("commands in %s made a workspace there; want the parent's used", sub)
	}
	// A directory beside the workspace has none.
	other := t.TempDir()
	if _, stderr, code := xfer(t, other, "inspect"); code != 2 || !strings.Contains(stderr, "no workspace") {
		t.Errorf("inspect outside any workspace: exit %d, %q; want 2, no workspace", code, stderr)
	}
}
