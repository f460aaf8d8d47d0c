package keras

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/channelslast"
	"github.com/xferml/xfer/engine"
	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// graph builds ONNX-style models (layers without Keras config) by hand.
type graph struct {
	m   *model.Model
	rng *rand.Rand
}

func newGraph(inShape ...int) *graph {
	return &graph{
		m: &model.Model{Name: "onnx_like", Opset: 17, Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: append([]int{-1}, inShape...)}},
			Meta: map[string]string{"format": "onnx"}},
		rng: rand.New(rand.NewPCG(7, 11)),
	}
}

// param adds a random param (values in [-1, 1)) to l.
func (g *graph) param(l *model.Layer, role string, shape ...int) string {
	n := model.NumElements(shape)
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(g.rng.Float64()*2 - 1)
	}
	if role == "moving_variance" {
		for i := range d {
			d[i] = d[i]*d[i] + 0.5
		}
	}
	p := &model.Param{Name: l.Name + "/" + role, Role: role, Shape: shape, Data: d, Trainable: l.Trainable}
	l.Params = append(l.Params, p)
	return p.Name
}

// node appends an op to l and returns its output name.
func node(l *model.Layer, op string, ins []string, attrs map[string]model.Attr) string {
	out := l.Name + "/" + op + "_" + string(rune('a'+len(l.Nodes)))
	l.Nodes = append(l.Nodes, &model.Node{Name: out, Op: op, Inputs: ins, Outputs: []string{out}, Attrs: attrs})
	return out
}

func (g *graph) layer(name string, ins ...string) *model.Layer {
	l := &model.Layer{Name: name, Kind: "", Inputs: ins, Trainable: true}
	g.m.Layers = append(g.m.Layers, l)
	return l
}

func (g *graph) finish(l *model.Layer, out string) string {
	l.Outputs = []string{out}
	return out
}

// toKeras rewrites an ONNX-style model (layers without Keras configs) as
// Keras layers, as formats.ToKeras does before a .h5/.keras write: the
// exporter writes Keras layers only.
func toKeras(t testing.TB, m *model.Model) *model.Model {
	t.Helper()
	k, _, err := channelslast.Convert(m, channelslast.Options{})
	if err != nil {
		t.Fatalf("channelslast.Convert: %v", err)
	}
	return k
}

// onnxMLP is a PyTorch-export-like functional model: Flatten, Gemm
// (transB=1) + Relu, BatchNormalization, a branch Gemm (transB=0, alpha and
// beta) + swish and MatMul + Add + LeakyRelu layer, Add and Concat merges,
// Dropout, Identity, MatMul + Add + Softmax.
func onnxMLP() *model.Model {
	g := newGraph(2, 3)
	l := g.layer("flatten", "x")
	h := g.finish(l, node(l, "Flatten", []string{"x"}, map[string]model.Attr{"axis": model.Int(1)}))
	l = g.layer("dense", h)
	w := g.param(l, "kernel", 8, 6)
	b := g.param(l, "bias", 8)
	y := node(l, "Gemm", []string{h, w, b}, map[string]model.Attr{"transB": model.Int(1)})
	h1 := g.finish(l, node(l, "Relu", []string{y}, nil))
	l = g.layer("batch_normalization", h1)
	ins := []string{h1}
	for _, r := range []string{"gamma", "beta", "moving_mean", "moving_variance"} {
		ins = append(ins, g.param(l, r, 8))
	}
	l.Params[2].State, l.Params[3].State = true, true
	l.Params[2].Trainable, l.Params[3].Trainable = false, false
	h2 := g.finish(l, node(l, "BatchNormalization", ins, map[string]model.Attr{"epsilon": model.Float(1e-3), "momentum": model.Float(0.99)}))
	l = g.layer("dense_1", h2)
	l.Trainable = false
	w = g.param(l, "kernel", 8, 8)
	b = g.param(l, "bias", 8)
	y = node(l, "Gemm", []string{h2, w, b}, map[string]model.Attr{"alpha": model.Float(0.5), "beta": model.Float(2)})
	s := node(l, "Sigmoid", []string{y}, nil)
	a := g.finish(l, node(l, "Mul", []string{y, s}, nil))
	l = g.layer("dense_2", h2)
	w = g.param(l, "kernel", 8, 8)
	b = g.param(l, "bias", 8)
	y = node(l, "MatMul", []string{h2, w}, nil)
	bb := g.finish(l, node(l, "Add", []string{b, y}, nil))
	l = g.layer("leaky_re_lu", bb)
	c := g.finish(l, node(l, "LeakyRelu", []string{bb}, map[string]model.Attr{"alpha": model.Float(0.2)}))
	l = g.layer("add", a, c)
	d := g.finish(l, node(l, "Add", []string{a, c}, nil))
	l = g.layer("concatenate", d, h2)
	e := g.finish(l, node(l, "Concat", []string{d, h2}, map[string]model.Attr{"axis": model.Int(1)}))
	l = g.layer("dropout", e)
	f := g.finish(l, node(l, "Dropout", []string{e}, map[string]model.Attr{"ratio": model.Float(0.3)}))
	l = g.layer("activation", f)
	f2 := g.finish(l, node(l, "Identity", []string{f}, nil))
	l = g.layer("dense_3", f2)
	w = g.param(l, "kernel", 16, 4)
	b = g.param(l, "bias", 4)
	y = node(l, "MatMul", []string{f2, w}, nil)
	y = node(l, "Add", []string{y, b}, nil)
	out := g.finish(l, node(l, "Softmax", []string{y}, map[string]model.Attr{"axis": model.Int(-1)}))
	g.m.Outputs = []string{out}
	return g.m
}

