package layers

import (
	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// Flatten returns the Keras Flatten layer. Keras flattens the channels-last
// tensor in row-major order of the non-batch dims, which is exactly ONNX
// Flatten with axis 1 on the same tensor.
func Flatten(c Common) (*model.Layer, error) {
	b, err := c.builder("Flatten", 1)
	if err != nil {
		return nil, err
	}
	return c.done(b, b.node("Flatten", []string{c.Inputs[0]}, map[string]model.Attr{"axis": model.Int(1)}), func() *pyjson.Obj {
		return baseConfig(c.Name, c.Trainable).Set("data_format", "channels_last")
	}), nil
}

func readFlatten(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	n := model.NumElements(in[1:])
	l, err := Flatten(c.common())
	return l, []int{-1, n}, err
}
