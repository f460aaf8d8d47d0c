package finetune

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// TestAgainstPyTorch trains a small SELU network for one epoch of three
// batches (no shuffling) with xfer and with PyTorch (float64,
// testdata/torch_steps.py) from the same weights: SGD, momentum, Nesterov
// (PyTorch's formulas are Keras's with v scaled by -lr) and each clipping
// rule (clip_grad_value_, clip_grad_norm_ per tensor and global). The
// trained weights must agree.
func TestAgainstPyTorch(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import torch, numpy").Run(); err != nil {
		t.Skipf("SKIPPING: /usr/bin/python3 with torch and numpy NOT AVAILABLE: %v", err)
	}
	tests := []struct {
		name string
		cfg  Config
		head string
		py   map[string]any
	}{
		{"sgd", Config{LearningRate: 0.1}, "softmax", map[string]any{"lr": 0.1}},
		{"momentum global clip", Config{LearningRate: 0.1, Momentum: 0.9, GlobalClipNorm: 0.5}, "softmax", map[string]any{"lr": 0.1, "momentum": 0.9, "global_clip_norm": 0.5}},
		{"nesterov clip value", Config{LearningRate: 0.1, Momentum: 0.9, Nesterov: true, ClipValue: 0.05}, "softmax", map[string]any{"lr": 0.1, "momentum": 0.9, "nesterov": true, "clip_value": 0.05}},
		{"momentum clip norm", Config{LearningRate: 0.2, Momentum: 0.5, ClipNorm: 0.3}, "softmax", map[string]any{"lr": 0.2, "momentum": 0.5, "clip_norm": 0.3}},
		{"binary", Config{LearningRate: 0.1, Momentum: 0.9}, "sigmoid", map[string]any{"lr": 0.1, "momentum": 0.9}},
		{"batchnorm", Config{LearningRate: 0.1, Momentum: 0.9}, "softmax", map[string]any{"lr": 0.1, "momentum": 0.9, "bn": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			units := 4
			loss := "sce"
			if tt.head == "sigmoid" {
				units, loss = 1, "bce"
			}
			acts := []string{"selu", "tanh", tt.head}
			withBN := tt.py["bn"] == true
			stages := []stage{denseStage("d0", 16, acts[0]), denseStage("d1", 8, acts[1]), denseStage("d2", units, acts[2])}
			if withBN {
				stages = []stage{denseStage("d0", 16, "linear"), bnStage("bn"), actStage("act", "selu"), denseStage("d1", 8, acts[1]), denseStage("d2", units, acts[2])}
			}
			m := seqModel(t, 21, []int{12}, stages...)
			dense := []*model.Layer{m.Layer("d0"), m.Layer("d1"), m.Layer("d2")}
			set := randomSet(t, 30, max(units, 2), []int{12})
			if tt.head == "sigmoid" {
				for i := range set.Y {
					set.Y[i] = float32(i % 2)
				}
			}
			dir := t.TempDir()
			writeNPY(t, filepath.Join(dir, "x.npy"), set.X.F32, set.X.Shape)
			writeNPY(t, filepath.Join(dir, "y.npy"), set.Y, []int{len(set.Y)})
			for i, l := range dense {
				writeNPY(t, filepath.Join(dir, fmt.Sprintf("w%d.npy", i)), l.Param("kernel").Data, l.Param("kernel").Shape)
				writeNPY(t, filepath.Join(dir, fmt.Sprintf("b%d.npy", i)), l.Param("bias").Data, l.Param("bias").Shape)
			}
			py := map[string]any{"activations": []string{"selu", "tanh", "linear"}, "batch": 10, "loss": loss}
			for k, v := range tt.py {
				py[k] = v
			}
			if withBN {
				for _, role := range []string{"gamma", "beta", "moving_mean", "moving_variance"} {
					p := m.Layer("bn").Param(role)
					file := map[string]string{"gamma": "gamma", "beta": "beta", "moving_mean": "mean", "moving_variance": "var"}[role]
					writeNPY(t, filepath.Join(dir, file+".npy"), p.Data, p.Shape)
				}
			}
			cfgJSON, _ := json.Marshal(py)
			cmd := exec.Command("/usr/bin/python3", "testdata/torch_steps.py", dir, string(cfgJSON))
			cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("torch_steps.py: %v\n%s", err, out)
			}
			cfg := tt.cfg
			cfg.Epochs, cfg.BatchSize, cfg.NoShuffle = 1, 10, true
			out, _, err := Train(context.Background(), m, set, nil, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			check := func(p *model.Param, file string) {
				want := peers.ReadNPY(t, filepath.Join(dir, file)).F32
				for j := range p.Data {
					if d := math.Abs(float64(p.Data[j] - want[j])); d > 2e-5+1e-4*math.Abs(float64(want[j])) {
						t.Fatalf("%s[%d] = %v after training; PyTorch gives %v", p.Name, j, p.Data[j], want[j])
					}
				}
			}
			for i, name := range []string{"d0", "d1", "d2"} {
				check(out.Layer(name).Param("kernel"), fmt.Sprintf("out_w%d.npy", i))
				check(out.Layer(name).Param("bias"), fmt.Sprintf("out_b%d.npy", i))
			}
			if withBN {
				bn := out.Layer("bn")
				check(bn.Param("gamma"), "out_gamma.npy")
				check(bn.Param("beta"), "out_beta.npy")
				check(bn.Param("moving_mean"), "out_mean.npy")
				check(bn.Param("moving_variance"), "out_var.npy")
			}
		})
	}
}

// writeNPY writes float32 data of the given shape as a version 1.0 .npy
// file (NEP 1: magic, header length, a dict padded to 64 bytes, the data).
func writeNPY(t *testing.T, path string, data []float32, shape []int) {
	dims := ""
	for _, d := range shape {
		dims += fmt.Sprintf("%d, ", d)
	}
	if len(shape) > 1 {
		dims = dims[:len(dims)-2]
	}
	head := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims)
	for (10+len(head)+1)%64 != 0 {
		head += " "
	}
	head += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(head)), byte(len(head)>>8))
	b = append(b, head...)
	for _, v := range data {
		u := math.Float32bits(v)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
