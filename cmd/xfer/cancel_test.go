package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/workspace"
)

// TestFinetuneCancelled: Ctrl-C (a cancelled context) stops training with an
// error that says the last good state was kept, and the workspace stays
// consistent.
func TestFinetuneCancelled(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlp(t))
	mustXfer(t, dir, "import", in)
	x := &model.Tensor{DType: model.Float32, Shape: []int{8, 4}, F32: make([]float32, 32)}
	for i := range x.F32 {
		x.F32[i] = float32(math.Cos(float64(i)))
	}
	y := &model.Tensor{DType: model.Float32, Shape: []int{8}, F32: []float32{0, 1, 0, 1, 1, 0, 1, 0}}
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	tensorio.WriteNPY(xp, x)
	tensorio.WriteNPY(yp, y)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, root: dir, now: func() time.Time { return fixedNow }, args: []string{"xfer", "finetune"}}
	err := runFinetune(ctx, &finetuneOptions{e: e, data: "npy:" + xp + "," + yp, cfg: finetune.Config{Epochs: 3, BatchSize: 4, LearningRate: 0.1}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("runFinetune(cancelled) error = %v; want context.Canceled", err)
	}
	if want := "finetune: interrupted in epoch 1 of 3, before any epoch finished; the model is unchanged (nothing was written)"; err.Error() != want {
		t.Errorf("runFinetune(cancelled) error = %q; want %q", err, want)
	}
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Current(); err != nil {
		t.Errorf("workspace unreadable after an interrupted finetune: %v", err)
	}
	// Interrupted before any epoch finished: nothing changed, nothing logged.
	if j := ws.Journal(); len(j) != 1 {
		t.Errorf("journal after a finetune interrupted before epoch 1 = %+v; want only the import", j)
	}
}
