package main

import (
	"bytes"
	"fmt"
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
		{Epoch: 1, Params: []finetune.ParamGradStats{{Param: "d/kernel", Layer: "d", GradNorm: 0.5, UpdateRatio: 1e-3}},
			Activations: []finetune.ActivationStats{{Layer: "r", Op: "Relu", Dead: 0.25}, {Layer: "s", Op: "Sigmoid", Saturated: 0.1}, {Layer: "t", Op: "Tanh", Saturated: 0.9}}},
		{Epoch: 2, Params: []finetune.ParamGradStats{{Param: "d/kernel", Layer: "d", GradNorm: 0.25, UpdateRatio: 0}},
			Activations: []finetune.ActivationStats{{Layer: "r", Op: "Relu", Dead: 0.5}, {Layer: "s", Op: "Sigmoid", Saturated: 0}, {Layer: "t", Op: "Tanh", Saturated: 1}}},
	}}
	g := gradsPlotPath(filepath.Join(dir, "c.png"))
	if err := plotGradStats(g, h); err != nil {
		t.Fatal(err)
	}
	// A model without activation layers still gets its figure.
	g0 := filepath.Join(dir, "plain-grads.svg")
	if err := plotGradStats(g0, &finetune.History{GradStats: []finetune.EpochGradStats{{Epoch: 1, Params: h.GradStats[0].Params}}}); err != nil {
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

// TestGradPanels: the --grad-stats figure draws, per layer and epoch, the
// gradient norm and update ratio (log scales: a 0 ratio is left out) and
// the dead ReLU and saturated sigmoid/tanh fractions (0 kept).
func TestGradPanels(t *testing.T) {
	h := &finetune.History{GradStats: []finetune.EpochGradStats{
		{Epoch: 1, Params: []finetune.ParamGradStats{{Layer: "d", GradNorm: 0.5, UpdateRatio: 1e-3}},
			Activations: []finetune.ActivationStats{{Layer: "r", Op: "Relu", Dead: 0.25}, {Layer: "s", Op: "Sigmoid", Saturated: 0.1}, {Layer: "t", Op: "Tanh", Saturated: 0.9}}},
		{Epoch: 2, Params: []finetune.ParamGradStats{{Layer: "d", GradNorm: 0.25, UpdateRatio: 0}},
			Activations: []finetune.ActivationStats{{Layer: "r", Op: "Relu", Dead: 0.5}, {Layer: "s", Op: "Sigmoid", Saturated: 0}, {Layer: "t", Op: "Tanh", Saturated: 1}}},
	}}
	type pt = [2]float64 // epoch, value
	want := []struct {
		title  string
		series map[string][]pt
	}{
		{"gradient L2 norm", map[string][]pt{"d": {{1, 0.5}, {2, 0.25}}}},
		{"update / weight ratio", map[string][]pt{"d": {{1, 1e-3}}}},
		{"dead ReLU fraction", map[string][]pt{"r": {{1, 0.25}, {2, 0.5}}}},
		{"saturated sigmoid/tanh fraction", map[string][]pt{"s": {{1, 0.1}, {2, 0}}, "t": {{1, 0.9}, {2, 1}}}},
	}
	got := gradPanels(h)
	if len(got) != len(want) {
		t.Fatalf("gradPanels: %d panels; want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.title != w.title {
			t.Errorf("panel %d: %q; want %q", i, g.title, w.title)
		}
		gs := map[string][]pt{}
		for _, name := range g.layers {
			for _, xy := range g.series[name] {
				gs[name] = append(gs[name], pt{xy.X, xy.Y})
			}
		}
		if fmt.Sprint(gs) != fmt.Sprint(w.series) {
			t.Errorf("panel %q: %v; want %v", g.title, gs, w.series)
		}
	}
}
