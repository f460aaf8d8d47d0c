package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"unsafe"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/internal/onnxmeta"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// Range of target opsets (issue 3: export at opsets 13 to 21).
const (
	MinOpset     = 13
	MaxOpset     = 21
	DefaultOpset = model.DefaultOpset
)

// Options controls the export.
type Options struct {
	// Opset is the target default-domain opset, 13 to 21; 0 means 17.
	Opset int
}

// irVersion maps an opset to the IR version that introduced it
// (onnx/docs/Versioning.md, "Released Versions"): the lowest IR a runtime
// needs to load the file.
var irVersion = map[int]int64{13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}

// ONNX element types (onnx.proto TensorProto.DataType).
const (
	dtFloat = 1
	dtInt64 = 7
)

// WriteFile writes m to path atomically: the bytes Marshal returns, streamed
// to the file with each initializer's raw data straight from the param's
// memory (the encoding is never held whole).
func WriteFile(path string, m *model.Model, opts Options) error {
	mp, err := Build(m, opts)
	if err != nil {
		return err
	}
	err = atomicfile.Write(path, func(tmp string) error {
		if err := writeFile(tmp, mp); err != nil {
			return fmt.Errorf("onnx: model %q: %w", m.Name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// Marshal returns the ONNX encoding of m at opts.Opset. m is not modified.
func Marshal(m *model.Model, opts Options) ([]byte, error) {
	mp, err := Build(m, opts)
	if err != nil {
		return nil, err
	}
	data, err := marshalDeterministic(mp)
	if err != nil {
		return nil, fmt.Errorf("onnx: model %q: %w", m.Name, err)
	}
	return data, nil
}

// Build returns the ONNX ModelProto of m at opts.Opset.
func Build(m *model.Model, opts Options) (*pb.ModelProto, error) {
	target := opts.Opset
	if target == 0 {
		target = DefaultOpset
	}
	if target < MinOpset || target > MaxOpset {
		return nil, fmt.Errorf("onnx: %w: opset %d; xfer writes opsets %d to %d", model.ErrUnsupported, target, MinOpset, MaxOpset)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: model %q: %w", m.Name, err)
	}
	shapes, err := m.InferShapes()
	if err != nil {
		return nil, fmt.Errorf("onnx: model %q: %w", m.Name, err)
	}
	src := m.Opset
	if src == 0 {
		src = model.DefaultOpset
	}
	if src < 7 {
		// Ops of opsets 1-6 (broadcast attributes, is_test, consumed_inputs)
		// have no conversion here.
		return nil, fmt.Errorf("onnx: model %q: %w: the model is at opset %d; xfer writes models read at opset 7 or later (convert it with onnx.version_converter first)", m.Name, model.ErrUnsupported, src)
	}
	if target < src {
		// Older op versions accept fewer element types (Add takes uint8
		// from opset 14): xfer converts float32/int64 graphs only.
		names := slices.Sorted(maps.Keys(shapes))
		for _, name := range names {
			if dt := shapes[name].DType; dt != model.Float32 && dt != model.Int64 {
				return nil, fmt.Errorf("onnx: model %q: %w: writing opset %d from opset %d: value %q is %v; xfer converts graphs of float32 and int64 values only to older opsets (export at opset %d or later)", m.Name, model.ErrUnsupported, target, src, name, dt, src)
			}
		}
	}
	g := &pb.GraphProto{Name: m.Name}
	if g.Name == "" {
		g.Name = "xfer"
	}
	for _, v := range m.Inputs {
		g.Input = append(g.Input, valueInfo(v.Name, v.DType, v.Shape))
	}
	for _, o := range m.Outputs {
		v := shapes[o]
		g.Output = append(g.Output, valueInfo(o, v.DType, v.Shape))
	}
	nodeNames := map[string]bool{}
	var layersMeta []onnxmeta.Layer
	trainable := map[string]bool{}
	for _, l := range m.Layers {
		lm := onnxmeta.Layer{Name: l.Name, Kind: l.Kind, Trainable: l.Trainable, Config: l.Config,
			Inputs: slices.Clone(l.Inputs), Outputs: slices.Clone(l.Outputs), Scope: l.Scope, Shares: l.Shares}
		trainable[l.Name] = l.Trainable
		for _, p := range l.Params {
			g.Initializer = append(g.Initializer, floatTensor(p.Name, p.Shape, p.Data))
			lm.Params = append(lm.Params, onnxmeta.Param{Name: p.Name, Role: p.Role, State: p.State, Init: p.Init})
		}
		for _, t := range l.Consts {
			tp, err := tensorProto(t)
			if err != nil {
				return nil, fmt.Errorf("onnx: model %q: layer %q: %w", m.Name, l.Name, err)
			}
			g.Initializer = append(g.Initializer, tp)
			lm.Consts = append(lm.Consts, t.Name)
		}
		cv := &converter{layer: l, src: src, target: target, shapes: shapes, names: nodeNames}
		for _, n := range l.Nodes {
			if err := cv.node(n); err != nil {
				return nil, fmt.Errorf("onnx: model %q: layer %q: node %q (%s): %w", m.Name, l.Name, n.Name, n.Op, err)
			}
		}
		g.Initializer = append(g.Initializer, cv.inits...)
		for _, np := range cv.out {
			lm.Nodes = append(lm.Nodes, np.GetName())
		}
		lm.Consts = append(lm.Consts, cv.constNames...)
		g.Node = append(g.Node, cv.out...)
		layersMeta = append(layersMeta, lm)
	}
	props := map[string]string{}
	put := func(key string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("onnx: model %q: metadata %s: %w", m.Name, key, err)
		}
		props[key] = string(b)
		return nil
	}
	if err := put(onnxmeta.KeyLayers, layersMeta); err != nil {
		return nil, err
	}
	if err := put(onnxmeta.KeyTrainable, trainable); err != nil {
		return nil, err
	}
	if len(m.Submodels) > 0 {
		subs := make([]onnxmeta.Submodel, len(m.Submodels))
		for i, s := range m.Submodels {
			subs[i] = onnxmeta.Submodel{Name: s.Name, Kind: s.Kind, Trainable: s.Trainable, Training: s.Training,
				Inputs: s.Inputs, Outputs: s.Outputs, Config: s.Config}
		}
		if err := put(onnxmeta.KeySubmodels, subs); err != nil {
			return nil, err
		}
	}
	if len(m.History) > 0 {
		if err := put(onnxmeta.KeyHistory, m.History); err != nil {
			return nil, err
		}
	}
	// The reader sets "source" and "format" from the file it reads and
	// "origin" from KeySource, so they are not repeated in KeyMeta: a model
	// read back and written again gives the same bytes.
	meta := map[string]string{}
	for k, v := range m.Meta {
		if k != "source" && k != "format" && k != "origin" {
			meta[k] = v
		}
	}
	if len(meta) > 0 {
		if err := put(onnxmeta.KeyMeta, meta); err != nil {
			return nil, err
		}
	}
	if src := m.Meta["origin"]; src != "" {
		props[onnxmeta.KeySource] = src
	} else if src := m.Meta["source"]; src != "" {
		props[onnxmeta.KeySource] = src
	}
	if m.Sequential {
		props[onnxmeta.KeySequential] = "true"
	}
	mp := &pb.ModelProto{
		IrVersion:       irVersion[target],
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: "", Version: int64(target)}},
		ProducerName:    "xfer",
		ProducerVersion: "0.1",
		Graph:           g,
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mp.MetadataProps = append(mp.MetadataProps, &pb.StringStringEntryProto{Key: k, Value: props[k]})
	}
	return mp, nil
}

// valueInfo describes a graph input or output; an unknown leading dim is the
// batch, written as the symbolic dim "N", other unknown dims have no value.
func valueInfo(name string, dt model.DType, shape []int) *pb.ValueInfoProto {
	sh := &pb.TensorShapeProto{}
	for i, d := range shape {
		dim := &pb.TensorShapeProto_Dimension{}
		switch {
		case d >= 0:
			dim.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case i == 0:
			dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		}
		sh.Dim = append(sh.Dim, dim)
	}
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: elemType(dt), Shape: sh}}}}
}

