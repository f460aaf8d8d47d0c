package onnx

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/xferml/xfer/model"
)

// converter writes the nodes of one layer at the target opset.
type converter struct {
	layer      *model.Layer
	src        int // the opset whose semantics the model's nodes follow
	target     int
	shapes     map[string]*model.Value
	names      map[string]bool // node names used in the whole graph
	out        []*pb.NodeProto
	inits      []*pb.TensorProto // initializers the conversion adds
	constNames []string
}

// sinceOpset is the opset that introduced an op, for ops newer than 13 (onnx
// docs/Changelog.md); a
// model using one cannot be written at an older target.
var sinceOpset = map[string]int{
	"Gelu": 20, "Mish": 18, "GroupNormalization": 18, "LayerNormalization": 17,
	"HardSwish": 14, "Trilu": 14, "CenterCropPad": 18, "Col2Im": 18,
	"BitwiseAnd": 18, "BitwiseOr": 18, "BitwiseNot": 18, "BitwiseXor": 18,
	"DFT": 17, "STFT": 17, "BlackmanWindow": 17, "HannWindow": 17, "HammingWindow": 17,
	"GridSample": 16, "AffineGrid": 20, "ImageDecoder": 20,
	"RegexFullMatch": 20, "StringConcat": 20, "StringSplit": 20,
}

// removedAt lists ops that no longer exist at or after the given opset.
var removedAt = map[string]int{"Upsample": 10, "Scatter": 11}

// reduceAxesInput is the opset at which each Reduce op takes axes as an input.
var reduceAxesInput = map[string]int{
	"ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18, "ReduceProd": 18,
	"ReduceL1": 18, "ReduceL2": 18, "ReduceLogSum": 18, "ReduceLogSumExp": 18, "ReduceSumSquare": 18,
}

// name returns a graph-unique node name: want if it is free and starts with
// "<layer>/" (so that Netron shows which layer a node belongs to), else
// "<layer>/<op>[_k]".
func (c *converter) name(want, op string) string {
	if want != "" && !c.names[want] && strings.HasPrefix(want, c.layer.Name+"/") {
		c.names[want] = true
		return want
	}
	base := c.layer.Name + "/" + op
	n := base
	for k := 1; c.names[n]; k++ {
		n = fmt.Sprintf("%s_%d", base, k)
	}
	c.names[n] = true
	return n
}

// emit appends a node.
func (c *converter) emit(name, op string, ins, outs []string, attrs map[string]model.Attr) error {
	aps, err := attrProtos(attrs)
	if err != nil {
		return err
	}
	c.out = append(c.out, &pb.NodeProto{Name: name, OpType: op, Input: slices.Clone(ins), Output: slices.Clone(outs), Attribute: aps})
	return nil
}

// constInts adds an int64 initializer named after the node and returns its name.
func (c *converter) constInts(node, role string, shape []int, v []int64) string {
	name := c.uniqueValue(node + "/" + role)
	c.inits = append(c.inits, int64Tensor(name, shape, v))
	c.constNames = append(c.constNames, name)
	return name
}

// constFloat adds a float32 scalar initializer.
func (c *converter) constFloat(node, role string, v float32) string {
	name := c.uniqueValue(node + "/" + role)
	c.inits = append(c.inits, floatTensor(name, []int{}, []float32{v}))
	c.constNames = append(c.constNames, name)
	return name
}

// uniqueValue avoids clashing with the model's values.
func (c *converter) uniqueValue(base string) string {
	n := base
	for k := 1; c.shapes[n] != nil || c.names["value:"+n]; k++ {
		n = fmt.Sprintf("%s_%d", base, k)
	}
	c.names["value:"+n] = true
	return n
}

// knownInts returns the contents of an int64 const of the layer.
func (c *converter) knownInts(name string) ([]int64, bool) {
	for _, t := range c.layer.Consts {
		if t.Name == name && t.DType == model.Int64 {
			return t.I64, true
		}
	}
	return nil, false
}

