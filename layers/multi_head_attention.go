package layers

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// MultiHeadAttentionSpec is a Keras MultiHeadAttention layer called as
// mha(query, value) or mha(query, value, key) on rank-3 inputs [batch,
// steps, features], attending over the steps (attention_axes (1,)), without
// masks.
type MultiHeadAttentionSpec struct {
	// Common.Inputs are query, value and, optionally, key (the value when
	// absent), which may name the same tensor.
	Common
	NumHeads, KeyDim, ValueDim int
	// QueryFeatures, KeyFeatures and ValueFeatures are the last dims of
	// the inputs; OutputFeatures the output's (Keras: the query's).
	QueryFeatures, KeyFeatures, ValueFeatures, OutputFeatures int
	UseBias                                                   bool
	// Dropout is the attention dropout rate (inference ignores it).
	Dropout float32
	// Kernels and biases in Keras's layout (EinsumDense weights): Query and
	// Key [features, heads, key_dim], Value [features, heads, value_dim],
	// Output [heads, value_dim, output features]; biases [heads, dim] and
	// [output features]. nil gives zeros.
	QueryKernel, QueryBias, KeyKernel, KeyBias, ValueKernel, ValueBias, OutputKernel, OutputBias []float32
}

// MultiHeadAttention returns the layer as Keras computes it
// (keras/src/layers/attention/multi_head_attention.py): query, key and value
// projected per head, the query scaled by 1/sqrt(key_dim), softmax over the
// key steps of query.key, the weighted values projected back and summed
// over the heads. Weight roles are Keras's .h5 weight names without the
// layer: query/kernel, query/bias, key/..., value/..., attention_output/...
func MultiHeadAttention(s MultiHeadAttentionSpec) (*model.Layer, error) {
	b, err := s.builder("MultiHeadAttention", -2)
	if err != nil {
		return nil, err
	}
	if len(s.Inputs) > 3 {
		return nil, fmt.Errorf("layers: layer %q: MultiHeadAttention takes query, value and key, got %d inputs", s.Name, len(s.Inputs))
	}
	key := s.Inputs[len(s.Inputs)-1]
	h, dk, dv := s.NumHeads, s.KeyDim, s.ValueDim
	if h <= 0 || dk <= 0 || dv <= 0 || s.QueryFeatures <= 0 || s.KeyFeatures <= 0 || s.ValueFeatures <= 0 || s.OutputFeatures <= 0 {
		return nil, fmt.Errorf("layers: layer %q: MultiHeadAttention needs positive heads %d, key_dim %d, value_dim %d and features (query %d, key %d, value %d, output %d)",
			s.Name, h, dk, dv, s.QueryFeatures, s.KeyFeatures, s.ValueFeatures, s.OutputFeatures)
	}
	glorot := &model.Initializer{Name: "glorot_uniform"}
	zeros := &model.Initializer{Name: "zeros"}
	// project returns x @ kernel [+ bias] as [N, L, heads, dim].
	project := func(name, x string, in, dim int, kernel, bias []float32) (string, error) {
		k, err := b.param(name+"/kernel", []int{in, h, dim}, kernel, glorot, false)
		if err != nil {
			return "", err
		}
		y := b.node("MatMul", []string{x, b.node("Reshape", []string{k, b.constInts(name+"/kernel_2d", int64(in), int64(h*dim))}, nil)}, nil)
		if s.UseBias {
			bias, err := b.param(name+"/bias", []int{h, dim}, bias, zeros, false)
			if err != nil {
				return "", err
			}
			y = b.node("Add", []string{y, b.node("Reshape", []string{bias, b.constInts(name+"/bias_1d", int64(h*dim))}, nil)}, nil)
		}
		return b.node("Reshape", []string{y, b.constInts(name+"/heads", 0, 0, int64(h), int64(dim))}, nil), nil
	}
	q, err := project("query", s.Inputs[0], s.QueryFeatures, dk, s.QueryKernel, s.QueryBias)
	if err != nil {
		return nil, err
	}
	k, err := project("key", key, s.KeyFeatures, dk, s.KeyKernel, s.KeyBias)
	if err != nil {
		return nil, err
	}
	v, err := project("value", s.Inputs[1], s.ValueFeatures, dv, s.ValueKernel, s.ValueBias)
	if err != nil {
		return nil, err
	}
	perm := func(p ...int64) map[string]model.Attr { return map[string]model.Attr{"perm": model.Ints(p...)} }
	q = b.node("Mul", []string{b.node("Transpose", []string{q}, perm(0, 2, 1, 3)), b.constScalar("scale", float32(1/math.Sqrt(float64(dk))))}, nil)
	k = b.node("Transpose", []string{k}, perm(0, 2, 3, 1))
	v = b.node("Transpose", []string{v}, perm(0, 2, 1, 3))
	scores := b.node("Softmax", []string{b.node("MatMul", []string{q, k}, nil)}, map[string]model.Attr{"axis": model.Int(-1)})
	o := b.node("Transpose", []string{b.node("MatMul", []string{scores, v}, nil)}, perm(0, 2, 1, 3))
	o = b.node("Reshape", []string{o, b.constInts("merge_heads", 0, 0, int64(h*dv))}, nil)
	ok, err := b.param("attention_output/kernel", []int{h, dv, s.OutputFeatures}, s.OutputKernel, glorot, false)
	if err != nil {
		return nil, err
	}
	y := b.node("MatMul", []string{o, b.node("Reshape", []string{ok, b.constInts("attention_output/kernel_2d", int64(h*dv), int64(s.OutputFeatures))}, nil)}, nil)
	if s.UseBias {
		ob, err := b.param("attention_output/bias", []int{s.OutputFeatures}, s.OutputBias, zeros, false)
		if err != nil {
			return nil, err
		}
		y = b.node("Add", []string{y, ob}, nil)
	}
	return s.done(b, y, s.config), nil
}

