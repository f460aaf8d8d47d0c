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

// appClass refuses a class of this name from another module than
// keras.applications' own (a user's custom layer of the same name).
func (c *kctx) appClass() error {
	if c.Module != "" && c.Module != KerasModule(c.Class) {
		return fmt.Errorf("keras: %w: layer %q: custom layer class %q (module %s), not keras.applications' own", model.ErrUnsupported, c.Name, c.Class, c.Module)
	}
	return nil
}

// readLayerScale reads ConvNeXt's LayerScale (keras.src.applications.convnext):
// init_values, projection_dim, one weight [projection_dim].
func readLayerScale(c *kctx) (*model.Layer, []int, error) {
	if err := c.appClass(); err != nil {
		return nil, nil, err
	}
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	s := LayerScaleSpec{Common: c.common()}
	if s.ProjectionDim, err = c.int("projection_dim", 0); err != nil {
		return nil, nil, err
	}
	if s.ProjectionDim <= 0 || in[len(in)-1] >= 0 && in[len(in)-1] != s.ProjectionDim {
		return nil, nil, c.errf("projection_dim", "%d does not match the input's %v last dim", s.ProjectionDim, in)
	}
	iv, err := c.float("init_values", 0)
	if err != nil {
		return nil, nil, err
	}
	s.InitValues = float32(iv)
	if s.Gamma, _, err = c.take("variable", []int{s.ProjectionDim}); err != nil {
		return nil, nil, err
	}
	l, err := LayerScale(s)
	return l, sameShape(c), err
}