// node converts n from c.src to c.target semantics and appends the result.
func (c *converter) node(n *model.Node) error {
	if since, ok := sinceOpset[n.Op]; ok && c.target < since {
		return fmt.Errorf("onnx: %w: op %s needs opset %d or later; export with --opset %d", model.ErrUnsupported, n.Op, since, max(since, MinOpset))
	}
	if at, ok := removedAt[n.Op]; ok && c.target >= at {
		return fmt.Errorf("onnx: %w: op %s was removed at opset %d", model.ErrUnsupported, n.Op, at)
	}
	if len(n.Outputs) == 0 || n.Outputs[0] == "" {
		return fmt.Errorf("%w: node has no output", model.ErrInvalid)
	}
	name := c.name(n.Name, n.Op)
	ins := slices.Clone(n.Inputs)
	outs := slices.Clone(n.Outputs)
	attrs := maps.Clone(n.Attrs)
	if attrs == nil {
		attrs = map[string]model.Attr{}
	}
	src, tgt := c.src, c.target
	switch n.Op {
	case "Squeeze", "Unsqueeze":
		if src < 13 {
			if a, ok := attrs["axes"]; ok {
				delete(attrs, "axes")
				ins = append(ins[:1], c.constInts(name, "axes", []int{len(a.Ints)}, a.Ints))
			}
		}
	case "Softmax", "LogSoftmax", "Hardmax":
		if src < 13 {
			return c.softmax12(n, name, attrs)
		}
	case "Clip":
		if src < 11 {
			ins = ins[:1]
			minName, maxName := "", ""
			if a, ok := attrs["min"]; ok {
				minName = c.constFloat(name, "min", a.Float)
			}
			if a, ok := attrs["max"]; ok {
				maxName = c.constFloat(name, "max", a.Float)
			}
			delete(attrs, "min")
			delete(attrs, "max")
			switch {
			case maxName != "":
				ins = append(ins, minName, maxName)
			case minName != "":
				ins = append(ins, minName)
			}
		}
	case "Pad":
		if src < 11 {
			pads := attrs["pads"].Ints
			ins = append(ins[:1], c.constInts(name, "pads", []int{len(pads)}, pads))
			if a, ok := attrs["value"]; ok {
				ins = append(ins, c.constFloat(name, "value", a.Float))
			}
			delete(attrs, "pads")
			delete(attrs, "value")
		}
		if src >= 18 && tgt < 18 && len(ins) > 3 && ins[3] != "" {
			return fmt.Errorf("onnx: %w: Pad with axes needs opset 18 or later", model.ErrUnsupported)
		}
	case "Dropout":
		if len(outs) > 1 && outs[1] != "" {
			return fmt.Errorf("onnx: %w: Dropout's mask output %q is used; xfer exports inference graphs only", model.ErrUnsupported, outs[1])
		}
		outs = outs[:1]
		if src < 12 {
			if a, ok := attrs["ratio"]; ok {
				ins = append(ins[:1], c.constFloat(name, "ratio", a.Float))
			}
			delete(attrs, "ratio")
		}
	case "BatchNormalization":
		if src < 9 {
			if n.AttrInt("spatial", 1) == 0 {
				return fmt.Errorf("onnx: %w: BatchNormalization with spatial=0 (opset %d) has no equivalent after opset 9", model.ErrUnsupported, src)
			}
			delete(attrs, "spatial")
		}
		for i := 1; i < len(outs); i++ {
			if outs[i] != "" && c.used(outs[i]) {
				return fmt.Errorf("onnx: %w: BatchNormalization's training output %q is used; xfer exports inference graphs only", model.ErrUnsupported, outs[i])
			}
		}
		outs = outs[:1]
		if n.AttrInt("training_mode", 0) != 0 {
			return fmt.Errorf("onnx: %w: BatchNormalization in training mode", model.ErrUnsupported)
		}
		delete(attrs, "training_mode")
	case "Split":
		if src < 13 {
			if a, ok := attrs["split"]; ok {
				delete(attrs, "split")
				ins = append(ins[:1], c.constInts(name, "split", []int{len(a.Ints)}, a.Ints))
			}
		}
		hasSplit := len(ins) > 1 && ins[1] != ""
		if tgt >= 18 && !hasSplit {
			if _, ok := attrs["num_outputs"]; !ok {
				attrs["num_outputs"] = model.Int(int64(len(outs)))
			}
		}
		if tgt < 18 {
			delete(attrs, "num_outputs")
		}
	case "Shape":
		if tgt < 15 && (attrs["start"].Int != 0 || attrs["end"].Kind != 0) {
			return fmt.Errorf("onnx: %w: Shape with start/end needs opset 15 or later", model.ErrUnsupported)
		}
	case "Reshape":
		if tgt < 14 && n.AttrInt("allowzero", 0) != 0 {
			return fmt.Errorf("onnx: %w: Reshape with allowzero=1 needs opset 14 or later", model.ErrUnsupported)
		}
	case "AveragePool", "MaxPool":
		if n.Op == "AveragePool" && tgt < 19 {
			for _, d := range n.AttrInts("dilations", nil) {
				if d != 1 {
					return fmt.Errorf("onnx: %w: AveragePool with dilations needs opset 19 or later", model.ErrUnsupported)
				}
			}
			delete(attrs, "dilations")
		}
	}
	if first, ok := reduceAxesInput[n.Op]; ok {
		switch {
		case src < first && tgt >= first:
			if a, ok := attrs["axes"]; ok {
				delete(attrs, "axes")
				ins = append(ins[:1], c.constInts(name, "axes", []int{len(a.Ints)}, a.Ints))
			}
		case src >= first && tgt < first:
			if len(ins) > 1 && ins[1] != "" {
				axes, ok := c.knownInts(ins[1])
				if !ok {
					return fmt.Errorf("onnx: %w: %s with computed axes cannot be written before opset %d", model.ErrUnsupported, n.Op, first)
				}
				if len(axes) == 0 && n.AttrInt("noop_with_empty_axes", 0) != 0 {
					return fmt.Errorf("onnx: %w: %s with noop_with_empty_axes needs opset %d", model.ErrUnsupported, n.Op, first)
				}
				attrs["axes"] = model.Ints(axes...)
				ins = ins[:1]
			}
			delete(attrs, "noop_with_empty_axes")
		}
	}
	return c.emit(name, n.Op, ins, outs, attrs)
}

