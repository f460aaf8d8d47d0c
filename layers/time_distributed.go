package layers

import (
	"fmt"
	"slices"

	"github.com/xferml/xfer/model"
)

// TimeDistributedSpec is a Keras TimeDistributed wrapper around Inner, a
// layer built (with the wrapper's name) on the value
// TimeDistributedInput(name), which holds the input [batch, steps, d...]
// with batch and steps merged: [batch*steps, d...].
type TimeDistributedSpec struct {
	Common
	Inner      *model.Layer
	InnerShape []int // d... (known)
	OutShape   []int // the wrapped layer's output dims after the merged batch (known)
	Steps      int   // -1 when unknown
}

// TimeDistributedInput names the value a wrapped layer reads.
func TimeDistributedInput(name string) string { return name + "/merged_input" }

// TimeDistributed returns the layer: Reshape of the input to
// [batch*steps, d...], the wrapped layer's nodes and params, then Reshape
// of its output to [batch, steps, e...] (steps and batch taken from the
// input's shape at run time when steps is unknown), as Keras's
// TimeDistributed.call reshapes.
func TimeDistributed(s TimeDistributedSpec) (*model.Layer, error) {
	b, err := s.builder("TimeDistributed", 1)
	if err != nil {
		return nil, err
	}
	in := s.Inner
	if in == nil || len(in.Outputs) != 1 || in.Name != s.Name || !slices.Equal(in.Inputs, []string{TimeDistributedInput(s.Name)}) {
		return nil, fmt.Errorf("layers: layer %q: TimeDistributed needs one wrapped layer of the same name reading %s", s.Name, TimeDistributedInput(s.Name))
	}
	if model.NumElements(s.InnerShape) <= 0 || model.NumElements(s.OutShape) < 0 {
		return nil, fmt.Errorf("layers: layer %q: TimeDistributed needs known inner dims, got %v -> %v", s.Name, s.InnerShape, s.OutShape)
	}
	flat := b.node("Reshape", []string{s.Inputs[0], b.constInts("merged_shape", append([]int64{-1}, int64s(s.InnerShape)...)...)}, nil)
	// The wrapped layer's nodes read the merged input under its own name.
	b.layer.Nodes = append(b.layer.Nodes, &model.Node{Name: s.Name + "/merge", Op: "Identity", Inputs: []string{flat}, Outputs: []string{TimeDistributedInput(s.Name)}})
	b.layer.Nodes = append(b.layer.Nodes, in.Nodes...)
	b.layer.Params = append(b.layer.Params, in.Params...)
	b.layer.Consts = append(b.layer.Consts, in.Consts...)
	y := in.Outputs[0]
	var shape string
	if s.Steps > 0 {
		shape = b.constInts("split_shape", append([]int64{-1, int64(s.Steps)}, int64s(s.OutShape)...)...)
	} else {
		bt := b.node("Gather", []string{b.node("Shape", []string{s.Inputs[0]}, nil), b.constInts("batch_steps", 0, 1)}, map[string]model.Attr{"axis": model.Int(0)})
		shape = b.node("Concat", []string{bt, b.constInts("inner_dims", int64s(s.OutShape)...)}, map[string]model.Attr{"axis": model.Int(0)})
	}
	return s.done(b, b.node("Reshape", []string{y, shape}, nil)), nil
}

// readTimeDistributed reads a TimeDistributed wrapper: the wrapped layer is
// built on the input with its first two dims (batch, steps) merged, and
// its output split back.
func readTimeDistributed(c *kctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(in) < 3 {
		return nil, nil, fmt.Errorf("%w: layer %q (TimeDistributed): input %v needs a batch, a time and a feature dim", ErrKerasFormat, c.Name, in)
	}
	ic, ok, err := c.inner("layer")
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, c.errf("layer", "missing")
	}
	fn, known := c.readers[ic.Class]
	if !known || ic.Class == "TimeDistributed" || ic.Class == "Bidirectional" || IsKerasOperation(ic.Module) {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (TimeDistributed): wraps a %s (supported: the layer classes xfer reads but wrappers and models)", model.ErrUnsupported, c.Name, ic.Class)
	}
	flat := TimeDistributedInput(c.Name)
	ic.Name = c.Name // the wrapped layer's weights are the wrapper's
	ic.Inputs = []string{flat}
	ic.InShapes = [][]int{append([]int{-1}, in[2:]...)}
	inner, innerOut, err := fn(ic)
	if err != nil {
		return nil, nil, err
	}
	c.used = ic.used
	if len(innerOut) < 1 || len(inner.Outputs) != 1 {
		return nil, nil, fmt.Errorf("%w: layer %q (TimeDistributed): the wrapped %s has no single output", ErrKerasFormat, c.Name, ic.Class)
	}
	l, err := TimeDistributed(TimeDistributedSpec{Common: c.common(), Inner: inner, InnerShape: in[2:], OutShape: innerOut[1:], Steps: in[1]})
	if err != nil {
		return nil, nil, err
	}
	return l, append([]int{-1, in[1]}, innerOut[1:]...), nil
}