// config writes a MultiHeadAttention config in tf.keras 2.13's keys (Keras
// 3 adds use_gate, sliding_window and seed, defaults false/None, which older
// releases refuse; output_shape None means the query's features).
func (s MultiHeadAttentionSpec) config() *pyjson.Obj {
	var outShape any
	if s.OutputFeatures != s.QueryFeatures {
		outShape = []any{s.OutputFeatures}
	}
	return baseConfig(s.Name, s.Trainable).Set("num_heads", s.NumHeads).Set("key_dim", s.KeyDim).
		Set("value_dim", s.ValueDim).Set("dropout", f32(s.Dropout)).Set("use_bias", s.UseBias).
		Set("output_shape", outShape).Set("attention_axes", []any{1}).
		Set("kernel_initializer", initConfig(nil, "glorot_uniform")).Set("bias_initializer", initConfig(nil, "zeros")).
		Set("kernel_regularizer", nil).Set("bias_regularizer", nil).Set("activity_regularizer", nil).
		Set("kernel_constraint", nil).Set("bias_constraint", nil)
}

// multiHeadAttention reads Keras's MultiHeadAttention called on rank-3
// query and value (and key) tensors, attending over axis 1, without masks
// or a gate: the form tf.keras 2.13 and Keras 3 save for a transformer
// encoder block.
func readMultiHeadAttention(c *kctx) (*model.Layer, []int, error) {
	if len(c.Inputs) < 2 || len(c.Inputs) > 3 {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (MultiHeadAttention): called on %d tensors; xfer reads mha(query, value[, key])", model.ErrUnsupported, c.Name, len(c.Inputs))
	}
	var shapes [][]int
	for i := range c.Inputs {
		s, err := c.inShape(i, 3)
		if err != nil {
			return nil, nil, err
		}
		if s[2] <= 0 {
			return nil, nil, fmt.Errorf("%w: layer %q (MultiHeadAttention): input %d has unknown features %v", ErrKerasFormat, c.Name, i, s)
		}
		shapes = append(shapes, s)
	}
	q, v := shapes[0], shapes[1]
	k := shapes[len(shapes)-1]
	heads, err := c.int("num_heads", 0)
	if err != nil {
		return nil, nil, err
	}
	kd, err := c.int("key_dim", 0)
	if err != nil {
		return nil, nil, err
	}
	vd, err := c.int("value_dim", kd)
	if err != nil {
		return nil, nil, err
	}
	for key, n := range map[string]int{"num_heads": heads, "key_dim": kd, "value_dim": vd} {
		if n <= 0 || n > 1<<16 {
			return nil, nil, c.errf(key, "must be in 1..65536, got %d", n)
		}
	}
	useBias, err := c.bool("use_bias", true)
	if err != nil {
		return nil, nil, err
	}
	dropout, err := c.float("dropout", 0)
	if err != nil {
		return nil, nil, err
	}
	if gate, err := c.bool("use_gate", false); err != nil || gate {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (MultiHeadAttention): use_gate=True is not supported", model.ErrUnsupported, c.Name)
	}
	if c.has("sliding_window") {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (MultiHeadAttention): sliding_window is not supported", model.ErrUnsupported, c.Name)
	}
	if c.has("attention_axes") {
		var axes []int
		var one int
		raw := c.cfg["attention_axes"]
		switch {
		case json.Unmarshal(raw, &one) == nil:
			axes = []int{one}
		case json.Unmarshal(raw, &axes) == nil:
		default:
			return nil, nil, c.errf("attention_axes", "want an integer or a list of integers, got %s", clip(raw))
		}
		if len(axes) != 1 || (axes[0] != 1 && axes[0] != -2) {
			return nil, nil, fmt.Errorf("keras: %w: layer %q (MultiHeadAttention): attention_axes %v: xfer supports attention over axis 1 of rank-3 inputs", model.ErrUnsupported, c.Name, axes)
		}
	}
	out := q[2]
	if c.has("output_shape") {
		var l []int
		var one int
		raw := c.cfg["output_shape"]
		switch {
		case json.Unmarshal(raw, &one) == nil:
			out = one
		case json.Unmarshal(raw, &l) == nil && len(l) == 1:
			out = l[0]
		default:
			return nil, nil, fmt.Errorf("keras: %w: layer %q (MultiHeadAttention): output_shape %s: xfer supports one output feature axis", model.ErrUnsupported, c.Name, clip(raw))
		}
		if out <= 0 {
			return nil, nil, c.errf("output_shape", "must be positive, got %d", out)
		}
	}
	s := MultiHeadAttentionSpec{Common: c.common(), NumHeads: heads, KeyDim: kd, ValueDim: vd,
		QueryFeatures: q[2], KeyFeatures: k[2], ValueFeatures: v[2], OutputFeatures: out, UseBias: useBias, Dropout: float32(dropout)}
	take := func(kernel, bias *[]float32, name string, in, dim int) error {
		var err error
		if *kernel, _, err = c.take(name+"/kernel", []int{in, heads, dim}); err != nil {
			return err
		}
		if useBias {
			*bias, _, err = c.take(name+"/bias", []int{heads, dim})
		}
		return err
	}
	if err := take(&s.QueryKernel, &s.QueryBias, "query", q[2], kd); err != nil {
		return nil, nil, err
	}
	if err := take(&s.KeyKernel, &s.KeyBias, "key", k[2], kd); err != nil {
		return nil, nil, err
	}
	if err := take(&s.ValueKernel, &s.ValueBias, "value", v[2], vd); err != nil {
		return nil, nil, err
	}
	if s.OutputKernel, _, err = c.take("attention_output/kernel", []int{heads, vd, out}); err != nil {
		return nil, nil, err
	}
	if useBias {
		if s.OutputBias, _, err = c.take("attention_output/bias", []int{out}); err != nil {
			return nil, nil, err
		}
	}
	l, err := MultiHeadAttention(s)
	return l, []int{q[0], q[1], out}, err
}
