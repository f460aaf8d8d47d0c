package keras

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// tolerance is the shared READMEs' suggested absolute tolerance for a
// float32 implementation (../shared/interop/keras/README.md, "Reference data
// format").
const tolerance = 1e-5

// wantLayer is one expected layer.
type wantLayer struct {
	name, kind             string
	trainable              bool
	params, trainableCount int
}

type sharedCase struct {
	name                   string
	path                   string
	layers                 []wantLayer
	total, trainable, nonT int
	input                  *model.Tensor
	want                   *model.Tensor
}

// keras2Params are the param counts of the tf.keras 2.x fixtures, which the
// README does not list: Keras's formulas applied to the README's layer
// table (Dense in*units+units, Conv kh*kw*in*filters+filters,
// BatchNormalization 4*channels of which 2*channels are non-trainable).
var keras2Params = map[string][3]int{
	"keras_3layer":            {16*64 + 64 + 64*32 + 32 + 32*32 + 32 + 32*5 + 5, 4389, 0},
	"keras_3layer_batch_norm": {4921, 4921 - 266, 2 * (64 + 32 + 32 + 5)},
	"keras_1layer":            {10*32 + 32 + 32 + 1, 385, 0},
	"keras_conv2d_model":      {3*3*1*2 + 2 + 8*8*2*10 + 10, 1310, 0},
	"conv1d_1layer":           {3*5*1 + 1, 16, 0},
	"linear":                  {3*3*1*1 + 1, 10, 0},
	"sigmoid":                 {10, 10, 0},
	"relu":                    {0, 0, 0},
	"softmax":                 {0, 0, 0},
}

func keras2Cases(t *testing.T, dir string) []sharedCase {
	var man struct {
		Fixtures []struct {
			Name, Dir, Model, Inputs, Predictions string
			ModelClass                            string `json:"model_class"`
			Layers                                []string
			InputShape                            []int `json:"input_shape"`
		}
	}
	readJSON(t, filepath.Join(dir, "keras", "manifest.json"), &man)
	var cases []sharedCase
	for _, f := range man.Fixtures {
		d := filepath.Join(dir, "keras", f.Dir)
		c := sharedCase{name: "keras/" + f.Name, path: filepath.Join(d, f.Model)}
		for _, l := range f.Layers {
			name, rest, _ := strings.Cut(l, " ")
			kind, _, _ := strings.Cut(rest, "(")
			if kind == "InputLayer" && f.ModelClass == "Sequential" {
				continue // a Sequential model's InputLayer is not a layer (Keras's model.layers)
			}
			c.layers = append(c.layers, wantLayer{name: name, kind: kind, trainable: true, params: -1})
		}
		p, ok := keras2Params[f.Name]
		if !ok {
			t.Fatalf("fixture %s has no param counts in keras2Params", f.Name)
		}
		c.total, c.trainable, c.nonT = p[0], p[1], p[2]
		c.input = peers.ReadDat(t, filepath.Join(d, f.Inputs), f.InputShape...)
		c.want = peers.ReadDat(t, filepath.Join(d, f.Predictions))
		cases = append(cases, c)
	}
	return cases
}

func keras3Cases(t *testing.T, dir string) []sharedCase {
	var man struct {
		Models []struct {
			Name, Kind string
			Params     struct {
				Total, Trainable int
				NonTrainable     int `json:"non_trainable"`
			}
			Layers []struct {
				Name, Class     string
				Trainable       bool
				Params          int
				TrainableParams int `json:"trainable_params"`
			}
		}
	}
	readJSON(t, filepath.Join(dir, "keras3", "manifest.json"), &man)
	var cases []sharedCase
	for _, m := range man.Models {
		for _, ext := range []string{".h5", ".keras"} {
			c := sharedCase{
				name: "keras3/" + m.Name + ext, path: filepath.Join(dir, "keras3", m.Name+ext),
				total: m.Params.Total, trainable: m.Params.Trainable, nonT: m.Params.NonTrainable,
				input: peers.ReadNPY(t, filepath.Join(dir, "keras3", m.Name+"_input.npy")),
				want:  peers.ReadNPY(t, filepath.Join(dir, "keras3", m.Name+"_pred.npy")),
			}
			for _, l := range m.Layers {
				c.layers = append(c.layers, wantLayer{l.Name, l.Class, l.Trainable, l.Params, l.TrainableParams})
			}
			cases = append(cases, c)
		}
	}
	return cases
}

// TestSharedFixtures reads every Keras-written model of ../shared/interop
// and checks layers, trainable flags, param counts and predictions against
// what Keras (or the README's float64 reference) gives.
func TestSharedFixtures(t *testing.T) {
	dir := peers.Interop(t, "", "the importer's checks against real Keras files")
	cases := append(keras2Cases(t, dir), keras3Cases(t, dir)...)
	if len(cases) != 9+10 { // 9 tf.keras fixtures, 5 Keras 3 models in 2 formats
		t.Fatalf("found %d shared fixtures, want 19: the shared set changed", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ReadFile(c.path, Options{})
			if err != nil {
				t.Fatalf("ReadFile(%s) = %v", c.path, err)
			}
			if len(m.Layers) != len(c.layers) {
				t.Fatalf("ReadFile(%s) has %d layers %v; want %d", c.path, len(m.Layers), layerNames(m), len(c.layers))
			}
			for i, w := range c.layers {
				l := m.Layers[i]
				if l.Name != w.name || l.Kind != w.kind || l.Trainable != w.trainable {
					t.Errorf("layer %d = %s %s trainable=%v; want %s %s trainable=%v", i, l.Name, l.Kind, l.Trainable, w.name, w.kind, w.trainable)
				}
				if w.params >= 0 {
					tot, tr, _ := l.ParamCounts()
					if tot != w.params || tr != w.trainableCount {
						t.Errorf("layer %s params = %d (%d trainable); want %d (%d)", l.Name, tot, tr, w.params, w.trainableCount)
					}
				}
			}
			tot, tr, nt := m.ParamCounts()
			if tot != c.total || tr != c.trainable || nt != c.nonT {
				t.Errorf("ParamCounts() = %d, %d, %d; want %d, %d, %d", tot, tr, nt, c.total, c.trainable, c.nonT)
			}
			s, err := engine.New(m)
			if err != nil {
				t.Fatalf("engine.New: %v", err)
			}
			got, err := s.Predict(c.input)
			if err != nil {
				t.Fatalf("Predict: %v", err)
			}
			compare(t, got, c.want)
		})
	}
}

func compare(t *testing.T, got, want *model.Tensor) {
	t.Helper()
	if model.NumElements(got.Shape) != len(want.F32) || got.Shape[0] != want.Shape[0] {
		t.Fatalf("prediction shape %v; want %v", got.Shape, want.Shape)
	}
	worst, at := 0.0, 0
	for i, w := range want.F32 {
		if d := math.Abs(float64(got.F32[i]) - float64(w)); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if !(worst <= tolerance) {
		t.Errorf("prediction[%d] = %v; want %v (max abs error %.3g > %g)", at, got.F32[at], want.F32[at], worst, tolerance)
	}
}

func layerNames(m *model.Model) []string {
	var out []string
	for _, l := range m.Layers {
		out = append(out, l.Name+":"+l.Kind)
	}
	return out
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