// onnxConv is a channels-last conv stack whose convolutions are ONNX Conv
// wrapped in Transposes: a Conv2D with an OIHW kernel read directly and
// explicit pads equal to TensorFlow's "same", stride 2; a Conv1D over the
// flattened rows with an HWIO kernel reaching Conv through a Transpose.
func onnxConv() *model.Model {
	g := newGraph(7, 7, 2)
	g.m.Sequential = true
	l := g.layer("conv2d", "x")
	t := node(l, "Transpose", []string{"x"}, map[string]model.Attr{"perm": model.Ints(0, 3, 1, 2)})
	w := g.param(l, "kernel", 3, 2, 3, 3)
	b := g.param(l, "bias", 3)
	// n=7, k=3, s=2: total padding (ceil(7/2)-1)*2+3-7 = 2, 1 before, 1 after.
	y := node(l, "Conv", []string{t, w, b}, map[string]model.Attr{"strides": model.Ints(2, 2), "pads": model.Ints(1, 1, 1, 1), "kernel_shape": model.Ints(3, 3)})
	y = node(l, "Transpose", []string{y}, map[string]model.Attr{"perm": model.Ints(0, 2, 3, 1)})
	h := g.finish(l, node(l, "Tanh", []string{y}, nil))
	l = g.layer("flatten", h)
	f := g.finish(l, node(l, "Flatten", []string{h}, nil))
	l = g.layer("dense", f)
	w = g.param(l, "kernel", 48, 2)
	y = node(l, "MatMul", []string{f, w}, nil)
	out := g.finish(l, node(l, "Sigmoid", []string{y}, nil))
	g.m.Outputs = []string{out}
	return g.m
}

// onnxConv1D is a Conv1D (valid, dilation 2, no bias) whose HWIO kernel
// reaches Conv through a Transpose, then Flatten and
// a Gemm head.
func onnxConv1D() *model.Model {
	g := newGraph(9, 4)
	l := g.layer("conv1d", "x")
	t := node(l, "Transpose", []string{"x"}, map[string]model.Attr{"perm": model.Ints(0, 2, 1)})
	w := g.param(l, "kernel", 3, 4, 5) // [k, in, out], Keras layout
	wt := node(l, "Transpose", []string{w}, map[string]model.Attr{"perm": model.Ints(2, 1, 0)})
	y := node(l, "Conv", []string{t, wt}, map[string]model.Attr{"dilations": model.Ints(2)})
	h := g.finish(l, node(l, "Transpose", []string{y}, map[string]model.Attr{"perm": model.Ints(0, 2, 1)}))
	l = g.layer("flatten", h)
	f := g.finish(l, node(l, "Flatten", []string{h}, nil))
	l = g.layer("dense", f)
	w = g.param(l, "kernel", 3, 25)
	b := g.param(l, "bias", 1, 3)
	out := g.finish(l, node(l, "Gemm", []string{f, w, b}, map[string]model.Attr{"transB": model.Int(1)}))
	g.m.Outputs = []string{out}
	return g.m
}

