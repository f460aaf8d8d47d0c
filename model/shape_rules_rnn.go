package model

import (
	"fmt"
	"strings"
)

// RNNGates is the number of gates of each recurrent op (the first dim of
// W is gates*hidden_size): RNN 1, GRU 3 (z, r, h), LSTM 4 (i, o, f, c).
var RNNGates = map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}

// RNNDirections returns 1 for direction forward or reverse, 2 for
// bidirectional.
func RNNDirections(n *Node) (int, error) {
	switch d := strings.ToLower(n.AttrString("direction", "forward")); d {
	case "forward", "reverse":
		return 1, nil
	case "bidirectional":
		return 2, nil
	default:
		return 0, fmt.Errorf("direction %q (want forward, reverse or bidirectional)", d)
	}
}

// rnnShape is RNN, GRU and LSTM: X [seq, batch, input] (layout 1: [batch,
// seq, input]), W [dirs, gates*hidden, input], R [dirs, gates*hidden,
// hidden]; outputs Y [seq, dirs, batch, hidden] ([batch, seq, dirs,
// hidden]), Y_h and (LSTM) Y_c [dirs, batch, hidden] ([batch, dirs,
// hidden]). Any output may be omitted.
func rnnShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	w, err := c.need(1, "W")
	if err != nil {
		return nil, err
	}
	rw, err := c.need(2, "R")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) != 3 || len(w.Shape) != 3 || len(rw.Shape) != 3 {
		return nil, fmt.Errorf("X %v, W %v and R %v must be 3-D", x.Shape, w.Shape, rw.Shape)
	}
	dirs, err := RNNDirections(c.node)
	if err != nil {
		return nil, err
	}
	gates := RNNGates[c.node.Op]
	hidden := int(c.node.AttrInt("hidden_size", -1))
	if hidden < 0 {
		hidden = rw.Shape[2]
	}
	layout := c.node.AttrInt("layout", 0)
	if layout != 0 && layout != 1 {
		return nil, fmt.Errorf("layout %d (want 0 or 1)", layout)
	}
	seq, batch := x.Shape[0], x.Shape[1]
	if layout == 1 {
		seq, batch = batch, seq
	}
	for _, chk := range []struct {
		name string
		got  []int
		want []int
	}{
		{"W", w.Shape, []int{dirs, gates * hidden, x.Shape[2]}},
		{"R", rw.Shape, []int{dirs, gates * hidden, hidden}},
	} {
		for i := range chk.got {
			if hidden >= 0 && !dimsAgree(chk.got[i], chk.want[i]) {
				return nil, fmt.Errorf("%s %v does not fit %v (direction %q, %d gates, hidden_size %d)", chk.name, chk.got, chk.want, c.node.AttrString("direction", "forward"), gates, hidden)
			}
		}
	}
	y := []int{seq, dirs, batch, hidden}
	h := []int{dirs, batch, hidden}
	if layout == 1 {
		y = []int{batch, seq, dirs, hidden}
		h = []int{batch, dirs, hidden}
	}
	outs := []*Value{{DType: x.DType, Shape: y}, {DType: x.DType, Shape: h}}
	if c.node.Op == "LSTM" {
		outs = append(outs, &Value{DType: x.DType, Shape: append([]int{}, h...)})
	}
	return outs, nil
}
