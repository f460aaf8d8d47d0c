package layers

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// onnxInt64 is TensorProto.DataType INT64 (onnx.proto).
const onnxInt64 = 7

// EmbeddingSpec is a Keras Embedding layer: integer token ids [N, d...] to
// vectors [N, d..., OutputDim].
type EmbeddingSpec struct {
	Common
	InputDim, OutputDim int
	// Embeddings is [InputDim, OutputDim]; nil gives zeros.
	Embeddings []float32
	Init       *model.Initializer
}

// Embedding returns the layer: Cast of the ids to int64 (Keras casts
// non-integer inputs to int32, truncating toward zero as Cast does), then
// Gather of the rows of the embeddings param along axis 0. Keras's
// mask_zero is not part of the layer (the importer refuses it: the mask
// would change what later layers compute).
func Embedding(s EmbeddingSpec) (*model.Layer, error) {
	b, err := s.builder("Embedding", 1)
	if err != nil {
		return nil, err
	}
	if s.InputDim <= 0 || s.OutputDim <= 0 {
		return nil, fmt.Errorf("layers: layer %q: Embedding needs positive input_dim and output_dim, got %d and %d", s.Name, s.InputDim, s.OutputDim)
	}
	init := s.Init
	if init == nil {
		init = &model.Initializer{Name: "uniform"}
	}
	e, err := b.param("embeddings", []int{s.InputDim, s.OutputDim}, s.Embeddings, init, false)
	if err != nil {
		return nil, err
	}
	ids := b.node("Cast", []string{s.Inputs[0]}, map[string]model.Attr{"to": model.Int(onnxInt64)})
	return s.done(b, b.node("Gather", []string{e, ids}, map[string]model.Attr{"axis": model.Int(0)})), nil
}

// readEmbedding reads an Embedding layer (weight embeddings [input_dim,
// output_dim]). mask_zero is refused: the mask it makes changes what later
// layers (recurrent ones, GlobalAveragePooling1D) compute, which xfer does
// not model.
func readEmbedding(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	s := EmbeddingSpec{Common: c.common()}
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
		return nil, nil, fmt.Errorf("keras: %w: layer %q (Embedding): mask_zero=True (the padding mask it passes to later layers is not supported; save the model with mask_zero=False)", model.ErrUnsupported, c.Name)
	}
	if s.Init, err = c.init("embeddings_initializer"); err != nil {
		return nil, nil, err
	}
	if s.Embeddings, _, err = c.take("embeddings", []int{s.InputDim, s.OutputDim}); err != nil {
		return nil, nil, err
	}
	l, err := Embedding(s)
	return l, append(append([]int(nil), in...), s.OutputDim), err
}
