package onnx

import (
	"os"
	"path/filepath"
	"testing"
)

// nodeTestDir holds ONNX's node tests (Debian package libonnx-testdata).
const nodeTestDir = "/usr/share/libonnx-testdata/data/node"

// FuzzRead checks that no input makes Read panic; whatever it accepts must
// be a valid model.
func FuzzRead(f *testing.F) {
	if data, err := os.ReadFile(torchModelA); err == nil {
		f.Add(data)
	}
	// xfer's own exports carry the xfer.* metadata (layers, params, history).
	goldens, _ := filepath.Glob("../../exporters/onnx/testdata/golden_opset*.onnx")
	for _, p := range goldens {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add(marshal(f, tinyModel()))
	mp := tinyModel()
	mp.Graph.Initializer[0].RawData = make([]byte, 48)
	mp.Graph.Initializer[0].FloatData = nil
	f.Add(marshal(f, mp))
	for _, name := range []string{"test_gemm_default_matrix_bias", "test_conv_with_strides_padding", "test_batchnorm_example", "test_softmax_axis_0", "test_reshape_reduced_dims", "test_constant"} {
		if data, err := os.ReadFile(filepath.Join(nodeTestDir, name, "model.onnx")); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x07})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(data, "fuzz.onnx")
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Read accepted a model that does not validate: %v", err)
		}
	})
}

// FuzzReadTensor checks the TensorProto decoder on its own.
func FuzzReadTensor(f *testing.F) {
	for _, name := range []string{"test_gemm_default_matrix_bias", "test_reshape_reduced_dims", "test_cast_FLOAT16_to_FLOAT"} {
		files, _ := filepath.Glob(filepath.Join(nodeTestDir, name, "test_data_set_0", "*.pb"))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		tt, err := ReadTensor(data)
		if err != nil {
			return
		}
		if n := len(tt.F32) + len(tt.I64); n != max(0, numel(tt.Shape)) {
			t.Fatalf("ReadTensor: shape %v with %d values", tt.Shape, n)
		}
	})
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
