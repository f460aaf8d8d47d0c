package layers

import "github.com/xferml/xfer/model"

// Identity returns the Keras Identity layer: one ONNX Identity node.
func Identity(c Common) (*model.Layer, error) {
	b, err := c.builder("Identity", 1)
	if err != nil {
		return nil, err
	}
	return c.done(b, b.node("Identity", []string{c.Inputs[0]}, nil)), nil
}

func readIdentity(c *kctx) (*model.Layer, []int, error) {
	l, err := Identity(c.common())
	return l, sameShape(c), err
}
