package layers

import (
	"fmt"
	"slices"

	"github.com/xferml/xfer/model"
)

// builder accumulates the nodes of one layer and names their values
// "<layer>/<op><n>" so that names are unique within a model whose layer
// names are unique.
type builder struct {
	layer *model.Layer
	count int
}

func newBuilder(name, kind string, inputs []string, trainable bool) *builder {
	return &builder{layer: &model.Layer{Name: name, Kind: kind, Inputs: inputs, Trainable: trainable}}
}

// node appends an op reading ins and returns the name of its first output.
func (b *builder) node(op string, ins []string, attrs map[string]model.Attr) string {
	b.count++
	name := fmt.Sprintf("%s/%s_%d", b.layer.Name, op, b.count)
	out := name + ":0"
	b.layer.Nodes = append(b.layer.Nodes, &model.Node{Name: name, Op: op, Inputs: ins, Outputs: []string{out}, Attrs: cloneAttrs(attrs)})
	return out
}

// nodeOuts appends an op with n outputs and returns their names.
func (b *builder) nodeOuts(op string, ins []string, attrs map[string]model.Attr, n int) []string {
	b.node(op, ins, attrs)
	nd := b.layer.Nodes[len(b.layer.Nodes)-1]
	for i := 1; i < n; i++ {
		nd.Outputs = append(nd.Outputs, fmt.Sprintf("%s:%d", nd.Name, i))
	}
	return append([]string(nil), nd.Outputs...)
}

// param adds a param with role and shape; data may be nil for zeros.
func (b *builder) param(role string, shape []int, data []float32, init *model.Initializer, state bool) (string, error) {
	n := model.NumElements(shape)
	if n < 0 {
		return "", fmt.Errorf("layers: layer %q: weight %q: bad shape %v", b.layer.Name, role, shape)
	}
	if data == nil {
		data = make([]float32, n)
	}
	if len(data) != n {
		return "", fmt.Errorf("layers: layer %q: weight %q: shape %v needs %d values, got %d", b.layer.Name, role, shape, n, len(data))
	}
	p := &model.Param{
		Name: b.layer.Name + "/" + role, Role: role, Shape: append([]int(nil), shape...), Data: data,
		Trainable: b.layer.Trainable && !state, State: state, Init: init,
	}
	b.layer.Params = append(b.layer.Params, p)
	return p.Name, nil
}

// constInts adds an int64 const and returns its name. A second call with
// the same role and values returns the first const.
func (b *builder) constInts(role string, v ...int64) string {
	for _, t := range b.layer.Consts {
		if t.Name == b.layer.Name+"/"+role && t.DType == model.Int64 && slices.Equal(t.I64, v) {
			return t.Name
		}
	}
	t := &model.Tensor{Name: b.layer.Name + "/" + role, DType: model.Int64, Shape: []int{len(v)}, I64: append([]int64(nil), v...)}
	b.layer.Consts = append(b.layer.Consts, t)
	return t.Name
}

// finish names the layer's outputs and returns the layer.
func (b *builder) finish(outs ...string) *model.Layer {
	b.layer.Outputs = outs
	return b.layer
}

func cloneAttrs(a map[string]model.Attr) map[string]model.Attr {
	if a == nil {
		return nil
	}
	c := make(map[string]model.Attr, len(a))
	for k, v := range a {
		c[k] = v
	}
	return c
}
