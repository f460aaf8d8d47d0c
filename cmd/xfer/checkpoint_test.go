package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xferml/xfer/formats"
)

// TestCheckpoint: --checkpoint writes the model of every finished epoch; a
// finished run's last checkpoint has the output's weights, and a run killed
// with SIGKILL after a checkpoint leaves that epoch's model, loadable, with
// a history event that says which epoch it is.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	xp, yp := trainingNPY(t, dir, 4, 2, 64)
	data := "npy:" + xp + "," + yp
	for _, ext := range []string{".xnat", ".h5", ".onnx"} {
		t.Run(ext, func(t *testing.T) {
			ck, out := filepath.Join(dir, "ck"+ext), filepath.Join(dir, "out"+ext)
			_, stderr, code := xfer(t, dir, "finetune", "-m", in, "-o", out, "--data", data, "--epochs", "3", "--seed", "1", "--checkpoint", ck)
			if code != 0 || strings.Count(stderr, "checkpoint: wrote "+ck) != 3 {
				t.Fatalf("finetune --checkpoint: exit %d, stderr %q; want 0 and three checkpoint lines", code, stderr)
			}
			got, err := formats.Read(ck, formats.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := formats.Read(out, formats.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range want.Layers {
				if !reflect.DeepEqual(got.Layers[i].Params, l.Params) {
					t.Errorf("layer %s: the last checkpoint's params differ from the output's", l.Name)
				}
			}
			h := got.History
			if len(h) != 1 || h[0].Op != "finetune" || !strings.Contains(h[0].Args, "(checkpoint after epoch 3 of 3)") {
				t.Errorf("checkpoint history = %+v; want one finetune event naming epoch 3 of 3", h)
			}
		})
	}

	// Killed after the first checkpoint of a long run: the checkpoint holds
	// a finished epoch.
	ck := filepath.Join(dir, "killed.xnat")
	if killAfter(t, dir, "checkpoint: wrote", 0, "finetune", "-m", in, "-o", filepath.Join(dir, "never.xnat"), "--data", data, "--epochs", "100000", "--checkpoint", ck) {
		t.Fatal("a 100000-epoch finetune finished before it was killed")
	}
	m, err := formats.Read(ck, formats.Options{})
	if err != nil {
		t.Fatalf("checkpoint after a kill: %v", err)
	}
	if h := m.History; len(h) != 1 || !strings.Contains(h[0].Args, "checkpoint after epoch ") {
		t.Errorf("killed run's checkpoint history = %+v", h)
	}

	// Usage errors.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--checkpoint", filepath.Join(dir, "ck.txt")}, "--checkpoint"},
		{[]string{"--checkpoint", filepath.Join(dir, "o.xnat")}, "same file"},
		{[]string{"--checkpoint", in}, "inputs are never modified"},
	} {
		args := append([]string{"finetune", "-m", in, "-o", filepath.Join(dir, "o.xnat"), "--data", data}, c.args...)
		_, stderr, code := xfer(t, dir, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("xfer %s: exit %d, stderr %q; want 2 and %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}
