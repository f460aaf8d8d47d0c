package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// PReLUSpec is a Keras PReLU layer.
type PReLUSpec struct {
	Common
	// AlphaShape is the alpha weight's shape: the input shape without the
	// batch dim, with 1 on every shared axis (Keras layout).
	AlphaShape []int
	Alpha      []float32 // nil for zeros (Keras's default initializer)
	Init       *model.Initializer
}

// PReLU returns the layer PRelu(x, alpha): x for x >= 0, alpha*x otherwise,
// alpha broadcasting over the batch dim (Keras: relu(x) - alpha*relu(-x)).
func PReLU(s PReLUSpec) (*model.Layer, error) {
	b, err := s.builder("PReLU", 1)
	if err != nil {
		return nil, err
	}
	if len(s.AlphaShape) == 0 {
		return nil, fmt.Errorf("layers: layer %q: PReLU needs the alpha shape", s.Name)
	}
	init := s.Init
	if init == nil {
		init = &model.Initializer{Name: "zeros"}
	}
	a, err := b.param("alpha", s.AlphaShape, s.Alpha, init, false)
	if err != nil {
		return nil, err
	}
	return s.done(b, b.node("PRelu", []string{s.Inputs[0], a}, nil), func() *pyjson.Obj { return s.config(init) }), nil
}

// config writes a PReLU config; shared_axes are the axes (batch = 0) where
// alpha has size 1.
func (s PReLUSpec) config(init *model.Initializer) *pyjson.Obj {
	var shared []any
	for i, d := range s.AlphaShape {
		if d == 1 {
			shared = append(shared, i+1)
		}
	}
	var sa any
	if len(shared) > 0 {
		sa = shared
	}
	return baseConfig(s.Name, s.Trainable).Set("alpha_initializer", initConfig(init, "zeros")).
		Set("alpha_regularizer", nil).Set("alpha_constraint", nil).Set("shared_axes", sa)
}