// TestONNXOrigin writes models whose layers have no Keras config, rewritten
// as Keras layers by channelslast, and checks that importers/keras reads
// back Keras layers with the source's names, flags and parameter counts
// that predict the same. (Identity builds no layer; a Gemm's activation
// folds into its Dense.)
func TestONNXOrigin(t *testing.T) {
	tests := []struct {
		name  string
		m     *model.Model
		kinds []string
	}{
		{"mlp", onnxMLP(), []string{"InputLayer", "Flatten", "Dense", "BatchNormalization", "Dense", "Dense", "LeakyReLU", "Add", "Concatenate", "Dropout", "Dense"}},
		{"conv2d", onnxConv(), []string{"Conv2D", "Flatten", "Dense"}},
		{"conv1d", onnxConv1D(), []string{"InputLayer", "Conv1D", "Flatten", "Dense"}},
	}
	for _, tt := range tests {
		if err := tt.m.Validate(); err != nil {
			t.Fatalf("%s: test model does not validate: %v", tt.name, err)
		}
		for _, f := range []struct {
			ext   string
			write func(string, *model.Model) error
		}{{".h5", WriteH5}, {".keras", WriteKeras}} {
			t.Run(tt.name+f.ext, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), tt.name+f.ext)
				if err := f.write(path, toKeras(t, tt.m)); err != nil {
					t.Fatalf("write = %v", err)
				}
				got, err := kin.ReadFile(path, kin.Options{})
				if err != nil {
					t.Fatalf("importers/keras.ReadFile = %v", err)
				}
				var kinds []string
				for _, l := range got.Layers {
					kinds = append(kinds, l.Kind)
				}
				if strings.Join(kinds, " ") != strings.Join(tt.kinds, " ") {
					t.Errorf("kinds read back = %v; want %v", kinds, tt.kinds)
				}
				for _, want := range tt.m.Layers {
					if want.Nodes[0].Op == "Identity" {
						continue
					}
					l := got.Layer(want.Name)
					if l == nil {
						t.Errorf("layer %q missing after the round trip", want.Name)
						continue
					}
					if l.Trainable != want.Trainable {
						t.Errorf("layer %q trainable = %v; want %v", want.Name, l.Trainable, want.Trainable)
					}
				}
				gt, gtr, _ := got.ParamCounts()
				wt, wtr, _ := tt.m.ParamCounts()
				if gt != wt || gtr != wtr {
					t.Errorf("ParamCounts total/trainable = %d/%d; want %d/%d", gt, gtr, wt, wtr)
				}
				x := testInput(tt.m)
				yw, yg := predict(t, tt.m, x), predict(t, got, x)
				// Gemm vs MatMul+Add and the conv kernel layouts sum in other
				// orders: float32 rounding only.
				if d := maxDiff(yg.F32, yw.F32); d > 1e-5 || math.IsNaN(d) {
					t.Errorf("predictions differ by %g; want <= 1e-5", d)
				}
			})
		}
	}
}

// TestConfiglessRefused checks the refusals: a layer without a Keras
// config (the exporter writes Keras layers only; channelslast converts
// ONNX-origin ones) and a Keras layer whose weights do not fit its kind.
// Each names the layer.
func TestConfiglessRefused(t *testing.T) {
	badRole := func() *model.Model {
		m := toKeras(t, onnxConv1D())
		l := m.Layer("dense")
		l.Params[1].Role = "offset"
		return m
	}
	tests := []struct {
		name string
		m    *model.Model
		want []string
	}{
		{"configless", onnxMLP(), []string{`layer "flatten" (Flatten) has no Keras config`, "channelslast.Convert"}},
		{"weight role", badRole(), []string{`layer "dense"`, "offset", "kernel bias"}},
		{"nil", nil, []string{"nil model"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, write := range []func(string, *model.Model) error{WriteH5, WriteKeras} {
				dir := t.TempDir()
				err := write(filepath.Join(dir, "out"), tt.m)
				if err == nil {
					t.Fatalf("write(%s) = nil; want an error", tt.name)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("write(%s) = %v; want it to mention %q", tt.name, err, w)
					}
				}
				if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
					t.Errorf("failed write left %v", left)
				}
			}
		})
	}
	if err := WriteH5(filepath.Join(t.TempDir(), "x.h5"), onnxMLP()); !errors.Is(err, model.ErrUnsupported) {
		t.Errorf("WriteH5(configless model) = %v; want an error wrapping model.ErrUnsupported", err)
	}
}