func elemType(dt model.DType) int32 {
	if dt.Valid() {
		return dt.ONNX()
	}
	return dtFloat
}

func dims(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}

// littleEndian reports whether this machine stores a float32 the way ONNX's
// raw_data does.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// floatTensor encodes float32 data as raw little-endian bytes.
func floatTensor(name string, shape []int, data []float32) *pb.TensorProto {
	if littleEndian && len(data) > 0 {
		// The machine's bytes are ONNX's: alias the params instead of
		// copying them (export memory stays near model + file, issue 6).
		// Marshal only reads them.
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
		return &pb.TensorProto{Name: name, Dims: dims(shape), DataType: dtFloat, RawData: raw}
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &pb.TensorProto{Name: name, Dims: dims(shape), DataType: dtFloat, RawData: raw}
}

// int64Tensor encodes int64 data as raw little-endian bytes.
func int64Tensor(name string, shape []int, data []int64) *pb.TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &pb.TensorProto{Name: name, Dims: dims(shape), DataType: dtInt64, RawData: raw}
}

// tensorProto encodes a const in its own element type (float32 data
// aliased where it can be).
func tensorProto(t *model.Tensor) (*pb.TensorProto, error) {
	switch t.DType {
	case model.Int64:
		return int64Tensor(t.Name, t.Shape, t.I64), nil
	case model.Float32:
		return floatTensor(t.Name, t.Shape, t.F32), nil
	}
	return tensorio.ToProto(t)
}

