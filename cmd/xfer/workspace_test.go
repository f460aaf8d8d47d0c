package main

import (
	"path/filepath"
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
