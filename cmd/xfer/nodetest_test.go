package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
)

// TestPredictONNXNodeTests runs a few of ONNX's own node tests from the
// command line (issue 3 item 6): TensorProto .pb inputs, found by their
// graph input names, and .pb outputs compared with ONNX's expected outputs
// by the conformance rule |got - want| <= 1e-7 + 1e-3*|want|.
func TestPredictONNXNodeTests(t *testing.T) {
	const root = "/usr/share/libonnx-testdata/data/node"
	if _, err := os.Stat(root); err != nil {
		t.Skipf("SKIP LOUDLY: %s missing (apt-get install libonnx-testdata): %v", root, err)
	}
	work := t.TempDir()
	for _, name := range []string{
		"test_relu",
		"test_add", // two inputs
		"test_gemm_default_single_elem_vector_bias", // inputs not batch-first
		"test_softmax_axis_1",
		"test_conv_with_strides_padding",
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			inputs, _ := filepath.Glob(filepath.Join(dir, "test_data_set_0", "input_*.pb"))
			if len(inputs) == 0 {
				t.Skipf("SKIP LOUDLY: %s has no inputs", dir)
			}
			args := []string{"predict", "-m", filepath.Join(dir, "model.onnx")}
			for _, in := range inputs {
				args = append(args, "--input", in)
			}
			out := filepath.Join(work, name+".pb")
			mustXfer(t, work, append(args, "--output", out)...)
			got, err := tensorio.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensorio.ReadFile(filepath.Join(dir, "test_data_set_0", "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Shape, want.Shape) || len(got.F32) != len(want.F32) {
				t.Fatalf("predict shape %v; ONNX %v", got.Shape, want.Shape)
			}
			for i := range want.F32 {
				if d := math.Abs(float64(got.F32[i] - want.F32[i])); d > 1e-7+1e-3*math.Abs(float64(want.F32[i])) {
					t.Errorf("[%d] = %v; ONNX %v", i, got.F32[i], want.F32[i])
					break
				}
			}
		})
	}
}