// used reports whether a value is read by any node of any layer or is a
// model output; only values with known shapes exist, so a conservative
// answer for unknown names is true.
func (c *converter) used(v string) bool {
	for _, n := range c.layer.Nodes {
		if slices.Contains(n.Inputs, v) {
			return true
		}
	}
	return slices.Contains(c.layer.Outputs, v)
}

// softmax12 writes a Softmax, LogSoftmax or Hardmax with opset 1-12 semantics
// (normalise over the input flattened to 2-D at axis, default 1) at opset 13+,
// where the op normalises over one axis (default -1).
func (c *converter) softmax12(n *model.Node, name string, attrs map[string]model.Attr) error {
	x := c.shapes[n.Inputs[0]]
	r := len(x.Shape)
	axis := int(n.AttrInt("axis", 1))
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis > r || r == 0 {
		return fmt.Errorf("%w: axis %d out of range for rank %d", model.ErrShape, n.AttrInt("axis", 1), r)
	}
	if axis >= r-1 {
		attrs["axis"] = model.Int(-1)
		return c.emit(name, n.Op, n.Inputs, n.Outputs[:1], attrs)
	}
	// Flatten to [prod(dims[:axis]), prod(dims[axis:])], normalise the last
	// axis, reshape back to the input's shape.
	shape := c.uniqueValue(name + "/shape")
	flat := c.uniqueValue(name + "/flat")
	y := c.uniqueValue(name + "/2d")
	if err := c.emit(c.name(name+"/Shape", "Shape"), "Shape", []string{n.Inputs[0]}, []string{shape}, nil); err != nil {
		return err
	}
	if err := c.emit(c.name(name+"/Flatten", "Flatten"), "Flatten", []string{n.Inputs[0]}, []string{flat}, map[string]model.Attr{"axis": model.Int(int64(axis))}); err != nil {
		return err
	}
	attrs["axis"] = model.Int(-1)
	if err := c.emit(name, n.Op, []string{flat}, []string{y}, attrs); err != nil {
		return err
	}
	return c.emit(c.name(name+"/Reshape", "Reshape"), "Reshape", []string{y, shape}, n.Outputs[:1], nil)
}
