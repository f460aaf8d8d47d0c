package layers

import (
	"fmt"

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

// readCustomScale reads InceptionResNetV2's CustomScaleLayer
// (keras.src.applications.inception_resnet_v2): two inputs and a scale.
func readCustomScale(c *kctx) (*model.Layer, []int, error) {
	if err := c.appClass(); err != nil {
		return nil, nil, err
	}
	if len(c.InShapes) != 2 || c.InShapes[0] == nil {
		return nil, nil, fmt.Errorf("%w: layer %q (CustomScaleLayer): takes two inputs, got %d", ErrKerasFormat, c.Name, len(c.InShapes))
	}
	sc, err := c.float("scale", 1)
	if err != nil {
		return nil, nil, err
	}
	l, err := CustomScale(CustomScaleSpec{Common: c.common(), Scale: float32(sc)})
	return l, sameShape(c), err
}
