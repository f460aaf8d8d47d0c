package layers

import (
	"github.com/xferml/xfer/model"
)

// CustomScaleSpec is keras.applications InceptionResNetV2's
// CustomScaleLayer (keras/src/applications/inception_resnet_v2.py):
// inputs[0] + inputs[1] * scale.
type CustomScaleSpec struct {
	Common
	Scale float32
}

// CustomScale returns the layer: Mul of the second input by the scale, Add
// of the first.
func CustomScale(s CustomScaleSpec) (*model.Layer, error) {
	b, err := s.builder("CustomScaleLayer", 2)
	if err != nil {
		return nil, err
	}
	scaled := b.node("Mul", []string{s.Inputs[1], b.constScalar("scale", s.Scale)}, nil)
	return s.done(b, b.node("Add", []string{s.Inputs[0], scaled}, nil)), nil
}

// appModules are the Python modules of the layer classes keras.applications
// defines for itself (not in keras.layers), which Keras 3 configs name.
var appModules = map[string]string{
	"LayerScale":       "keras.src.applications.convnext",
	"CustomScaleLayer": "keras.src.applications.inception_resnet_v2",
}

// KerasModule returns the Keras 3 module of a layer kind: "keras.layers"
// except for the classes keras.applications defines itself.
func KerasModule(kind string) string {
	if m, ok := appModules[kind]; ok {
		return m
	}
	return "keras.layers"
}
