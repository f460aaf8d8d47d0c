package layers

import (
	"encoding/json"
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

func readPrelu(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	want := append([]int(nil), in[1:]...)
	if c.has("shared_axes") {
		var axes []int
		if err := json.Unmarshal(c.cfg["shared_axes"], &axes); err != nil {
			var one int
			if json.Unmarshal(c.cfg["shared_axes"], &one) != nil {
				return nil, nil, c.errf("shared_axes", "want a list of axes, got %s", clip(c.cfg["shared_axes"]))
			}
			axes = []int{one}
		}
		for _, a := range axes {
			if a < 1 || a > len(want) {
				return nil, nil, c.errf("shared_axes", "axis %d out of range for input %v", a, in)
			}
			want[a-1] = 1
		}
	}
	init, err := c.init("alpha_initializer")
	if err != nil {
		return nil, nil, err
	}
	a, shape, err := c.take("alpha", want)
	if err != nil {
		return nil, nil, err
	}
	l, err := PReLU(PReLUSpec{Common: c.common(), AlphaShape: shape, Alpha: a, Init: init})
	return l, sameShape(c), err
}
