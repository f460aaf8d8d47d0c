package keras

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// layerNorm reads LayerNormalization: axis an int or a list; weights gamma
// then beta, each of the normalized axes' shape, as center and scale say.
func layerNorm(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	r := len(in)
	s := layers.LayerNormSpec{Common: c.common(), Rank: r}
	var axes []int
	raw := c.e.cfg["axis"]
	var one int
	switch {
	case !c.has("axis"):
		axes = []int{-1}
	case json.Unmarshal(raw, &one) == nil:
		axes = []int{one}
	case json.Unmarshal(raw, &axes) == nil && len(axes) > 0:
	default:
		return nil, nil, c.errf("axis", "want an integer or a list of integers, got %s", clip(raw))
	}
	for _, a := range axes {
		if a < -r || a >= r {
			return nil, nil, c.errf("axis", "%d out of range for an input of rank %d", a, r)
		}
		if a < 0 {
			a += r
		}
		if a == 0 || in[a] <= 0 {
			return nil, nil, c.errf("axis", "axis %d of input %v is the batch or unknown", a, in)
		}
		if !slices.Contains(s.Axis, a) {
			s.Axis = append(s.Axis, a)
		}
	}
	slices.Sort(s.Axis)
	for _, a := range s.Axis {
		s.Shape = append(s.Shape, in[a])
	}
	eps, err := c.float("epsilon", 1e-3)
	if err != nil {
		return nil, nil, err
	}
	s.Epsilon = float32(eps)
	if s.Center, err = c.bool("center", true); err != nil {
		return nil, nil, err
	}
	if s.Scale, err = c.bool("scale", true); err != nil {
		return nil, nil, err
	}
	if rms, err := c.bool("rms_scaling", false); err != nil || rms {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (LayerNormalization): rms_scaling=True (deprecated in Keras 3: it scales by the variance) is not supported", model.ErrUnsupported, c.e.name)
	}
	if s.GammaInit, err = c.init("gamma_initializer"); err != nil {
		return nil, nil, err
	}
	if s.BetaInit, err = c.init("beta_initializer"); err != nil {
		return nil, nil, err
	}
	if s.Scale {
		if s.Gamma, _, err = c.take("gamma", s.Shape); err != nil {
			return nil, nil, err
		}
	}
	if s.Center {
		if s.Beta, _, err = c.take("beta", s.Shape); err != nil {
			return nil, nil, err
		}
	}
	l, err := layers.LayerNormalization(s)
	return l, sameShape(c), err
}

// appClass refuses a class of this name from another module than
// keras.applications' own (a user's custom layer of the same name).
func (c *lctx) appClass() error {
	if c.e.module != "" && c.e.module != layers.KerasModule(c.e.class) {
		return fmt.Errorf("keras: %w: layer %q: custom layer class %q (module %s), not keras.applications' own", model.ErrUnsupported, c.e.name, c.e.class, c.e.module)
	}
	return nil
}

// layerScale reads ConvNeXt's LayerScale (keras.src.applications.convnext):
// init_values, projection_dim, one weight [projection_dim].
func layerScale(c *lctx) (*model.Layer, []int, error) {
	if err := c.appClass(); err != nil {
		return nil, nil, err
	}
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	s := layers.LayerScaleSpec{Common: c.common()}
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
	l, err := layers.LayerScale(s)
	return l, sameShape(c), err
}

// customScale reads InceptionResNetV2's CustomScaleLayer
// (keras.src.applications.inception_resnet_v2): two inputs and a scale.
func customScale(c *lctx) (*model.Layer, []int, error) {
	if err := c.appClass(); err != nil {
		return nil, nil, err
	}
	if len(c.inShapes) != 2 || c.inShapes[0] == nil {
		return nil, nil, fmt.Errorf("%w: layer %q (CustomScaleLayer): takes two inputs, got %d", ErrFormat, c.e.name, len(c.inShapes))
	}
	sc, err := c.float("scale", 1)
	if err != nil {
		return nil, nil, err
	}
	l, err := layers.CustomScale(layers.CustomScaleSpec{Common: c.common(), Scale: float32(sc)})
	return l, sameShape(c), err
}
