package finetune

import (
	"math"
	"math/rand"
	"reflect"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// bnPrefix is a frozen prefix as prefixModel builds it, on [N, 3, 6, 6]:
// Conv with bias -> BatchNormalization -> Relu; Conv without bias ->
// BatchNormalization -> Clip (ReLU6); a Conv whose output a
// BatchNormalization and an Add both read (not foldable); a
// BatchNormalization after the Add (no Conv before it). Boundary: the last
// value.
func bnPrefix(t *testing.T) *model.Model {
	t.Helper()
	rng := rand.New(rand.NewSource(12))
	l := &model.Layer{Name: "frozen", Kind: "Frozen", Inputs: []string{"x"}, Outputs: []string{"out"}}
	param := func(name string, shape []int, lo, hi float64) {
		d := make([]float32, model.NumElements(shape))
		for i := range d {
			d[i] = float32(lo + (hi-lo)*rng.Float64())
		}
		l.Params = append(l.Params, &model.Param{Name: name, Shape: shape, Data: d})
	}
	bn := func(name, in, out string, c int) *model.Node {
		param(name+"/scale", []int{c}, 0.5, 1.5)
		param(name+"/B", []int{c}, -0.5, 0.5)
		param(name+"/mean", []int{c}, -0.5, 0.5)
		param(name+"/var", []int{c}, 0.2, 2)
		return &model.Node{Name: name, Op: "BatchNormalization", Inputs: []string{in, name + "/scale", name + "/B", name + "/mean", name + "/var"},
			Outputs: []string{out}, Attrs: map[string]model.Attr{"epsilon": model.Float(1e-3)}}
	}
	pads := map[string]model.Attr{"pads": model.Ints(1, 1, 1, 1)}
	param("c1/W", []int{4, 3, 3, 3}, -0.5, 0.5)
	param("c1/B", []int{4}, -0.5, 0.5)
	param("c2/W", []int{5, 4, 3, 3}, -0.5, 0.5)
	param("c3/W", []int{5, 5, 1, 1}, -0.5, 0.5)
	l.Nodes = []*model.Node{
		{Name: "c1", Op: "Conv", Inputs: []string{"x", "c1/W", "c1/B"}, Outputs: []string{"c1/y"}, Attrs: pads},
		bn("bn1", "c1/y", "bn1/y", 4),
		{Name: "r1", Op: "Relu", Inputs: []string{"bn1/y"}, Outputs: []string{"r1/y"}},
		{Name: "c2", Op: "Conv", Inputs: []string{"r1/y", "c2/W"}, Outputs: []string{"c2/y"}, Attrs: pads},
		bn("bn2", "c2/y", "bn2/y", 5),
		{Name: "r2", Op: "Clip", Inputs: []string{"bn2/y", "", ""}, Outputs: []string{"r2/y"}, Attrs: map[string]model.Attr{}},
		{Name: "c3", Op: "Conv", Inputs: []string{"r2/y", "c3/W"}, Outputs: []string{"c3/y"}},
		bn("bn3", "c3/y", "bn3/y", 5),
		{Name: "add", Op: "Add", Inputs: []string{"bn3/y", "c3/y"}, Outputs: []string{"add/y"}},
		bn("bn4", "add/y", "out", 5),
	}
	m := &model.Model{Name: "p/frozen", Opset: model.DefaultOpset, Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 3, 6, 6}}},
		Outputs: []string{"out"}, Layers: []*model.Layer{l}}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFoldPrefixBN: the two BatchNormalizations that alone read a Conv
// fold, the other two stay; the folded prefix computes what the original
// does to float32 rounding; the original is not modified.
func TestFoldPrefixBN(t *testing.T) {
	p := bnPrefix(t)
	before := p.Clone()
	f, n := foldPrefixBN(p)
	if n != 2 {
		t.Errorf("foldPrefixBN folded %d BatchNormalizations; want 2 (bn1, bn2)", n)
	}
	var ops []string
	for _, nd := range f.Layers[0].Nodes {
		ops = append(ops, nd.Op)
	}
	if want := []string{"Conv", "Relu", "Conv", "Clip", "Conv", "BatchNormalization", "Add", "BatchNormalization"}; !reflect.DeepEqual(ops, want) {
		t.Errorf("folded prefix ops %v; want %v", ops, want)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("folded prefix: %v", err)
	}
	if !reflect.DeepEqual(p, before) {
		t.Errorf("foldPrefixBN modified its argument")
	}
	x := &model.Tensor{DType: model.Float32, Shape: []int{2, 3, 6, 6}, F32: make([]float32, 2*3*36)}
	rng := rand.New(rand.NewSource(3))
	for i := range x.F32 {
		x.F32[i] = float32(rng.NormFloat64())
	}
	run := func(m *model.Model) []float32 {
		s, err := engine.New(m)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Run(map[string]*model.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		return out["out"].F32
	}
	want, got := run(p), run(f)
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		// Folding reorders a few float32 roundings per value: 1e-5 of the
		// largest magnitude is about 100 ulps of it.
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*scale {
			t.Fatalf("output %d = %v folded; %v unfolded (largest |value| %v)", i, got[i], want[i], scale)
		}
	}
}

// TestFoldPrefixBNTrainingMode: a BatchNormalization with training_mode
// set, or with training outputs, is not folded.
func TestFoldPrefixBNTrainingMode(t *testing.T) {
	for _, edit := range []func(n *model.Node){
		func(n *model.Node) { n.Attrs["training_mode"] = model.Int(1) },
		func(n *model.Node) { n.Outputs = append(n.Outputs, "bn/mean_out") },
	} {
		p := bnPrefix(t).Clone()
		for _, n := range p.Layers[0].Nodes {
			if n.Op == "BatchNormalization" {
				edit(n)
			}
		}
		if _, n := foldPrefixBN(p); n != 0 {
			t.Errorf("foldPrefixBN folded %d BatchNormalizations in training form; want 0", n)
		}
	}
}
