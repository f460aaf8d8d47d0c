package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/demo"
	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/model"
)

// TestFinetuneMismatchLeavesWorkspace: in a workspace, labels that do not
// fit the head exit 2 before any step and the workspace stays as it was
// (issue 13: a 1-unit sigmoid head on 8 classes used to train to a
// negative loss and be saved).
func TestFinetuneMismatchLeavesWorkspace(t *testing.T) {
	dir := t.TempDir()
	src := writeModel(t, dir, "m.h5", mlp(t))
	if _, stderr, code := xfer(t, dir, "import", src); code != 0 {
		t.Fatalf("import: %d %s", code, stderr)
	}
	for _, args := range [][]string{{"drop-head"}, {"add-head", "--units", "1", "--activation", "sigmoid"}} {
		if _, stderr, code := xfer(t, dir, args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
	}
	x := writeNPY(t, dir, "x.npy", &model.Tensor{DType: model.Float32, Shape: []int{5, 4}, F32: make([]float32, 20)})
	y := writeNPY(t, dir, "y8.npy", &model.Tensor{DType: model.Float32, Shape: []int{5}, F32: []float32{0, 7, 3, 1, 5}})
	before := hashTree(t, filepath.Join(dir, ".xfer"))
	for _, extra := range [][]string{nil, {"--clip-value", "1"}} {
		args := append([]string{"finetune", "--data", "npy:" + x + "," + y, "--epochs", "2"}, extra...)
		_, stderr, code := xfer(t, dir, args...)
		if code != 2 || !strings.Contains(stderr, "needs labels in [0, 1]") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("xfer %v: exit %d, %q; want 2 and one line about the labels", args, code, stderr)
		}
	}
	if after := hashTree(t, filepath.Join(dir, ".xfer")); !maps.Equal(before, after) {
		t.Error("the refused finetune changed the workspace")
	}
}

// TestPlotAblationAndGrads: the ablation figure and the --grad-stats
// figure are written as PNG files.
func TestPlotAblationAndGrads(t *testing.T) {
	dir := t.TempDir()
	var rows []demo.AblationRow
	for _, init := range demo.AblationInits {
		for i, act := range demo.AblationActivations {
			for _, bn := range []bool{false, true} {
				rows = append(rows, demo.AblationRow{Init: init, Activation: act, BatchNorm: bn, Accuracy: demo.Stat{Mean: 0.5 + 0.05*float64(i)}})
			}
		}
	}
	p := filepath.Join(dir, "ablation.png")
	if err := plotAblation(p, rows); err != nil {
		t.Fatal(err)
	}
	h := &finetune.History{GradStats: []finetune.EpochGradStats{
		{Epoch: 1, Params: []finetune.ParamGradStats{{Param: "d/kernel", Layer: "d", GradNorm: 0.5, UpdateRatio: 1e-3}}},
		{Epoch: 2, Params: []finetune.ParamGradStats{{Param: "d/kernel", Layer: "d", GradNorm: 0.25, UpdateRatio: 5e-4}}},
	}}
	g := gradsPlotPath(filepath.Join(dir, "c.png"))
	if err := plotGradStats(g, h); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p, g} {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: %v, not a PNG", f, err)
		}
	}
	if filepath.Base(g) != "c-grads.png" {
		t.Errorf("grads figure %s; want c-grads.png", g)
	}
}
