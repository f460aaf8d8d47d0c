package keras

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xferml/xfer/engine"
	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// sharedModels lists every Keras-written model file of the shared set.
func sharedModels(t testing.TB) []string {
	dir := peers.Interop(t, "", "the round trips of real Keras files")
	var files []string
	for _, pat := range []string{"keras/*/*.h5", "keras3/*.h5", "keras3/*.keras"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 19 { // 9 tf.keras .h5 + 5 Keras 3 .h5 + 5 .keras (the READMEs' tables)
		t.Fatalf("found %d shared model files, want at least 19: %v", len(files), files)
	}
	return files
}

func readModel(t testing.TB, path string) *model.Model {
	t.Helper()
	m, err := kin.ReadFile(path, kin.Options{})
	if err != nil {
		t.Fatalf("importers/keras.ReadFile(%s) = %v", path, err)
	}
	return m
}

// testInput is a deterministic batch of 3 for the model's first input.
func testInput(m *model.Model) *model.Tensor {
	shape := slices.Clone(m.Inputs[0].Shape)
	for i, d := range shape {
		if d < 0 {
			shape[i] = 3
		}
	}
	n := model.NumElements(shape)
	x := &model.Tensor{DType: model.Float32, Shape: shape, F32: make([]float32, n)}
	for i := range x.F32 {
		x.F32[i] = float32(math.Sin(float64(i)*0.37) * 1.5)
	}
	return x
}

func predict(t testing.TB, m *model.Model, x *model.Tensor) *model.Tensor {
	t.Helper()
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New(%s) = %v", m.Name, err)
	}
	y, err := s.Predict(x)
	if err != nil {
		t.Fatalf("Predict(%s) = %v", m.Name, err)
	}
	return y
}

// sameModel checks what must survive a round trip: layer names, kinds,
// trainable flags, every weight (role, shape, values, trainable, state) and
// the predictions, bit for bit.
func sameModel(t *testing.T, got, want *model.Model) {
	t.Helper()
	if len(got.Layers) != len(want.Layers) {
		t.Fatalf("round trip has %d layers; want %d", len(got.Layers), len(want.Layers))
	}
	for i, w := range want.Layers {
		g := got.Layers[i]
		if g.Name != w.Name || g.Kind != w.Kind || g.Trainable != w.Trainable {
			t.Errorf("layer %d = %s %s trainable=%v; want %s %s trainable=%v", i, g.Name, g.Kind, g.Trainable, w.Name, w.Kind, w.Trainable)
			continue
		}
		if len(g.Params) != len(w.Params) {
			t.Errorf("layer %q has %d params; want %d", w.Name, len(g.Params), len(w.Params))
			continue
		}
		for j, wp := range w.Params {
			gp := g.Params[j]
			if !sameRole(gp.Role, wp.Role) || !slices.Equal(gp.Shape, wp.Shape) || gp.Trainable != wp.Trainable || gp.State != wp.State {
				t.Errorf("layer %q param %d = %s %v trainable=%v state=%v; want %s %v trainable=%v state=%v",
					w.Name, j, gp.Role, gp.Shape, gp.Trainable, gp.State, wp.Role, wp.Shape, wp.Trainable, wp.State)
				continue
			}
			if !slices.Equal(gp.Data, wp.Data) {
				t.Errorf("layer %q weight %q: values differ after the round trip", w.Name, wp.Role)
			}
			if (gp.Init == nil) != (wp.Init == nil) || gp.Init != nil && gp.Init.Name != wp.Init.Name {
				t.Errorf("layer %q weight %q: initializer %v; want %v", w.Name, wp.Role, gp.Init, wp.Init)
			}
		}
	}
	gt, gtr, gnt := got.ParamCounts()
	wt, wtr, wnt := want.ParamCounts()
	if gt != wt || gtr != wtr || gnt != wnt {
		t.Errorf("ParamCounts = %d/%d/%d; want %d/%d/%d", gt, gtr, gnt, wt, wtr, wnt)
	}
	x := testInput(want)
	yw, yg := predict(t, want, x), predict(t, got, x)
	if !slices.Equal(yg.Shape, yw.Shape) || !slices.Equal(yg.F32, yw.F32) {
		t.Errorf("predictions after the round trip differ: shape %v vs %v, max abs diff %g", yg.Shape, yw.Shape, maxDiff(yg.F32, yw.F32))
	}
}

// sameRole compares weight names across Keras generations
// (DepthwiseConv2D's depthwise_kernel is Keras 3's kernel).
func sameRole(a, b string) bool {
	return a == b || roleAliases[a] == b || roleAliases[b] == a
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestRoundTrip reads every shared Keras file, writes it as .h5 and as
// .keras and reads each back with importers/keras.
func TestRoundTrip(t *testing.T) {
	for _, src := range sharedModels(t) {
		name := filepath.Base(src)
		for _, format := range []struct {
			ext   string
			write func(string, *model.Model) error
		}{{".h5", WriteH5}, {".keras", WriteKeras}} {
			t.Run(name+"->"+format.ext, func(t *testing.T) {
				m := readModel(t, src)
				snapshot := m.Clone()
				out := filepath.Join(t.TempDir(), "out"+format.ext)
				if err := format.write(out, m); err != nil {
					t.Fatalf("write %s = %v", format.ext, err)
				}
				sameModel(t, m, snapshot) // the writer must not modify its input
				got, err := kin.ReadFile(out, kin.Options{})
				if err != nil {
					t.Fatalf("importers/keras.ReadFile(written %s) = %v", format.ext, err)
				}
				sameModel(t, got, m)
			})
		}
	}
}

// TestRoundTripChain converts through both formats in turn (.keras -> .h5
// -> .keras and .h5 -> .keras -> .h5), so that configs converted to one
// dialect convert back to the other.
func TestRoundTripChain(t *testing.T) {
	dir := peers.Interop(t, "", "the .h5/.keras/.onnx round-trip chain on real Keras files")
	for _, name := range []string{"mlp_small", "mlp_selu_frozen", "functional_branch", "bn_dense", "conv1d_small"} {
		for _, order := range [][]func(string, *model.Model) error{{WriteH5, WriteKeras}, {WriteKeras, WriteH5}} {
			src := filepath.Join(dir, "keras3", name+".keras")
			t.Run(name, func(t *testing.T) {
				orig := readModel(t, src)
				m := orig
				for i, write := range order {
					out := filepath.Join(t.TempDir(), fmt.Sprintf("step%d", i))
					if err := write(out, m); err != nil {
						t.Fatalf("step %d: write = %v", i, err)
					}
					m = readModel(t, out)
				}
				sameModel(t, m, orig)
			})
		}
	}
}
