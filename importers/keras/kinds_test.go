package keras

import (
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/peers"
)

// TestGeneratedKinds reads the fixtures of testdata/gen.py (Keras layouts
// written with h5py, predictions computed independently with torch in
// float64) that cover every layer kind and activation of issue 2, and
// compares predictions within the shared READMEs' tolerance.
func TestGeneratedKinds(t *testing.T) {
	cases := []struct {
		file, config, ref string
		kinds             []string // expected Kind per layer
		keras             string   // expected keras_version
	}{
		{"kinds2d.h5", "", "kinds2d", []string{"InputLayer", "ZeroPadding2D", "Conv2D", "DepthwiseConv2D", "BatchNormalization", "ReLU", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Concatenate", "Dense"}, "2.13.1"},
		{"kinds1d.h5", "", "kinds1d", []string{"Conv1D", "PReLU", "AveragePooling1D", "ZeroPadding1D", "MaxPooling1D", "LeakyReLU", "ELU", "Dropout", "AlphaDropout", "GaussianNoise", "Softmax", "Permute", "Reshape", "Flatten", "Dense", "GaussianDropout", "Activation", "Reshape", "GlobalMaxPooling1D", "GlobalAveragePooling1D"}, "2.3.1"},
		{"kinds1d.weights.h5", "kinds1d.json", "kinds1d", nil, "2.3.1"},
		{"acts2.h5", "", "acts2", nil, "2.13.1"},
		{"acts3.h5", "", "acts3", nil, "3.1.0"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			opts := Options{}
			if c.config != "" {
				opts.ConfigPath = filepath.Join("testdata", c.config)
			}
			m, err := ReadFile(filepath.Join("testdata", c.file), opts)
			if err != nil {
				t.Fatalf("ReadFile(%s) = %v", c.file, err)
			}
			if m.Meta["keras_version"] != c.keras {
				t.Errorf("keras_version = %q; want %q", m.Meta["keras_version"], c.keras)
			}
			if c.kinds != nil {
				if len(m.Layers) != len(c.kinds) {
					t.Fatalf("layers = %v; want kinds %v", layerNames(m), c.kinds)
				}
				for i, k := range c.kinds {
					if m.Layers[i].Kind != k {
						t.Errorf("layer %d (%s) kind = %s; want %s", i, m.Layers[i].Name, m.Layers[i].Kind, k)
					}
				}
			}
			s, err := engine.New(m)
			if err != nil {
				t.Fatalf("engine.New: %v", err)
			}
			got, err := s.Predict(peers.ReadNPY(t, filepath.Join("testdata", c.ref+"_input.npy")))
			if err != nil {
				t.Fatalf("Predict: %v", err)
			}
			compare(t, got, peers.ReadNPY(t, filepath.Join("testdata", c.ref+"_pred.npy")))
		})
	}
}
