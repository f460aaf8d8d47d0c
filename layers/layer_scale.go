package layers

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// LayerScaleSpec is keras.applications ConvNeXt's LayerScale layer
// (keras/src/applications/convnext.py): x * gamma over the last axis, gamma
// [ProjectionDim] stored as the weight "variable".
type LayerScaleSpec struct {
	Common
	ProjectionDim int
	InitValues    float32
	Gamma         []float32 // nil gives InitValues everywhere
}

// LayerScale returns the layer: one Mul by the param.
func LayerScale(s LayerScaleSpec) (*model.Layer, error) {
	b, err := s.builder("LayerScale", 1)
	if err != nil {
		return nil, err
	}
	if s.ProjectionDim <= 0 {
		return nil, fmt.Errorf("layers: layer %q: LayerScale needs a positive projection_dim, got %d", s.Name, s.ProjectionDim)
	}
	g := s.Gamma
	if g == nil {
		g = make([]float32, s.ProjectionDim)
		for i := range g {
			g[i] = s.InitValues
		}
	}
	init := &model.Initializer{Name: "constant", Config: []byte(fmt.Sprintf(`{"value": %v}`, s.InitValues))}
	gamma, err := b.param("variable", []int{s.ProjectionDim}, g, init, false)
	if err != nil {
		return nil, err
	}
	return s.done(b, b.node("Mul", []string{s.Inputs[0], gamma}, nil)), nil
}
