package keras

import (
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/xferml/xfer/engine"
	kout "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// appsManifest is what ../shared/interop/keras-apps/manifest.json says of
// each model (Keras's own counts).
type appsManifest struct {
	Models []struct {
		Name            string
		Layers          int            // len(model.layers)
		LayersFlattened int            `json:"layers_flattened"` // entries at every level, nested models included
		LayerClasses    map[string]int `json:"layer_classes"`    // at every level, nested models counted
		NestedModels    []string       `json:"nested_models"`
		Params          struct {
			Total, Trainable int
			NonTrainable     int `json:"non_trainable"`
		}
	}
}

// kerasCounts returns what Keras counts of m: len(model.layers), entries at
// every nesting level (nested models and their layers), and classes at
// every level.
func kerasCounts(m *model.Model) (top, flat int, classes map[string]int) {
	classes = map[string]int{}
	var walk func(scope string)
	walk = func(scope string) {
		for _, it := range m.Items(scope) {
			if it.Sub != nil {
				classes[it.Sub.Kind]++
				flat++
				walk(it.Sub.Name)
				continue
			}
			classes[it.Layer.Kind]++
			flat++
		}
	}
	walk("")
	return len(m.Items("")), flat, classes
}

// closeTo reports the worst element of got against want with the issue's
// tolerance 1e-4 + 1e-3*|want| (Keras ran its convolutions in float64).
func closeTo(t *testing.T, what string, got, want *model.Tensor) {
	t.Helper()
	if model.NumElements(got.Shape) != len(want.F32) {
		t.Fatalf("%s: shape %v; want %v", what, got.Shape, want.Shape)
	}
	for i, w := range want.F32 {
		if d := math.Abs(float64(got.F32[i] - w)); !(d <= 1e-4+1e-3*math.Abs(float64(w))) {
			t.Fatalf("%s: [%d] = %v; want %v", what, i, got.F32[i], w)
		}
	}
}

func predict(t *testing.T, m *model.Model, x *model.Tensor) *model.Tensor {
	t.Helper()
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	y, err := s.Predict(x)
	if err != nil {
		t.Fatalf("Predict: %v", err)
	}
	return y
}

// TestNestedAndShared reads the Keras 3.16 files of a transfer model with a
// nested, frozen Functional base called with training=False, and of a
// Functional model holding a Sequential block and a Conv2D called twice:
// Keras's layer counts, classes and params, Keras's predictions, the
// nesting and sharing kept, and the same after export to .h5 and .keras.
func TestNestedAndShared(t *testing.T) {
	dir := peers.Interop(t, "keras-apps", "the nested-model and shared-layer checks against Keras 3 files")
	var man appsManifest
	readJSON(t, filepath.Join(dir, "manifest.json"), &man)
	checks := map[string]func(t *testing.T, m *model.Model){
		"transfer_resnet_nested": func(t *testing.T, m *model.Model) {
			s := m.Submodel("resnet_base")
			if s == nil || s.Kind != "Functional" || s.Trainable || s.Training == nil || *s.Training {
				t.Fatalf("Submodel(resnet_base) = %+v; want a frozen Functional called with training=False", s)
			}
			if l := m.Layer("resnet_base/stem_bn"); l == nil || !m.InferenceOnly(l) || m.EffectiveTrainable(l) {
				t.Errorf("resnet_base/stem_bn: inference-only %v, trainable %v; want true, false", l != nil && m.InferenceOnly(l), l != nil && m.EffectiveTrainable(l))
			}
		},
		"seq_in_functional": func(t *testing.T, m *model.Model) {
			if s := m.Submodel("seq_block"); s == nil || s.Kind != "Sequential" || s.Training != nil {
				t.Fatalf("Submodel(seq_block) = %+v; want a Sequential model called without training", s)
			}
			if l := m.Layer("shared_conv@1"); l == nil || l.Shares != "shared_conv" || len(l.Params) != 0 {
				t.Fatalf("Layer(shared_conv@1) = %+v; want the second call of shared_conv", l)
			}
		},
	}
	found := 0
	for _, mm := range man.Models {
		check, ok := checks[mm.Name]
		if !ok {
			continue
		}
		found++
		x := peers.ReadNPY(t, filepath.Join(dir, mm.Name+"_input.npy"))
		want := peers.ReadNPY(t, filepath.Join(dir, mm.Name+"_pred.npy"))
		for _, ext := range []string{".h5", ".keras"} {
			t.Run(mm.Name+ext, func(t *testing.T) {
				m, err := ReadFile(filepath.Join(dir, mm.Name+ext), Options{})
				if err != nil {
					t.Fatalf("ReadFile = %v", err)
				}
				top, flat, classes := kerasCounts(m)
				if top != mm.Layers || flat != mm.LayersFlattened || !reflect.DeepEqual(classes, mm.LayerClasses) {
					t.Errorf("layers %d, flattened %d, classes %v; want %d, %d, %v", top, flat, classes, mm.Layers, mm.LayersFlattened, mm.LayerClasses)
				}
				var nested []string
				for _, s := range m.Submodels {
					nested = append(nested, s.Name)
				}
				if !reflect.DeepEqual(nested, mm.NestedModels) {
					t.Errorf("nested models %v; want %v", nested, mm.NestedModels)
				}
				tot, tr, nt := m.ParamCounts()
				if tot != mm.Params.Total || tr != mm.Params.Trainable || nt != mm.Params.NonTrainable {
					t.Errorf("ParamCounts() = %d, %d, %d; want %d, %d, %d", tot, tr, nt, mm.Params.Total, mm.Params.Trainable, mm.Params.NonTrainable)
				}
				check(t, m)
				closeTo(t, "prediction", predict(t, m, x), want)
				for _, w := range []struct {
					ext   string
					write func(string, *model.Model) error
				}{{".h5", kout.WriteH5}, {".keras", kout.WriteKeras}} {
					path := filepath.Join(t.TempDir(), "out"+w.ext)
					if err := w.write(path, m); err != nil {
						t.Fatalf("write %s: %v", w.ext, err)
					}
					back, err := ReadFile(path, Options{})
					if err != nil {
						t.Fatalf("ReadFile(our %s) = %v", w.ext, err)
					}
					if !reflect.DeepEqual(back.Submodels, m.Submodels) && !sameSubmodels(back, m) {
						t.Errorf("%s: nested models %+v; want %+v", w.ext, back.Submodels, m.Submodels)
					}
					if top2, flat2, classes2 := kerasCounts(back); top2 != top || flat2 != flat || !reflect.DeepEqual(classes2, classes) {
						t.Errorf("%s: counts %d, %d, %v; want %d, %d, %v", w.ext, top2, flat2, classes2, top, flat, classes)
					}
					if t2, tr2, nt2 := back.ParamCounts(); t2 != tot || tr2 != tr || nt2 != nt {
						t.Errorf("%s: ParamCounts() = %d, %d, %d; want %d, %d, %d", w.ext, t2, tr2, nt2, tot, tr, nt)
					}
					check(t, back)
					closeTo(t, w.ext+" prediction", predict(t, back, x), want)
				}
			})
		}
	}
	if found != len(checks) {
		t.Fatalf("found %d of the %d nested-model fixtures in the manifest: the shared set changed", found, len(checks))
	}
}

// sameSubmodels compares what survives a round trip: names, kinds, flags,
// the training argument and the values they read and return (the stored
// config is rewritten in the format's dialect).
func sameSubmodels(a, b *model.Model) bool {
	if len(a.Submodels) != len(b.Submodels) {
		return false
	}
	for i, s := range a.Submodels {
		o := b.Submodels[i]
		if s.Name != o.Name || s.Kind != o.Kind || s.Trainable != o.Trainable || (s.Training == nil) != (o.Training == nil) ||
			s.Training != nil && *s.Training != *o.Training || !reflect.DeepEqual(s.Inputs, o.Inputs) || !reflect.DeepEqual(s.Outputs, o.Outputs) {
			return false
		}
	}
	return true
}

// TestNestedKeras2 reads testdata/nested2.h5 (gen.py; tf.keras 2.13's
// layout, which real Keras 3 loads with the same predictions): a frozen
// nested Functional base called with training=False in tf.keras 2's list
// form, a Dense called twice, the base's weights in its group by name;
// predictions from torch in float64.
func TestNestedKeras2(t *testing.T) {
	m, err := ReadFile("testdata/nested2.h5", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Submodel("base"); s == nil || s.Trainable || s.Training == nil || *s.Training || s.Kind != "Functional" {
		t.Fatalf("Submodel(base) = %+v; want a frozen Functional called with training=False", s)
	}
	if l := m.Layer("sh@1"); l == nil || l.Shares != "sh" {
		t.Fatalf("Layer(sh@1) = %+v; want the second call of sh", l)
	}
	// 6*5+5 + 5*4+4 = 59 frozen in the base, 4*4+4 + 4*3+3 = 35 trainable.
	if tot, tr, nt := m.ParamCounts(); tot != 94 || tr != 35 || nt != 59 {
		t.Errorf("ParamCounts() = %d, %d, %d; want 94, 35, 59", tot, tr, nt)
	}
	x := peers.ReadNPY(t, "testdata/nested2_input.npy")
	want := peers.ReadNPY(t, "testdata/nested2_pred.npy")
	closeTo(t, "prediction", predict(t, m, x), want)
	path := filepath.Join(t.TempDir(), "out.h5")
	if err := kout.WriteH5(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sameSubmodels(back, m) || back.Layer("sh@1") == nil {
		t.Errorf("round trip lost the nesting or the shared call: %+v", back.Submodels)
	}
	closeTo(t, "round-trip prediction", predict(t, back, x), want)
}
