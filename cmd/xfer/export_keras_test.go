package main

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/formats"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// TestExportChannelsFirstToKeras exports the PyTorch CNN fixture
// (fixtures/torch/gen.py: Conv+BN+ReLU, MaxPool, Conv+ReLU, GAP, Linear;
// channels-first) to .h5 and .keras, with and without --keep-nchw, and
// predicts torch's output from each file: channels-last input by default,
// the same NCHW array with --keep-nchw.
func TestExportChannelsFirstToKeras(t *testing.T) {
	const src = "../../fixtures/torch/cnn.onnx"
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensorio.ReadFile("../../fixtures/torch/cnn_x.npy") // [4, 1, 28, 28]
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile("../../fixtures/torch/cnn_y.npy")
	if err != nil {
		t.Fatal(err)
	}
	// One channel: NCHW [4, 1, 28, 28] holds the same numbers as NHWC
	// [4, 28, 28, 1].
	xl := &model.Tensor{DType: model.Float32, Shape: []int{4, 28, 28, 1}, F32: x.F32}
	dir := t.TempDir()
	tests := []struct {
		file  string
		flags []string
		input *model.Tensor
		note  string
	}{
		{"cnn.h5", nil, xl, `input "input" is channels-last [-1 28 28 1] (the source's [-1 1 28 28] transposed by [0 2 3 1]: feed x.transpose(0, 2, 3, 1))`},
		{"cnn.keras", nil, xl, `input "input" is channels-last [-1 28 28 1]`},
		{"cnn_nchw.h5", []string{"--keep-nchw"}, x, `input "input" is [-1 1 28 28] as in the source (a Permute layer makes it channels-last)`},
		{"cnn_nchw.keras", []string{"--keep-nchw"}, x, `input "input" is [-1 1 28 28] as in the source`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			out := filepath.Join(dir, tc.file)
			stdout := mustXfer(t, dir, append(append([]string{"export"}, tc.flags...), "-m", abs, "-o", out)...)
			if !strings.Contains(stdout, "converted to channels-last Keras layers: "+tc.note) {
				t.Errorf("export stdout = %q; want the input's layout: %q", stdout, tc.note)
			}
			m, err := formats.Read(out, formats.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if ev := m.History[len(m.History)-1]; ev.Op != "channels-last" || !strings.Contains(ev.Args, tc.note) {
				t.Errorf("last history event = %+v; want channels-last with %q", ev, tc.note)
			}
			if !slices.Equal(m.Inputs[0].Shape[1:], tc.input.Shape[1:]) {
				t.Errorf("%s input shape %v; want [-1 %v]", tc.file, m.Inputs[0].Shape, tc.input.Shape[1:])
			}
			xPath := filepath.Join(dir, tc.file+"_x.npy")
			if err := tensorio.WriteNPY(xPath, tc.input); err != nil {
				t.Fatal(err)
			}
			yPath := filepath.Join(dir, tc.file+"_y.npy")
			mustXfer(t, dir, "predict", "-m", out, "--input", xPath, "--output", yPath)
			got, err := tensorio.ReadFile(yPath)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want.F32 {
				// 1e-5: float32 engine vs torch, as the ONNX import of the same file.
				if d := math.Abs(float64(got.F32[i] - want.F32[i])); d > 1e-5 {
					t.Fatalf("predict %s [%d] = %g; torch %g", tc.file, i, got.F32[i], want.F32[i])
				}
			}
		})
	}
	if _, stderr, code := xfer(t, dir, "export", "--keep-nchw", "-m", abs, "-o", filepath.Join(dir, "cnn.onnx")); code != 2 || !strings.Contains(stderr, "--keep-nchw applies to .h5 and .keras files") {
		t.Errorf("export --keep-nchw to .onnx: exit %d, %q; want 2 and the flag's scope", code, stderr)
	}
}
