package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/model"
)

func f32(shape []int, v ...float32) *model.Tensor {
	return &model.Tensor{DType: model.Float32, Shape: shape, F32: v}
}

func i64(shape []int, v ...int64) *model.Tensor {
	return &model.Tensor{DType: model.Int64, Shape: shape, I64: v}
}

// opCase is one single-node model: inputs (nil for an omitted optional
// input; indices in consts become layer consts instead of graph inputs),
// expected outputs.
type opCase struct {
	name   string
	op     string
	opset  int
	attrs  map[string]model.Attr
	ins    []*model.Tensor
	consts []int
	want   []*model.Tensor
}

// nodeModel builds the one-node model of c.
func nodeModel(c opCase) (*model.Model, map[string]*model.Tensor) {
	m := &model.Model{Name: c.name, Opset: c.opset}
	l := &model.Layer{Name: "l", Kind: c.op}
	n := &model.Node{Name: "n", Op: c.op, Attrs: c.attrs}
	feeds := map[string]*model.Tensor{}
	for i, t := range c.ins {
		if t == nil {
			n.Inputs = append(n.Inputs, "")
			continue
		}
		name := fmt.Sprintf("in%d", i)
		n.Inputs = append(n.Inputs, name)
		if slices.Contains(c.consts, i) {
			ct := t.Clone()
			ct.Name = name
			l.Consts = append(l.Consts, ct)
			continue
		}
		m.Inputs = append(m.Inputs, &model.Value{Name: name, DType: t.DType, Shape: slices.Clone(t.Shape)})
		l.Inputs = append(l.Inputs, name)
		feeds[name] = t
	}
	for i := range c.want {
		name := fmt.Sprintf("out%d", i)
		n.Outputs = append(n.Outputs, name)
		l.Outputs = append(l.Outputs, name)
		m.Outputs = append(m.Outputs, name)
	}
	l.Nodes = []*model.Node{n}
	m.Layers = []*model.Layer{l}
	return m, feeds
}

// runCases runs each case through New and Run and compares every output by
// dtype, shape and values within 1e-6 + 1e-5*|want| (int64 exactly).
func runCases(t *testing.T, cases []opCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, feeds := nodeModel(c)
			s, err := New(m)
			if err != nil {
				t.Fatalf("New(%s) = %v", c.name, err)
			}
			got, err := s.Run(feeds)
			if err != nil {
				t.Fatalf("Run(%s) = %v", c.name, err)
			}
			for i, w := range c.want {
				g := got[fmt.Sprintf("out%d", i)]
				if g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) {
					t.Fatalf("%s output %d = %v %v; want %v %v", c.op, i, g.DType, g.Shape, w.DType, w.Shape)
				}
				if !slices.Equal(g.I64, w.I64) || !close32(g.F32, w.F32, 1e-6, 1e-5) {
					t.Errorf("%s output %d = %v%v; want %v%v", c.op, i, g.F32, g.I64, w.F32, w.I64)
				}
			}
		})
	}
}

// runError expects New or Run of c to fail with a message containing want.
func runError(t *testing.T, c opCase, want string) {
	t.Helper()
	m, feeds := nodeModel(c)
	s, err := New(m)
	if err == nil {
		_, err = s.Run(feeds)
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error = %v; want one containing %q", c.name, err, want)
	}
}

// ti is a tensor of an integer dtype (or bool), held as int64.
func ti(dt model.DType, shape []int, v ...int64) *model.Tensor {
	return &model.Tensor{DType: dt, Shape: shape, I64: v}
}

// tf is a tensor of a float dtype other than float32, held as float32.
func tf(dt model.DType, shape []int, v ...float32) *model.Tensor {
	return &model.Tensor{DType: dt, Shape: shape, F32: v}
}
