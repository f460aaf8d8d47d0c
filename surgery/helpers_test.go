package surgery

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"unsafe"

	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// flattenLayer hand-builds a Keras Flatten layer (ONNX Flatten, axis 1).
func flattenLayer(name, in string) *model.Layer {
	out := name + "/Flatten_1:0"
	return &model.Layer{
		Name: name, Kind: "Flatten", Inputs: []string{in}, Outputs: []string{out}, Trainable: true,
		Nodes:  []*model.Node{{Name: name + "/Flatten_1", Op: "Flatten", Inputs: []string{in}, Outputs: []string{out}, Attrs: map[string]model.Attr{"axis": model.Int(1)}}},
		Config: json.RawMessage(fmt.Sprintf(`{"name":%q,"trainable":true,"dtype":"float32","data_format":"channels_last"}`, name)),
	}
}

// denseLayer builds a Dense layer with glorot_uniform kernel and a random
// non-zero bias drawn from rng.
func denseLayer(t testing.TB, rng *rand.Rand, name, in string, inF, units int, act string, useBias bool) *model.Layer {
	t.Helper()
	k, err := initializers.Draw(&model.Initializer{Name: "glorot_uniform"}, []int{inF, units}, rng)
	if err != nil {
		t.Fatal(err)
	}
	var b []float32
	if useBias {
		if b, err = initializers.Draw(&model.Initializer{Name: "random_normal", Config: json.RawMessage(`{"stddev": 0.5}`)}, []int{units}, rng); err != nil {
			t.Fatal(err)
		}
	}
	l, err := layers.Dense(layers.DenseSpec{Name: name, Input: in, InFeatures: inF, Units: units, Activation: act, UseBias: useBias, Trainable: true, Kernel: k, Bias: b})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// modelA builds the book's model A (chapter 11): Flatten on 28x28, Dense
// 300-100-50-50-50 SELU, Dense 8 softmax, with random weights. Keras names
// the Dense layers dense, dense_1, ..., dense_5.
func modelA(t testing.TB, seed int64) *model.Model {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	m := &model.Model{
		Name: "model_A", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "flatten_input", DType: model.Float32, Shape: []int{-1, 28, 28}}},
		Meta:    map[string]string{"format": "keras-h5"},
		History: []model.Event{{Op: "import", Time: "2026-11-27T00:00:00Z"}},
	}
	m.Layers = append(m.Layers, flattenLayer("flatten", "flatten_input"))
	prev, inF := m.Layers[0].Outputs[0], 784
	units := []int{300, 100, 50, 50, 50, 8}
	for i, u := range units {
		name := "dense"
		if i > 0 {
			name = fmt.Sprintf("dense_%d", i)
		}
		act := "selu"
		if i == len(units)-1 {
			act = "softmax"
		}
		l := denseLayer(t, rng, name, prev, inF, u, act, true)
		m.Layers = append(m.Layers, l)
		prev, inF = l.Outputs[0], u
	}
	m.Outputs = []string{prev}
	if err := m.Validate(); err != nil {
		t.Fatalf("modelA: %v", err)
	}
	return m
}

// foldPure runs FoldBN on m under checkPure and stops the test if it fails.
func foldPure(t *testing.T, m *model.Model) (*model.Model, FoldReport) {
	t.Helper()
	var rep FoldReport
	folded := checkPure(t, m, func(m *model.Model) (*model.Model, error) {
		f, r, err := FoldBN(m)
		rep = r
		return f, err
	})
	if folded == nil {
		t.Fatal("FoldBN failed")
	}
	return folded, rep
}

// checkPure fails unless calling f leaves m deeply equal to its state before
// the call and the result shares no memory with m.
func checkPure(t *testing.T, m *model.Model, f func(*model.Model) (*model.Model, error)) *model.Model {
	t.Helper()
	before := m.Clone()
	out, err := f(m)
	if !reflect.DeepEqual(before, m) {
		t.Errorf("input model was modified")
	}
	if err != nil {
		return nil
	}
	checkDisjoint(t, m, out)
	return out
}

// checkDisjoint fails when b holds a pointer, slice array or map that a also
// holds.
func checkDisjoint(t *testing.T, a, b *model.Model) {
	t.Helper()
	seen := map[uintptr]string{}
	walk(reflect.ValueOf(a), "a", func(p uintptr, path string) { seen[p] = path })
	walk(reflect.ValueOf(b), "b", func(p uintptr, path string) {
		if prev, ok := seen[p]; ok {
			t.Errorf("result shares memory with input: %s is %s", path, prev)
		}
	})
}

// walk calls visit with the address of every pointer target, non-empty
// slice array and map reachable from v.
func walk(v reflect.Value, path string, visit func(uintptr, string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		visit(v.Pointer(), path)
		walk(v.Elem(), path, visit)
	case reflect.Slice:
		if v.Len() > 0 && v.Type().Elem().Size() > 0 {
			visit(uintptr(unsafe.Pointer(v.Index(0).Addr().Pointer())), path+"[]")
		}
		for i := range v.Len() {
			walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), visit)
		}
	case reflect.Map:
		if v.IsNil() || v.Len() == 0 {
			return
		}
		visit(v.Pointer(), path+"{}")
		it := v.MapRange()
		for it.Next() {
			walk(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()), visit)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walk(v.Field(i), path+"."+v.Type().Field(i).Name, visit)
		}
	}
}
