package layers

import "github.com/xferml/xfer/model"

// InputLayer returns a Keras InputLayer: no nodes, Inputs == Outputs ==
// [input], where input is the name of a graph input. Functional models list
// one per graph input (Keras counts it in model.layers).
func InputLayer(c Common) (*model.Layer, error) {
	b, err := c.builder("InputLayer", 1)
	if err != nil {
		return nil, err
	}
	return keep(b.finish(c.Inputs[0]), c.Config), nil
}