// attrProtos converts attributes, sorted by name for deterministic output.
func attrProtos(attrs map[string]model.Attr) ([]*pb.AttributeProto, error) {
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []*pb.AttributeProto
	for _, k := range names {
		a := attrs[k]
		ap := &pb.AttributeProto{Name: k}
		switch a.Kind {
		case model.AttrInt:
			ap.Type, ap.I = pb.AttributeProto_INT, a.Int
		case model.AttrFloat:
			ap.Type, ap.F = pb.AttributeProto_FLOAT, a.Float
		case model.AttrString:
			ap.Type, ap.S = pb.AttributeProto_STRING, []byte(a.String)
		case model.AttrInts:
			ap.Type, ap.Ints = pb.AttributeProto_INTS, slices.Clone(a.Ints)
		case model.AttrFloats:
			ap.Type, ap.Floats = pb.AttributeProto_FLOATS, slices.Clone(a.Floats)
		case model.AttrStrings:
			ap.Type = pb.AttributeProto_STRINGS
			for _, s := range a.Strings {
				ap.Strings = append(ap.Strings, []byte(s))
			}
		case model.AttrTensor:
			if a.Tensor == nil {
				return nil, fmt.Errorf("attribute %q: tensor attribute without a tensor", k)
			}
			tp, err := tensorProto(a.Tensor)
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %w", k, err)
			}
			ap.Type, ap.T = pb.AttributeProto_TENSOR, tp
		default:
			return nil, fmt.Errorf("attribute %q: unknown kind %d", k, a.Kind)
		}
		keepZero(ap)
		out = append(out, ap)
	}
	return out, nil
}

// keepZero writes a zero i, f or s explicitly. gonnx's types are proto3, which
// omits zero scalars, but onnx.proto is proto2 and ONNX's C++ shape inference
// tests has_i(): an omitted axis=0 or keepdims=0 reads as absent and takes
// the op's default. The field goes in as an unknown field, which the
// deterministic marshaller copies verbatim.
func keepZero(ap *pb.AttributeProto) {
	var b []byte
	switch {
	case ap.Type == pb.AttributeProto_INT && ap.I == 0:
		b = protowire.AppendTag(b, 3, protowire.VarintType) // AttributeProto.i = 3
		b = protowire.AppendVarint(b, 0)
	case ap.Type == pb.AttributeProto_FLOAT && math.Float32bits(ap.F) == 0:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type) // AttributeProto.f = 2
		b = protowire.AppendFixed32(b, 0)
	case ap.Type == pb.AttributeProto_STRING && len(ap.S) == 0:
		b = protowire.AppendTag(b, 4, protowire.BytesType) // AttributeProto.s = 4
		b = protowire.AppendBytes(b, nil)
	default:
		return
	}
	ap.ProtoReflect().SetUnknown(b)
}

// marshalDeterministic encodes any message of the ONNX schema
// deterministically.
func marshalDeterministic(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}
