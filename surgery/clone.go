package surgery

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"

	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/model"
)

// roleDefaults are Keras's default initializers for params whose role alone
// fixes them, used when a param records no initializer (ONNX-origin models):
// BatchNormalization's gamma_initializer "ones", beta_initializer "zeros",
// moving_mean_initializer "zeros", moving_variance_initializer "ones";
// Dense/Conv bias_initializer "zeros"; PReLU alpha_initializer "zeros".
var roleDefaults = map[string]string{ // role -> Keras initializer name
	"gamma":           "ones",
	"beta":            "zeros",
	"moving_mean":     "zeros",
	"moving_variance": "ones",
	"bias":            "zeros",
	"alpha":           "zeros",
}

// Clone returns a deep copy of m sharing no memory with it. With reinit,
// every param is drawn anew from its own initializer with rng, as Keras's
// clone_model does (BatchNormalization statistics go back to mean 0,
// variance 1). A param without a recorded initializer (ONNX-origin models)
// uses Keras's default for its role: zeros for bias, ones for gamma, ...,
// glorot_uniform for kernels, with the fans of the equivalent Keras layer
// (see defaultInit). A param whose initializer Keras does not define (a
// custom function) is an error naming the layer and the initializer,
// wrapping initializers.ErrUnknown.
func Clone(m *model.Model, reinit bool, rng *rand.Rand) (*model.Model, error) {
	c := m.Clone()
	if !reinit {
		return c, nil
	}
	if rng == nil {
		return nil, fmt.Errorf("%w: clone: reinit needs a random number generator", ErrUsage)
	}
	for _, l := range c.Layers {
		for _, p := range l.Params {
			init, shape := p.Init, p.Shape
			if init == nil {
				var reason string
				if init, shape, reason = defaultInit(l, p); reason != "" {
					return nil, fmt.Errorf("surgery: clone: layer %q: param %q (role %q, shape %v) records no initializer and %s; cannot draw it anew", l.Name, p.Name, p.Role, p.Shape, reason)
				}
			}
			data, err := initializers.Draw(init, shape, rng)
			if err != nil {
				if errors.Is(err, initializers.ErrUnknown) {
					return nil, fmt.Errorf("surgery: clone: layer %q: param %q: initializer %s is not a Keras initializer (a custom function?); clone without --reinit, or set the weights yourself: %w", l.Name, p.Name, initializers.Describe(init), err)
				}
				return nil, fmt.Errorf("surgery: clone: layer %q: param %q: %w", l.Name, p.Name, err)
			}
			p.Data = data
		}
	}
	return c, nil
}

// defaultInit picks Keras's default initializer for a param that records
// none, and the shape whose Keras fans match it. Draws are independent, so
// only the fans matter, not the order of the values: an ONNX Conv weight
// [out, in, k...] (OIHW) is drawn as the Keras kernel [k..., in, out] of the
// same size. A 2-D kernel ([in, out] or PyTorch's [out, in]) uses
// glorot_uniform's fan_avg, the same either way.
func defaultInit(l *model.Layer, p *model.Param) (*model.Initializer, []int, string) {
	if name, ok := roleDefaults[p.Role]; ok {
		return &model.Initializer{Name: name}, p.Shape, ""
	}
	if p.Role != "kernel" {
		return nil, nil, "its role has no Keras default"
	}
	glorot := &model.Initializer{Name: "glorot_uniform"} // Keras's Dense and Conv default
	if len(p.Shape) == 2 {
		return glorot, p.Shape, ""
	}
	for _, n := range l.Nodes {
		if n.Op == "Conv" && len(n.Inputs) > 1 && n.Inputs[1] == p.Name && len(p.Shape) >= 3 {
			shape := append(slices.Clone(p.Shape[2:]), p.Shape[1], p.Shape[0])
			return glorot, shape, ""
		}
	}
	return nil, nil, "its layout is not one Conv reads directly"
}
