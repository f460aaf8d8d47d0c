package model

import (
	"fmt"
	"slices"
)

// Shape rules of the ops Keras's recurrent layers lower to (ONNX operators
// docs).

// recurrentShape is RNN, GRU and LSTM: X [seq, batch, input] (layout 0) or
// [batch, seq, input] (layout 1), W [dirs, gates*hidden, input]; outputs Y
// [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]), Y_h
// (and LSTM's Y_c) [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]).
func recurrentShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	w, err := c.need(1, "W")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) != 3 || len(w.Shape) != 3 {
		return nil, fmt.Errorf("X %v and W %v must have rank 3", x.Shape, w.Shape)
	}
	gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[c.node.Op]
	dirs := 1
	switch d := c.node.AttrString("direction", "forward"); d {
	case "forward", "reverse":
	case "bidirectional":
		dirs = 2
	default:
		return nil, fmt.Errorf("direction %q (forward, reverse, bidirectional)", d)
	}
	hidden := int(c.node.AttrInt("hidden_size", -1))
	if w.Shape[0] >= 0 && w.Shape[0] != dirs || w.Shape[1] >= 0 && hidden > 0 && w.Shape[1] != gates*hidden {
		return nil, fmt.Errorf("W %v does not fit %d direction(s) of %d gates of hidden_size %d", w.Shape, dirs, gates, hidden)
	}
	if hidden <= 0 && w.Shape[1] >= 0 {
		hidden = w.Shape[1] / gates
	}
	if x.Shape[2] >= 0 && w.Shape[2] >= 0 && x.Shape[2] != w.Shape[2] {
		return nil, fmt.Errorf("X %v has input size %d, W %v %d", x.Shape, x.Shape[2], w.Shape, w.Shape[2])
	}
	seq, batch := x.Shape[0], x.Shape[1]
	layout := c.node.AttrInt("layout", 0)
	if layout == 1 {
		seq, batch = batch, seq
	}
	y := []int{seq, dirs, batch, hidden}
	state := []int{dirs, batch, hidden}
	if layout == 1 {
		y = []int{batch, seq, dirs, hidden}
		state = []int{batch, dirs, hidden}
	}
	outs := []*Value{{DType: x.DType, Shape: y}, {DType: x.DType, Shape: state}}
	if c.node.Op == "LSTM" {
		outs = append(outs, &Value{DType: x.DType, Shape: slices.Clone(state)})
	}
	return outs, nil
}
