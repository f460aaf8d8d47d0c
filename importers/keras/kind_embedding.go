package keras

import (
	"fmt"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// embedding reads an Embedding layer (weight embeddings [input_dim,
// output_dim]). mask_zero is refused: the mask it makes changes what later
// layers (recurrent ones, GlobalAveragePooling1D) compute, which xfer does
// not model.
func embedding(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	s := layers.EmbeddingSpec{Common: c.common()}
	if s.InputDim, err = c.int("input_dim", 0); err != nil {
		return nil, nil, err
	}
	if s.OutputDim, err = c.int("output_dim", 0); err != nil {
		return nil, nil, err
	}
	if s.InputDim <= 0 || s.OutputDim <= 0 || s.InputDim > 1<<30 || s.OutputDim > 1<<30 {
		return nil, nil, c.errf("input_dim", "input_dim %d and output_dim %d must be positive", s.InputDim, s.OutputDim)
	}
	mask, err := c.bool("mask_zero", false)
	if err != nil {
		return nil, nil, err
	}
	if mask {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (Embedding): mask_zero=True (the padding mask it passes to later layers is not supported; save the model with mask_zero=False)", model.ErrUnsupported, c.e.name)
	}
	if s.Init, err = c.init("embeddings_initializer"); err != nil {
		return nil, nil, err
	}
	if s.Embeddings, _, err = c.take("embeddings", []int{s.InputDim, s.OutputDim}); err != nil {
		return nil, nil, err
	}
	l, err := layers.Embedding(s)
	return l, append(append([]int(nil), in...), s.OutputDim), err
}
