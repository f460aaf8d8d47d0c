package onnx

import (
	"bufio"
	"fmt"
	"io"
	"os"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers of onnx.proto that writeModel splices around.
const (
	fieldModelGraph       = 7 // ModelProto.graph
	fieldGraphInitializer = 5 // GraphProto.initializer
	fieldTensorRawData    = 9 // TensorProto.raw_data
)

// writeModel writes the bytes marshalDeterministic(mp) returns to w without
// building them in memory: the model's fields around its graph, the graph's
// fields around its initializers, and each initializer's fields around its
// raw_data are marshalled (all small), and the raw data goes to w from the
// tensors' own memory. The deterministic marshaller writes the known fields
// of a message in field-number order, then its unknown fields; a message
// with unknown fields is marshalled whole instead of spliced. mp is
// restored before writeModel returns.
func writeModel(w io.Writer, mp *pb.ModelProto) error {
	g := mp.GetGraph()
	if g == nil || len(mp.ProtoReflect().GetUnknown()) > 0 || len(g.ProtoReflect().GetUnknown()) > 0 {
		b, err := marshalDeterministic(mp)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	mp.Graph = nil
	preM, postM, err := marshalAround(mp, fieldModelGraph)
	mp.Graph = g
	if err != nil {
		return err
	}
	inits := g.Initializer
	g.Initializer = nil
	preG, postG, err := marshalAround(g, fieldGraphInitializer)
	g.Initializer = inits
	if err != nil {
		return err
	}
	pieces := make([]piece, len(inits))
	graphSize := len(preG) + len(postG)
	for i, t := range inits {
		raw := t.RawData
		if len(raw) == 0 || len(t.ProtoReflect().GetUnknown()) > 0 {
			b, err := marshalDeterministic(t)
			if err != nil {
				return err
			}
			pieces[i] = piece{pre: b}
		} else {
			t.RawData = nil
			pre, post, err := marshalAround(t, fieldTensorRawData)
			t.RawData = raw
			if err != nil {
				return err
			}
			pieces[i] = piece{pre: pre, raw: raw, post: post}
		}
		n := pieces[i].size()
		graphSize += protowire.SizeTag(fieldGraphInitializer) + protowire.SizeBytes(n)
	}
	var b []byte
	b = append(b, preM...)
	b = protowire.AppendTag(b, fieldModelGraph, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(graphSize))
	b = append(b, preG...)
	for _, p := range pieces {
		b = protowire.AppendTag(b, fieldGraphInitializer, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(p.size()))
		b = append(b, p.pre...)
		if p.raw != nil {
			b = protowire.AppendTag(b, fieldTensorRawData, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(len(p.raw)))
			if _, err := w.Write(b); err != nil {
				return err
			}
			if _, err := w.Write(p.raw); err != nil {
				return err
			}
			b = append(b[:0], p.post...)
		}
	}
	b = append(b, postG...)
	b = append(b, postM...)
	_, err = w.Write(b)
	return err
}

// piece is one initializer's encoding: its fields before raw_data, the raw
// data (nil when the tensor is marshalled whole, in pre), and its fields
// after.
type piece struct{ pre, raw, post []byte }

// size returns the length of the tensor's encoding.
func (p piece) size() int {
	n := len(p.pre) + len(p.post)
	if p.raw != nil {
		n += protowire.SizeTag(fieldTensorRawData) + protowire.SizeBytes(len(p.raw))
	}
	return n
}

// marshalAround marshals m (whose field num is unset) and splits the bytes
// where field num goes: before it, the fields numbered below num.
func marshalAround(m proto.Message, num protowire.Number) (pre, post []byte, err error) {
	b, err := marshalDeterministic(m)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < len(b); {
		n, typ, k := protowire.ConsumeTag(b[i:])
		if k < 0 {
			return nil, nil, fmt.Errorf("re-reading the marshalled %s: %w", m.ProtoReflect().Descriptor().Name(), protowire.ParseError(k))
		}
		if n > num {
			return b[:i], b[i:], nil
		}
		v := protowire.ConsumeFieldValue(n, typ, b[i+k:])
		if v < 0 {
			return nil, nil, fmt.Errorf("re-reading the marshalled %s: %w", m.ProtoReflect().Descriptor().Name(), protowire.ParseError(v))
		}
		i += k + v
	}
	return b, nil, nil
}

// writeFile writes mp to path with writeModel, through a 1 MiB buffer (the
// small fields coalesce; a tensor's raw data bypasses it).
func writeFile(path string, mp *pb.ModelProto) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = writeModel(bw, mp)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
