package formats

import (
	kerasexp "github.com/xferml/xfer/exporters/keras"
	onnxexp "github.com/xferml/xfer/exporters/onnx"
	kerasimp "github.com/xferml/xfer/importers/keras"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/model"
)

// The importers and exporters Read and Write dispatch to.
var (
	readKeras = func(path, configPath string) (*model.Model, error) {
		return kerasimp.ReadFile(path, kerasimp.Options{ConfigPath: configPath})
	}
	readONNX   = onnximp.ReadFile
	writeH5    = kerasexp.WriteH5
	writeKeras = kerasexp.WriteKeras
	writeONNX  = func(path string, m *model.Model, opset int) error {
		return onnxexp.WriteFile(path, m, onnxexp.Options{Opset: opset})
	}
)
