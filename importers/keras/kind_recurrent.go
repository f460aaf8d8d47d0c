package keras

import (
	"encoding/json"
	"fmt"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// recurrent reads SimpleRNN, LSTM or GRU: weights kernel [in, G*u],
// recurrent_kernel [u, G*u], bias [G*u] (GRU with reset_after [2, 3u]).
func recurrent(kind string) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, 3)
		if err != nil {
			return nil, nil, err
		}
		s, err := c.recurrentSpec(kind, in, "")
		if err != nil {
			return nil, nil, err
		}
		l, err := layers.Recurrent(s)
		if err != nil {
			return nil, nil, err
		}
		return l, recurrentOut(in, s.Units, s.ReturnSequences), nil
	}
}

func recurrentOut(in []int, units int, seq bool) []int {
	if seq {
		return []int{-1, in[1], units}
	}
	return []int{-1, units}
}

// recurrentSpec reads the config of a recurrent layer (c's entry) for
// input shape in, taking its three weights; rolePrefix names the cell
// inside the layer ("forward_lstm/lstm_cell" in a Bidirectional), empty
// for the kind's cell name.
func (c *lctx) recurrentSpec(kind string, in []int, rolePrefix string) (layers.RecurrentSpec, error) {
	s := layers.RecurrentSpec{Common: c.common(), Kind: kind, InFeatures: in[2], RolePrefix: rolePrefix}
	var err error
	for _, key := range []string{"return_state", "stateful", "time_major"} {
		on, err := c.bool(key, false)
		if err != nil {
			return s, err
		}
		if on {
			return s, fmt.Errorf("keras: %w: layer %q (%s): %s=True is not supported (save the model with %s=False)", model.ErrUnsupported, c.e.name, c.e.class, key, key)
		}
	}
	if s.Units, err = c.int("units", 0); err != nil {
		return s, err
	}
	if s.Units <= 0 || s.Units > 1<<20 || in[2] <= 0 {
		return s, c.errf("units", "units %d and input features %d must be positive", s.Units, in[2])
	}
	if s.Activation, err = c.activation("activation"); err != nil {
		return s, err
	}
	if kind != "SimpleRNN" {
		// Keras's default since 2.3 (Keras 2.2 said hard_sigmoid, and wrote
		// it into every config).
		s.RecurrentActivation = "sigmoid"
		if c.has("recurrent_activation") {
			if s.RecurrentActivation, err = c.activation("recurrent_activation"); err != nil {
				return s, err
			}
		}
	}
	if s.UseBias, err = c.bool("use_bias", true); err != nil {
		return s, err
	}
	if s.ReturnSequences, err = c.bool("return_sequences", false); err != nil {
		return s, err
	}
	if s.GoBackwards, err = c.bool("go_backwards", false); err != nil {
		return s, err
	}
	if kind == "GRU" {
		if s.ResetAfter, err = c.bool("reset_after", true); err != nil {
			return s, err
		}
	}
	for key, dst := range map[string]**model.Initializer{
		"kernel_initializer": &s.KernelInitializer, "recurrent_initializer": &s.RecurrentInitializer, "bias_initializer": &s.BiasInit,
	} {
		if *dst, err = c.init(key); err != nil {
			return s, err
		}
	}
	g := map[string]int{"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
	if s.Kernel, _, err = c.take("kernel", []int{in[2], g * s.Units}); err != nil {
		return s, err
	}
	if s.Recurrent, _, err = c.take("recurrent_kernel", []int{s.Units, g * s.Units}); err != nil {
		return s, err
	}
	if s.UseBias {
		shape := []int{g * s.Units}
		if kind == "GRU" && s.ResetAfter {
			shape = []int{2, g * s.Units}
		}
		if s.Bias, _, err = c.take("bias", shape); err != nil {
			return s, err
		}
	}
	return s, nil
}

// inner returns a context for the layer config held under key (a
// wrapper's "layer" or Bidirectional's "backward_layer"), sharing c's
// inputs and weights; ok is false when the key is absent.
func (c *lctx) inner(key string) (*lctx, bool, error) {
	if !c.has(key) {
		return nil, false, nil
	}
	var obj struct {
		ClassName string          `json:"class_name"`
		Module    string          `json:"module"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(c.e.cfg[key], &obj); err != nil || obj.ClassName == "" {
		return nil, false, c.errf(key, "not a serialized layer: %s", clip(c.e.cfg[key]))
	}
	e := &layerEntry{class: obj.ClassName, module: obj.Module, config: obj.Config}
	if err := json.Unmarshal(obj.Config, &e.cfg); err != nil || e.cfg == nil {
		return nil, false, c.errf(key, "layer config is not an object")
	}
	_ = json.Unmarshal(e.cfg["name"], &e.name)
	if e.name == "" {
		return nil, false, c.errf(key, "the wrapped layer has no name")
	}
	ic := *c
	ic.e = e
	return &ic, true, nil
}

// bidirectional reads a Bidirectional wrapper of SimpleRNN, LSTM or GRU:
// the forward layer's weights, then the backward layer's (Keras's weight
// list). Without backward_layer in the config Keras builds the backward
// layer from the forward config with go_backwards flipped.
func bidirectional(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 3)
	if err != nil {
		return nil, nil, err
	}
	merge, err := c.str("merge_mode", "concat")
	if err != nil {
		return nil, nil, err
	}
	if !c.has("merge_mode") && string(c.e.cfg["merge_mode"]) == "null" {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (Bidirectional): merge_mode None (two outputs) is not supported", model.ErrUnsupported, c.e.name)
	}
	fc, ok, err := c.inner("layer")
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, c.errf("layer", "missing")
	}
	kind := fc.e.class
	if _, known := map[string]bool{"SimpleRNN": true, "LSTM": true, "GRU": true}[kind]; !known {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (Bidirectional): wraps a %s (supported: SimpleRNN, LSTM, GRU)", model.ErrUnsupported, c.e.name, kind)
	}
	bc, ok, err := c.inner("backward_layer")
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		// Keras: backward = the forward config with go_backwards flipped
		// and the name "backward_" + name.
		bc = &lctx{}
		*bc = *fc
		e := *fc.e
		e.cfg = map[string]json.RawMessage{}
		for k, v := range fc.e.cfg {
			e.cfg[k] = v
		}
		e.cfg["go_backwards"] = json.RawMessage("true")
		e.name = "backward_" + fc.e.name
		bc.e = &e
	}
	if bc.e.class != kind {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (Bidirectional): backward layer %s differs from forward %s", model.ErrUnsupported, c.e.name, bc.e.class, kind)
	}
	cell := map[string]string{"SimpleRNN": "simple_rnn_cell", "LSTM": "lstm_cell", "GRU": "gru_cell"}[kind]
	f, err := fc.recurrentSpec(kind, in, fc.e.name+"/"+cell)
	if err != nil {
		return nil, nil, err
	}
	bc.used = fc.used
	r, err := bc.recurrentSpec(kind, in, bc.e.name+"/"+cell)
	if err != nil {
		return nil, nil, err
	}
	c.used = bc.used
	l, err := layers.Bidirectional(layers.BidirectionalSpec{Common: c.common(), Forward: f, Backward: r, MergeMode: merge})
	if err != nil {
		return nil, nil, err
	}
	units := f.Units
	if merge == "concat" {
		units *= 2
	}
	return l, recurrentOut(in, units, f.ReturnSequences), nil
}

// timeDistributed reads a TimeDistributed wrapper: the wrapped layer is
// built on the input with its first two dims (batch, steps) merged, and
// its output split back.
func timeDistributed(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(in) < 3 {
		return nil, nil, fmt.Errorf("%w: layer %q (TimeDistributed): input %v needs a batch, a time and a feature dim", ErrFormat, c.e.name, in)
	}
	ic, ok, err := c.inner("layer")
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, c.errf("layer", "missing")
	}
	fn, known := c.kinds[ic.e.class]
	if !known || ic.e.class == "TimeDistributed" || ic.e.class == "Bidirectional" || isOperation(ic.e) || nestedClass(ic.e.class) {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (TimeDistributed): wraps a %s (supported: the layer classes xfer reads but wrappers and models)", model.ErrUnsupported, c.e.name, ic.e.class)
	}
	flat := layers.TimeDistributedInput(c.e.name)
	ic.e.name = c.e.name // the wrapped layer's weights are the wrapper's
	ic.inputs = []string{flat}
	ic.inShapes = [][]int{append([]int{-1}, in[2:]...)}
	inner, innerOut, err := fn(ic)
	if err != nil {
		return nil, nil, err
	}
	c.used = ic.used
	if len(innerOut) < 1 || len(inner.Outputs) != 1 {
		return nil, nil, fmt.Errorf("%w: layer %q (TimeDistributed): the wrapped %s has no single output", ErrFormat, c.e.name, ic.e.class)
	}
	l, err := layers.TimeDistributed(layers.TimeDistributedSpec{Common: c.common(), Inner: inner, InnerShape: in[2:], OutShape: innerOut[1:], Steps: in[1]})
	if err != nil {
		return nil, nil, err
	}
	return l, append([]int{-1, in[1]}, innerOut[1:]...), nil
}
