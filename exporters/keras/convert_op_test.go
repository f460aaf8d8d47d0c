package keras

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/engine"
	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opModel builds a Functional model of Keras 3 operation nodes on inputs x
// and z ([batch, 3]): each spec is (kind, operation, args) where an arg is
// an earlier value's index (0 = x, 1 = z, then layer outputs) or a
// constant.
func opModel(t *testing.T, specs ...opSpec) *model.Model {
	t.Helper()
	m := &model.Model{Name: "ops", Opset: model.DefaultOpset, Meta: map[string]string{}}
	vals := []string{"x", "z"}
	for _, v := range vals {
		m.Inputs = append(m.Inputs, &model.Value{Name: v, DType: model.Float32, Shape: []int{-1, 3}})
	}
	for i, s := range specs {
		op, ok := layers.LookupOperation(s.op)
		if !ok {
			t.Fatalf("no operation %q", s.op)
		}
		var ins []string
		var args []layers.OpArg
		for _, a := range s.args {
			switch v := a.(type) {
			case int:
				args = append(args, layers.OpArg{Input: len(ins)})
				ins = append(ins, vals[v])
			case float32:
				args = append(args, layers.OpArg{Input: -1, Const: []float32{v}, Shape: []int{}})
			case []float32:
				args = append(args, layers.OpArg{Input: -1, Const: v, Shape: []int{len(v)}})
			}
		}
		l, err := layers.OperationLayer(layers.OperationSpec{Common: layers.Common{Name: s.name(i), Inputs: ins, Trainable: true},
			Kind: layers.OperationPrefix + op.Keras3, Op: op, Args: args})
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, l)
		vals = append(vals, l.Outputs[0])
	}
	m.Outputs = []string{vals[len(vals)-1]}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

type opSpec struct {
	op   string
	args []any
}

func (s opSpec) name(i int) string { return s.op + "_" + string(rune('a'+i)) }

// TestOperationsRoundTrip writes operation nodes to .keras (as Keras 3's
// keras.src.ops nodes) and .h5 (as the layers that compute them, or
// TFOpLambda), reads both back with the same numbers, and has real Keras,
// when present, load them and agree.
func TestOperationsRoundTrip(t *testing.T) {
	m := opModel(t,
		opSpec{"add", []any{0, float32(3)}},            // 2: x + 3      -> Rescaling(1, 3)
		opSpec{"subtract", []any{float32(1), 2}},       // 3: 1 - that   -> Rescaling(-1, 1)
		opSpec{"multiply", []any{3, 1}},                // 4: that * z   -> Multiply
		opSpec{"maximum", []any{4, 0}},                 // 5: max(that, x) -> Maximum
		opSpec{"divide", []any{5, []float32{1, 2, 4}}}, // 6: / [1 2 4]  -> TFOpLambda math.truediv
		opSpec{"relu6", []any{6}},                      // 7: relu6      -> ReLU(max_value=6)
		opSpec{"multiply", []any{7, float32(1.0 / 6)}}, // 8: * 1/6      -> Rescaling(1/6)
		opSpec{"subtract", []any{8, float32(0.25)}},    // 9: - 0.25     -> Rescaling(1, -0.25)
	)
	x := &model.Tensor{DType: model.Float32, Shape: []int{2, 3}, F32: []float32{-2, 0, 13, 0.5, -1, 3}}
	z := &model.Tensor{DType: model.Float32, Shape: []int{2, 3}, F32: []float32{1, -3, 0.5, 2, 2, -1}}
	want := predictFeeds(t, m, map[string]*model.Tensor{"x": x, "z": z})
	dir := t.TempDir()
	wantKinds := map[string][]string{
		".h5":    {"Rescaling", "Rescaling", "Multiply", "Maximum", "TFOpLambda", "ReLU", "Rescaling", "Rescaling"},
		".keras": {"ops.Add", "ops.Subtract", "ops.Multiply", "ops.Maximum", "ops.Divide", "ops.Relu6", "ops.Multiply", "ops.Subtract"},
	}
	var jobs []peers.KerasJob
	for _, ext := range []string{".h5", ".keras"} {
		p := filepath.Join(dir, "ops"+ext)
		write := WriteH5
		if ext == ".keras" {
			write = WriteKeras
		}
		if err := write(p, m); err != nil {
			t.Fatalf("write %s: %v", ext, err)
		}
		back, err := kin.ReadFile(p, kin.Options{})
		if err != nil {
			t.Fatalf("read back %s: %v", ext, err)
		}
		var kinds []string
		for _, l := range back.Layers {
			if l.Kind != "InputLayer" {
				kinds = append(kinds, l.Kind)
			}
		}
		if strings.Join(kinds, " ") != strings.Join(wantKinds[ext], " ") {
			t.Errorf("%s read back as %v; want %v", ext, kinds, wantKinds[ext])
		}
		got := predictFeeds(t, back, map[string]*model.Tensor{back.Inputs[0].Name: x, back.Inputs[1].Name: z})
		if !equalF32(got.F32, want.F32) {
			t.Errorf("%s read back predicts %v; want %v", ext, got.F32, want.F32)
		}
		jobs = append(jobs, peers.KerasJob{Model: p, Inputs: []*model.Tensor{x, z}})
	}
	k := peers.KerasRuntime(t, "real Keras loading operation nodes written by xfer")
	ys, errs := k.Predict(t, jobs)
	for i, j := range jobs {
		if errs[i] != nil {
			if strings.HasSuffix(j.Model, ".h5") {
				// The .h5 holds a TFOpLambda (x / [1 2 4] has no Keras layer):
				// tf.keras 2 reads it, Keras 3 does not know the class.
				if !strings.Contains(errs[i].Error(), "TFOpLambda") {
					t.Errorf("Keras on %s: %v; want only TFOpLambda refused", j.Model, errs[i])
				}
				continue
			}
			t.Fatalf("Keras on %s: %v", j.Model, errs[i])
		}
		for n, w := range want.F32 {
			if d := ys[i].F32[n] - w; d > 1e-6 || d < -1e-6 {
				t.Errorf("Keras on %s: [%d] = %v; want %v", j.Model, n, ys[i].F32[n], w)
			}
		}
	}
}

// TestOperationsH5Refusals: operations with no tf.keras 2 form are refused
// for .h5 with a message pointing at .keras.
func TestOperationsH5Refusals(t *testing.T) {
	cases := []struct {
		name string
		spec opSpec
		want string
	}{
		{"constant over tensor", opSpec{"divide", []any{float32(1), 0}}, "no tf.keras 2 form"},
		{"keras 3 hard_silu", opSpec{"hard_silu", []any{0}}, "Keras 3 meaning"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := opModel(t, tc.spec)
			err := WriteH5(filepath.Join(t.TempDir(), "m.h5"), m)
			if !errors.Is(err, model.ErrUnsupported) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), ".keras") {
				t.Errorf("WriteH5 = %v; want ErrUnsupported containing %q and pointing at .keras", err, tc.want)
			}
			if err := WriteKeras(filepath.Join(t.TempDir(), "m.keras"), m); err != nil {
				t.Errorf("WriteKeras = %v; want success", err)
			}
		})
	}
}

func predictFeeds(t *testing.T, m *model.Model, in map[string]*model.Tensor) *model.Tensor {
	t.Helper()
	s, err := engine.New(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return out[m.Outputs[0]]
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
