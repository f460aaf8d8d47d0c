package surgery

import (
	"errors"
	"fmt"
	"math/rand"

	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/model"
)

// roleDefaults are Keras's default initializers for params whose role alone
// fixes them, used when a param records no initializer (ONNX-origin models):
// BatchNormalization's gamma_initializer "ones", beta_initializer "zeros",
// moving_mean_initializer "zeros", moving_variance_initializer "ones";
// Dense/Conv bias_initializer "zeros"; PReLU alpha_initializer "zeros".
var roleDefaults = map[string]string{
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
// variance 1). A param without a recorded initializer uses Keras's default
// for its role (bias zeros, gamma ones, ..., a 2-D kernel glorot_uniform);
// one whose initializer Keras does not define (a custom function) is an
// error naming the layer and the initializer, wrapping initializers.ErrUnknown.
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
			init := p.Init
			if init == nil {
				name, ok := roleDefaults[p.Role]
				switch {
				case ok:
				case p.Role == "kernel" && len(p.Shape) == 2:
					// Keras's Dense default; glorot's fan_avg is the same for
					// [in, out] and PyTorch's [out, in].
					name = "glorot_uniform"
				default:
					return nil, fmt.Errorf("surgery: clone: layer %q: param %q (role %q, shape %v) records no initializer; cannot draw it anew", l.Name, p.Name, p.Role, p.Shape)
				}
				init = &model.Initializer{Name: name}
			}
			data, err := initializers.Draw(init, p.Shape, rng)
			if err != nil {
				if errors.Is(err, initializers.ErrUnknown) {
					return nil, fmt.Errorf("surgery: clone: layer %q: param %q: initializer %q is not a Keras initializer (a custom function?); clone without --reinit, or set the weights yourself: %w", l.Name, p.Name, init.Name, err)
				}
				return nil, fmt.Errorf("surgery: clone: layer %q: param %q: %w", l.Name, p.Name, err)
			}
			p.Data = data
		}
	}
	return c, nil
}
