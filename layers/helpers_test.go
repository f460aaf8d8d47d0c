package layers_test

import (
	"math"
	"slices"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// run builds a one-layer model whose graph inputs are the layer's inputs,
// with the given shapes (batch first), and runs it on xs.
func run(t *testing.T, l *model.Layer, shapes [][]int, xs ...[]float32) *model.Tensor {
	t.Helper()
	m := &model.Model{Name: "t", Opset: model.DefaultOpset, Layers: []*model.Layer{l}, Outputs: l.Outputs}
	feeds := map[string]*model.Tensor{}
	for i, in := range l.Inputs {
		m.Inputs = append(m.Inputs, &model.Value{Name: in, DType: model.Float32, Shape: append([]int{-1}, shapes[i][1:]...)})
		feeds[in] = &model.Tensor{DType: model.Float32, Shape: shapes[i], F32: xs[i]}
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	out, err := s.Run(feeds)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out[l.Outputs[0]]
}

// near reports whether got and want agree within 1e-5 absolute plus 1e-5
// relative (float32 element-wise functions).
func near(got, want float64) bool {
	if math.IsInf(want, 0) || math.IsNaN(want) {
		return got == want || (math.IsNaN(got) && math.IsNaN(want))
	}
	return math.Abs(got-want) <= 1e-5+1e-5*math.Abs(want)
}

func checkClose(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values; want %d", what, len(got), len(want))
	}
	for i := range want {
		if !near(float64(got[i]), want[i]) {
			t.Errorf("%s[%d] = %v; want %v", what, i, got[i], want[i])
		}
	}
}

func ops(l *model.Layer) []string {
	var out []string
	for _, n := range l.Nodes {
		out = append(out, n.Op)
	}
	return out
}

func nodeOf(t *testing.T, l *model.Layer, op string) *model.Node {
	t.Helper()
	for _, n := range l.Nodes {
		if n.Op == op {
			return n
		}
	}
	t.Fatalf("layer %s has no %s node (ops %v)", l.Name, op, ops(l))
	return nil
}

func equalOps(got []string, want ...string) bool { return slices.Equal(got, want) }