// TestMultiInputOutput: a functional model with two graph inputs (no
// InputLayer layers: they are added) and two outputs keeps its inputs,
// outputs and predictions through both formats.
func TestMultiInputOutput(t *testing.T) {
	g := newGraph(3)
	g.m.Inputs = append(g.m.Inputs, &model.Value{Name: "y", DType: model.Float32, Shape: []int{-1, 3}})
	l := g.layer("add", "x", "y")
	s := g.finish(l, node(l, "Add", []string{"x", "y"}, nil))
	l = g.layer("dense", s)
	w := g.param(l, "kernel", 3, 2)
	o1 := g.finish(l, node(l, "MatMul", []string{s, w}, nil))
	l = g.layer("activation", "y")
	o2 := g.finish(l, node(l, "Tanh", []string{"y"}, nil))
	g.m.Outputs = []string{o1, o2}
	in := map[string]*model.Tensor{"x": testInput(g.m), "y": testInput(g.m)}
	for i := range in["y"].F32 {
		in["y"].F32[i] *= -0.5
	}
	run := func(m *model.Model) []*model.Tensor {
		sess, err := engine.New(m)
		if err != nil {
			t.Fatal(err)
		}
		feed := map[string]*model.Tensor{m.Inputs[0].Name: in["x"], m.Inputs[1].Name: in["y"]}
		out, err := sess.Run(feed)
		if err != nil {
			t.Fatal(err)
		}
		return []*model.Tensor{out[m.Outputs[0]], out[m.Outputs[1]]}
	}
	want := run(g.m)
	k := toKeras(t, g.m)
	for _, w := range writers {
		t.Run(w.ext, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m"+w.ext)
			if err := w.write(path, k); err != nil {
				t.Fatal(err)
			}
			got, err := kin.ReadFile(path, kin.Options{})
			if err != nil {
				t.Fatalf("importers/keras.ReadFile = %v", err)
			}
			if len(got.Inputs) != 2 || got.Inputs[0].Name != "x" || got.Inputs[1].Name != "y" || len(got.Outputs) != 2 {
				t.Fatalf("read back inputs %v, outputs %v; want x, y and two outputs", got.Inputs, got.Outputs)
			}
			for i, y := range run(got) {
				if d := maxDiff(y.F32, want[i].F32); d > 1e-6 {
					t.Errorf("output %d differs by %g", i, d)
				}
			}
		})
	}
}

// TestKerasLayerOrder checks that a functional model's layers are written
// in the order Keras's model.layers has after loading (map_graph: by depth,
// the longest path to an output, then by first visit of a depth-first walk
// from the outputs), whatever order the model lists them in: Keras gives
// the saved weights to layers in that order, so another order swaps the
// weights of same-kind layers on parallel branches.
func TestKerasLayerOrder(t *testing.T) {
	dense := func(g *graph, name, in string) string {
		l := g.layer(name, in)
		return g.finish(l, node(l, "MatMul", []string{in, g.param(l, "kernel", 4, 4)}, nil))
	}
	tests := []struct {
		name  string
		build func(g *graph)
		want  string
	}{
		// x -> a -> b, x -> c, add(b, c): depths add 0, b 1, c 1, a 2, x 3;
		// the walk from add meets b (then a, x) before c.
		{"branches listed out of order", func(g *graph) {
			c := dense(g, "c", "x")
			a := dense(g, "a", "x")
			b := dense(g, "b", a)
			l := g.layer("add", b, c)
			g.m.Outputs = []string{g.finish(l, node(l, "Add", []string{b, c}, nil))}
		}, "x a b c add"},
		// add(c, b): the walk meets c first, so c precedes b at depth 1.
		{"merge inputs decide ties", func(g *graph) {
			a := dense(g, "a", "x")
			b := dense(g, "b", a)
			c := dense(g, "c", "x")
			l := g.layer("add", c, b)
			g.m.Outputs = []string{g.finish(l, node(l, "Add", []string{c, b}, nil))}
		}, "x a c b add"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph(4)
			tc.build(g)
			p, err := newPlan(toKeras(t, g.m))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range p.layers {
				got = append(got, k.name)
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("newPlan layers = %s; want %s", s, tc.want)
			}
		})
	}
}

// TestKerasLayerOrderRealKeras loads a model whose same-kind layers sit on
// parallel branches, listed out of Keras's order, with real Keras 3 from
// .h5 and .keras and requires the engine's predictions: with the layers
// written in another order Keras would give b's kernel to c.
func TestKerasLayerOrderRealKeras(t *testing.T) {
	g := newGraph(4)
	dense := func(name, in string) string {
		l := g.layer(name, in)
		return g.finish(l, node(l, "MatMul", []string{in, g.param(l, "kernel", 4, 4)}, nil))
	}
	c := dense("c", "x")
	a := dense("a", "x")
	b := dense("b", a)
	l := g.layer("add", b, c)
	g.m.Outputs = []string{g.finish(l, node(l, "Add", []string{b, c}, nil))}
	x := testInput(g.m)
	sess, err := engine.New(g.m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sess.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	kp := peers.KerasRuntime(t, "the layer-order check against real Keras")
	dir := t.TempDir()
	var jobs []peers.KerasJob
	k := toKeras(t, g.m)
	for _, w := range writers {
		path := filepath.Join(dir, "m"+w.ext)
		if err := w.write(path, k); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, peers.KerasJob{Model: path, Inputs: []*model.Tensor{x}})
	}
	outs, errs := kp.Predict(t, jobs)
	for i, got := range outs {
		if errs[i] != nil {
			t.Errorf("%v", errs[i])
			continue
		}
		for j := range want.F32 {
			if math.Abs(float64(got.F32[j]-want.F32[j])) > 1e-5 {
				t.Errorf("Keras on %s: [%d] = %g; engine %g", filepath.Base(jobs[i].Model), j, got.F32[j], want.F32[j])
				break
			}
		}
	}
}
