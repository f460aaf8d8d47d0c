package layers

import (
	"encoding/json"
	"fmt"

	"github.com/xferml/xfer/model"
)

// BidirectionalSpec is a Keras Bidirectional wrapper of a SimpleRNN, LSTM
// or GRU layer: Forward runs forward, Backward (go_backwards) backward; the
// wrapped layers' Common fields are unused but for their names.
type BidirectionalSpec struct {
	Common
	Forward, Backward RecurrentSpec
	// MergeMode is "concat", "sum", "mul" or "ave" (Keras's None, two
	// outputs, is not supported).
	MergeMode string
}

// Bidirectional returns the layer as one ONNX node with direction
// "bidirectional": its reverse direction's outputs come in original time
// order, which is how Keras merges the backward layer's outputs (it flips
// them back). The forward weights come first, as in Keras's weight list.
func Bidirectional(s BidirectionalSpec) (*model.Layer, error) {
	b, err := s.builder("Bidirectional", 1)
	if err != nil {
		return nil, err
	}
	f, r := s.Forward, s.Backward
	if f.Kind != r.Kind || f.Units != r.Units || f.UseBias != r.UseBias || f.ReturnSequences != r.ReturnSequences || f.ResetAfter != r.ResetAfter || f.GoBackwards || !r.GoBackwards {
		return nil, fmt.Errorf("layers: layer %q: Bidirectional needs a forward and a go_backwards %s of the same units, use_bias, return_sequences and reset_after", s.Name, f.Kind)
	}
	switch s.MergeMode {
	case "concat", "sum", "mul", "ave":
	default:
		return nil, fmt.Errorf("layers: %w: layer %q: Bidirectional merge_mode %q (supported: concat, sum, mul, ave)", model.ErrUnsupported, s.Name, s.MergeMode)
	}
	y, err := recurrentOps(b, s.Inputs[0], []RecurrentSpec{f, r}, s.MergeMode)
	if err != nil {
		return nil, err
	}
	return s.done(b, y), nil
}

// mergeDirections merges the two directions along axis (of size 2) as
// Keras's merge_mode does: concat (forward first), sum, mul, ave.
func (b *builder) mergeDirections(y string, axis, units int, mode string) string {
	switch mode {
	case "sum":
		return b.node("ReduceSum", []string{y, b.constInts("merge_axes", int64(axis))}, map[string]model.Attr{"keepdims": model.Int(0)})
	case "ave":
		return b.node("ReduceMean", []string{y}, map[string]model.Attr{"axes": model.Ints(int64(axis)), "keepdims": model.Int(0)})
	case "mul":
		f := b.node("Gather", []string{y, b.constInts("forward_index", 0)}, map[string]model.Attr{"axis": model.Int(int64(axis))})
		r := b.node("Gather", []string{y, b.constInts("backward_index", 1)}, map[string]model.Attr{"axis": model.Int(int64(axis))})
		f = b.node("Squeeze", []string{f, b.constInts("merge_squeeze", int64(axis))}, nil)
		r = b.node("Squeeze", []string{r, b.constInts("merge_squeeze", int64(axis))}, nil)
		return b.node("Mul", []string{f, r}, nil)
	}
	// concat: [..., 2, u] -> [..., 2u] (0 copies a dim; the size is given so
	// that shapes stay known for the layers after)
	shape := []int64{0, int64(2 * units)}
	if axis == 2 {
		shape = []int64{0, 0, int64(2 * units)}
	}
	return b.node("Reshape", []string{y, b.constInts("concat_shape", shape...)}, nil)
}

// readBidirectional reads a Bidirectional wrapper of SimpleRNN, LSTM or GRU:
// the forward layer's weights, then the backward layer's (Keras's weight
// list). Without backward_layer in the config Keras builds the backward
// layer from the forward config with go_backwards flipped.
func readBidirectional(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 3)
	if err != nil {
		return nil, nil, err
	}
	merge, err := c.str("merge_mode", "concat")
	if err != nil {
		return nil, nil, err
	}
	if !c.has("merge_mode") && string(c.cfg["merge_mode"]) == "null" {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (Bidirectional): merge_mode None (two outputs) is not supported", model.ErrUnsupported, c.Name)
	}
	fc, ok, err := c.inner("layer")
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, c.errf("layer", "missing")
	}
	kind := fc.Class
	if _, known := map[string]bool{"SimpleRNN": true, "LSTM": true, "GRU": true}[kind]; !known {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (Bidirectional): wraps a %s (supported: SimpleRNN, LSTM, GRU)", model.ErrUnsupported, c.Name, kind)
	}
	bc, ok, err := c.inner("backward_layer")
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		// Keras: backward = the forward config with go_backwards flipped
		// and the name "backward_" + name.
		bc = &kctx{}
		*bc = *fc
		e := *fc.KerasEntry
		bc.KerasEntry = &e
		bc.cfg = map[string]json.RawMessage{}
		for k, v := range fc.cfg {
			bc.cfg[k] = v
		}
		bc.cfg["go_backwards"] = json.RawMessage("true")
		e.Name = "backward_" + fc.Name
	}
	if bc.Class != kind {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (Bidirectional): backward layer %s differs from forward %s", model.ErrUnsupported, c.Name, bc.Class, kind)
	}
	cell := map[string]string{"SimpleRNN": "simple_rnn_cell", "LSTM": "lstm_cell", "GRU": "gru_cell"}[kind]
	f, err := fc.recurrentSpec(kind, in, fc.Name+"/"+cell)
	if err != nil {
		return nil, nil, err
	}
	bc.used = fc.used
	r, err := bc.recurrentSpec(kind, in, bc.Name+"/"+cell)
	if err != nil {
		return nil, nil, err
	}
	c.used = bc.used
	l, err := Bidirectional(BidirectionalSpec{Common: c.common(), Forward: f, Backward: r, MergeMode: merge})
	if err != nil {
		return nil, nil, err
	}
	units := f.Units
	if merge == "concat" {
		units *= 2
	}
	return l, recurrentOut(in, units, f.ReturnSequences), nil
}
