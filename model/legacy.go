package model

import "fmt"

// Legacy (opset 1-6) semantics that later opsets changed, shared by the
// engine and shape inference.

// LegacyBroadcastOps are the ops that, before opset 7, broadcast only with
// attribute broadcast=1, aligning B to A from attribute axis.
var LegacyBroadcastOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true,
	"Equal": true, "Less": true, "Greater": true, "And": true, "Or": true, "Xor": true,
}

// LegacyBroadcast returns the shape B takes in op n of an opset-1-to-6
// model, whose A has shape a: with broadcast=1, B's dims aligned to A's
// from axis (by default the trailing dims, as numpy) and 1 elsewhere, so
// that numpy broadcasting then gives the old result; without it, B as it
// is (the shapes must then be equal, which numpy broadcasting accepts).
// PRelu before opset 7 applies a 1-D slope of A's channel count along
// axis 1. Other ops and opsets: b unchanged.
func LegacyBroadcast(n *Node, opset int, a, b []int) ([]int, error) {
	if opset >= 7 {
		return b, nil
	}
	if n.Op == "PRelu" {
		if len(b) == 1 && len(a) >= 2 && b[0] == a[1] && b[0] != 1 {
			out := make([]int, len(a)-1)
			for i := range out {
				out[i] = 1
			}
			out[0] = b[0]
			return out, nil
		}
		return b, nil
	}
	if !LegacyBroadcastOps[n.Op] || n.AttrInt("broadcast", 0) == 0 {
		return b, nil
	}
	axis := len(a) - len(b)
	if at, ok := n.Attrs["axis"]; ok {
		axis = int(at.Int)
		if axis < 0 {
			axis += len(a)
		}
	}
	if axis < 0 || axis+len(b) > len(a) {
		return nil, fmt.Errorf("broadcast axis %d does not fit B %v into A %v", axis, b, a)
	}
	out := make([]int, len(a)-axis)
	for i := range out {
		out[i] = 1
	}
	copy(out, b)
	return out, nil
}
