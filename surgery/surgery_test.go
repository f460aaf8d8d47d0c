package surgery

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/model"
)

func layerNames(m *model.Model) []string {
	var out []string
	for _, l := range m.Layers {
		out = append(out, l.Name)
	}
	return out
}

// TestModelBOnA reproduces the book's model_B_on_A: model A without its
// output layer, a Dense(1, sigmoid) head, layers 0..5 frozen. Keras's
// model_B_on_A.summary() in the chapter-11 notebook (after setting
// layer.trainable = False on all but the new head) reports 7 layers,
// 275,801 total params, 51 trainable.
func TestModelBOnA(t *testing.T) {
	a := modelA(t, 1)
	if total, _, _ := a.ParamCounts(); total != 276158 { // Keras: model_A.summary() total params
		t.Fatalf("model A has %d params; want 276158", total)
	}
	dropped := checkPure(t, a, func(m *model.Model) (*model.Model, error) { return DropHead(m, 1, "") })
	if dropped == nil {
		t.Fatal("DropHead failed")
	}
	b := checkPure(t, dropped, func(m *model.Model) (*model.Model, error) {
		return AddHead(m, HeadSpec{Units: 1, Activation: "sigmoid"}, rand.New(rand.NewSource(2)))
	})
	if b == nil {
		t.Fatal("AddHead failed")
	}
	frozen := checkPure(t, b, func(m *model.Model) (*model.Model, error) { return Freeze(m, 5) })
	if frozen == nil {
		t.Fatal("Freeze failed")
	}
	if err := frozen.Validate(); err != nil {
		t.Fatalf("model B on A does not validate: %v", err)
	}
	if got := len(frozen.Layers); got != 7 {
		t.Errorf("layers = %d; want 7", got)
	}
	total, trainable, non := frozen.ParamCounts()
	if total != 275801 || trainable != 51 || non != 275750 {
		t.Errorf("ParamCounts() = %d, %d, %d; want 275801, 51, 275750", total, trainable, non)
	}
	wantNames := []string{"flatten", "dense", "dense_1", "dense_2", "dense_3", "dense_4", "dense_5"}
	if got := layerNames(frozen); !slices.Equal(got, wantNames) {
		t.Errorf("layer names = %v; want %v", got, wantNames)
	}
	for i, l := range frozen.Layers {
		if want := i == 6; l.Trainable != want {
			t.Errorf("layer %d %q trainable = %v; want %v", i, l.Name, l.Trainable, want)
		}
		var cfg struct{ Trainable bool }
		if err := json.Unmarshal(l.Config, &cfg); err != nil || cfg.Trainable != l.Trainable {
			t.Errorf("layer %d %q config trainable = %v (%v); want %v", i, l.Name, cfg.Trainable, err, l.Trainable)
		}
	}
	if !slices.Equal(frozen.History, a.History) || frozen.Meta["format"] != "keras-h5" {
		t.Errorf("history/meta not carried: %v %v", frozen.History, frozen.Meta)
	}
}

func TestDropHead(t *testing.T) {
	a := modelA(t, 1)
	tests := []struct {
		n       int
		output  string
		wantOut string // producing layer of the new output
		layers  int
	}{
		{1, "", "dense_4", 6},
		{3, "", "dense_2", 4},
		{1, "dense_5", "dense_4", 6},
		{6, "", "flatten", 1},
	}
	for _, tt := range tests {
		got := checkPure(t, a, func(m *model.Model) (*model.Model, error) { return DropHead(m, tt.n, tt.output) })
		if got == nil {
			t.Errorf("DropHead(A, %d, %q) failed", tt.n, tt.output)
			continue
		}
		if len(got.Layers) != tt.layers || got.Outputs[0] != a.Layer(tt.wantOut).Outputs[0] {
			t.Errorf("DropHead(A, %d, %q) = %d layers, output %v; want %d layers, output of %s", tt.n, tt.output, len(got.Layers), got.Outputs, tt.layers, tt.wantOut)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("DropHead(A, %d, %q) does not validate: %v", tt.n, tt.output, err)
		}
	}
}

// branchy is a functional model: input -> InputLayer -> trunk Dense, then
// two heads (out_a: Dense 3, out_b: Dense 4 -> Dense 2).
func branchy(t *testing.T) *model.Model {
	rng := rand.New(rand.NewSource(3))
	m := &model.Model{Name: "branchy", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 5}}}}
	m.Layers = append(m.Layers, &model.Layer{Name: "x", Kind: "InputLayer", Inputs: []string{"x"}, Outputs: []string{"x"}, Trainable: true})
	trunk := denseLayer(t, rng, "trunk", "x", 5, 6, "relu", true)
	ha := denseLayer(t, rng, "out_a", trunk.Outputs[0], 6, 3, "softmax", true)
	hb1 := denseLayer(t, rng, "hb1", trunk.Outputs[0], 6, 4, "relu", true)
	hb2 := denseLayer(t, rng, "out_b", hb1.Outputs[0], 4, 2, "linear", true)
	m.Layers = append(m.Layers, trunk, ha, hb1, hb2)
	m.Outputs = []string{ha.Outputs[0], hb2.Outputs[0]}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// functionalChain is InputLayer x -> Dense.
func functionalChain(t *testing.T) *model.Model {
	m := &model.Model{Name: "chain", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 5}}}}
	d := denseLayer(t, rand.New(rand.NewSource(1)), "d", "x", 5, 2, "", true)
	m.Layers = []*model.Layer{{Name: "x", Kind: "InputLayer", Inputs: []string{"x"}, Outputs: []string{"x"}, Trainable: true}, d}
	m.Outputs = d.Outputs
	return m
}

func TestDropHeadSeveralOutputs(t *testing.T) {
	m := branchy(t)
	got := checkPure(t, m, func(m *model.Model) (*model.Model, error) { return DropHead(m, 2, "out_b") })
	if got == nil {
		t.Fatal("DropHead(branchy, 2, out_b) failed")
	}
	want := []string{m.Layer("out_a").Outputs[0], m.Layer("trunk").Outputs[0]}
	if !slices.Equal(got.Outputs, want) || !slices.Equal(layerNames(got), []string{"x", "trunk", "out_a"}) {
		t.Errorf("DropHead(branchy, 2, out_b) = layers %v outputs %v; want [x trunk out_a] outputs %v", layerNames(got), got.Outputs, want)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
	// By output value name, one layer: out_b's input (hb1) becomes the output.
	got, err := DropHead(m, 1, m.Outputs[1])
	if err != nil || got.Outputs[1] != m.Layer("hb1").Outputs[0] {
		t.Errorf("DropHead(branchy, 1, value) = %v, %v; want output of hb1", got, err)
	}
}

func TestDropHeadErrors(t *testing.T) {
	a := modelA(t, 1)
	br := branchy(t)
	tests := []struct {
		name    string
		m       *model.Model
		n       int
		output  string
		is      error
		mention []string
	}{
		{"zero", a, 0, "", ErrUsage, []string{"at least 1"}},
		{"too many", a, 8, "", ErrUsage, []string{"7 layers", "cannot drop 8"}},
		{"everything", a, 7, "", ErrUsage, []string{"nothing but the model input"}},
		{"wrong output", a, 1, "nope", ErrUsage, []string{"nope"}},
		{"several outputs", br, 1, "", ErrUsage, []string{"2 outputs", "out_a", "out_b"}},
		{"unknown of several", br, 1, "trunk", ErrUsage, []string{"no output or output layer"}},
		{"trunk feeds other head", br, 3, "out_b", model.ErrUnsupported, []string{"trunk", "feeds kept layer", "out_a"}},
		{"beyond the head's ancestors", br, 4, "out_a", ErrUsage, []string{"output \"out_a/", "depends on 3 layers"}},
		{"functional everything", functionalChain(t), 1, "", ErrUsage, []string{"nothing but the model input \"x\""}},
		{"functional to input", br, 2, "out_a", model.ErrUnsupported, []string{"trunk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkPure(t, tt.m, func(m *model.Model) (*model.Model, error) {
				got, err := DropHead(m, tt.n, tt.output)
				if !errors.Is(err, tt.is) {
					t.Fatalf("DropHead(%s, %d, %q) = %v, %v; want %v", m.Name, tt.n, tt.output, got, err, tt.is)
				}
				for _, s := range tt.mention {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("DropHead(%s, %d, %q) error %q; want it to mention %q", m.Name, tt.n, tt.output, err, s)
					}
				}
				return got, err
			})
		})
	}
}

func TestAddHead(t *testing.T) {
	base, err := DropHead(modelA(t, 1), 1, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec     HeadSpec
		name     string
		init     string
		checkStd func(kernel []float32) bool
	}{
		{HeadSpec{Units: 10, Activation: "softmax"}, "dense_5", "glorot_uniform", func(k []float32) bool {
			limit := math.Sqrt(6.0 / (50 + 10)) // glorot_uniform limit for [50, 10]
			for _, v := range k {
				if math.Abs(float64(v)) > limit {
					return false
				}
			}
			return true
		}},
		{HeadSpec{Units: 4, Activation: "relu", KernelInitializer: "HeNormal", Name: "head"}, "head", "he_normal", func(k []float32) bool {
			bound := 2 * math.Sqrt(2.0/50) / 0.87962566103423978 // he_normal truncation, fan_in 50
			for _, v := range k {
				if math.Abs(float64(v)) > bound {
					return false
				}
			}
			return true
		}},
		{HeadSpec{Units: 3, KernelInitializer: "zeros"}, "dense_5", "zeros", func(k []float32) bool { return !slices.ContainsFunc(k, func(v float32) bool { return v != 0 }) }},
	}
	for _, tt := range tests {
		got := checkPure(t, base, func(m *model.Model) (*model.Model, error) {
			return AddHead(m, tt.spec, rand.New(rand.NewSource(4)))
		})
		if got == nil {
			t.Errorf("AddHead(%+v) failed", tt.spec)
			continue
		}
		head := got.Layers[len(got.Layers)-1]
		k, b := head.Param("kernel"), head.Param("bias")
		switch {
		case head.Name != tt.name || head.Kind != "Dense" || !head.Trainable:
			t.Errorf("AddHead(%+v) layer %q %s trainable %v; want %q Dense trainable", tt.spec, head.Name, head.Kind, head.Trainable, tt.name)
		case k == nil || !slices.Equal(k.Shape, []int{50, tt.spec.Units}) || k.Init.Name != tt.init || !tt.checkStd(k.Data):
			t.Errorf("AddHead(%+v) kernel %+v; want [50 %d] from %s", tt.spec, k, tt.spec.Units, tt.init)
		case b == nil || slices.ContainsFunc(b.Data, func(v float32) bool { return v != 0 }):
			t.Errorf("AddHead(%+v) bias %+v; want zeros", tt.spec, b)
		case !slices.Equal(got.Outputs, head.Outputs):
			t.Errorf("AddHead(%+v) outputs %v; want the head's %v", tt.spec, got.Outputs, head.Outputs)
		}
	}
	// Seeded: the same seed gives the same kernel.
	h1, _ := AddHead(base, HeadSpec{Units: 2}, rand.New(rand.NewSource(9)))
	h2, _ := AddHead(base, HeadSpec{Units: 2}, rand.New(rand.NewSource(9)))
	if !slices.Equal(h1.Layers[6].Params[0].Data, h2.Layers[6].Params[0].Data) {
		t.Errorf("AddHead with seed 9 twice gives different kernels")
	}
}

func TestAddHeadErrors(t *testing.T) {
	a := modelA(t, 1)
	unflat, err := DropHead(a, 6, "") // only Flatten left: output [batch, 784], fine
	if err != nil {
		t.Fatal(err)
	}
	noFlatten := &model.Model{Name: "raw", Opset: model.DefaultOpset,
		Inputs:  []*model.Value{{Name: "img", DType: model.Float32, Shape: []int{-1, 28, 28}}},
		Layers:  []*model.Layer{{Name: "id", Kind: "Activation", Inputs: []string{"img"}, Outputs: []string{"id/out"}, Trainable: true, Nodes: []*model.Node{{Name: "id/n", Op: "Identity", Inputs: []string{"img"}, Outputs: []string{"id/out"}}}}},
		Outputs: []string{"id/out"}}
	tests := []struct {
		name    string
		m       *model.Model
		spec    HeadSpec
		is      error
		mention string
	}{
		{"units", a, HeadSpec{Units: 0}, ErrUsage, "units"},
		{"activation", a, HeadSpec{Units: 1, Activation: "wiggle"}, ErrUsage, "wiggle"},
		{"initializer", a, HeadSpec{Units: 1, KernelInitializer: "my_init"}, ErrUsage, "my_init"},
		{"name clash", a, HeadSpec{Units: 1, Name: "dense_2"}, ErrUsage, "dense_2"},
		{"several outputs", branchy(t), HeadSpec{Units: 1}, model.ErrUnsupported, "2 outputs"},
		{"not 2-D", noFlatten, HeadSpec{Units: 1}, model.ErrUnsupported, "ends at layer \"id\" with output shape (None, 28, 28)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkPure(t, tt.m, func(m *model.Model) (*model.Model, error) {
				got, err := AddHead(m, tt.spec, rand.New(rand.NewSource(1)))
				if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.mention) {
					t.Errorf("AddHead(%s, %+v) = %v, %v; want %v mentioning %q", m.Name, tt.spec, got, err, tt.is, tt.mention)
				}
				return got, err
			})
		})
	}
	if got, err := AddHead(unflat, HeadSpec{Units: 2}, rand.New(rand.NewSource(1))); err != nil || got.Layers[1].Param("kernel").Shape[0] != 784 {
		t.Errorf("AddHead(flatten only) = %v; want a [784 2] kernel", err)
	}
}

func TestNextName(t *testing.T) {
	a := modelA(t, 1)
	tests := []struct {
		drop int
		want string
	}{
		{1, "dense_5"}, // dense..dense_4 left
		{6, "dense"},   // only flatten left
	}
	for _, tt := range tests {
		m, err := DropHead(a, tt.drop, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := nextName(m, "dense"); got != tt.want {
			t.Errorf("nextName(A minus %d, dense) = %q; want %q", tt.drop, got, tt.want)
		}
	}
}

func TestFreezeUnfreeze(t *testing.T) {
	a := modelA(t, 1)
	tests := []struct {
		name  string
		op    func(*model.Model) (*model.Model, error)
		train []bool
	}{
		{"freeze 0", func(m *model.Model) (*model.Model, error) { return Freeze(m, 0) }, []bool{false, true, true, true, true, true, true}},
		{"freeze 3", func(m *model.Model) (*model.Model, error) { return Freeze(m, 3) }, []bool{false, false, false, false, true, true, true}},
		{"freeze all then unfreeze 5", func(m *model.Model) (*model.Model, error) {
			f, err := Freeze(m, 6)
			if err != nil {
				return nil, err
			}
			return Unfreeze(f, 5)
		}, []bool{false, false, false, false, false, true, true}},
		{"unfreeze 0", func(m *model.Model) (*model.Model, error) {
			f, _ := Freeze(m, 6)
			return Unfreeze(f, 0)
		}, []bool{true, true, true, true, true, true, true}},
	}
	for _, tt := range tests {
		got := checkPure(t, a, tt.op)
		if got == nil {
			t.Errorf("%s failed", tt.name)
			continue
		}
		var flags []bool
		for _, l := range got.Layers {
			flags = append(flags, l.Trainable)
			for _, p := range l.Params {
				if p.Trainable != l.Trainable {
					t.Errorf("%s: param %s trainable %v, layer %v", tt.name, p.Name, p.Trainable, l.Trainable)
				}
			}
		}
		if !slices.Equal(flags, tt.train) {
			t.Errorf("%s: trainable = %v; want %v", tt.name, flags, tt.train)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	for _, i := range []int{-8, 7, 100} { // -1..-7 count from the end
		if _, err := Freeze(a, i); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "has 7 layers") {
			t.Errorf("Freeze(A, %d) error = %v; want ErrUsage saying the model has 7 layers", i, err)
		}
		if _, err := Unfreeze(a, i); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "has 7 layers") {
			t.Errorf("Unfreeze(A, %d) error = %v; want ErrUsage saying the model has 7 layers", i, err)
		}
	}
}

func TestClone(t *testing.T) {
	a := modelA(t, 1)
	plain := checkPure(t, a, func(m *model.Model) (*model.Model, error) { return Clone(m, false, nil) })
	if plain == nil {
		t.Fatal("Clone failed")
	}
	before := a.Clone()
	if !equalModels(plain, before) {
		t.Errorf("Clone(A, false) differs from A")
	}
	re := checkPure(t, a, func(m *model.Model) (*model.Model, error) { return Clone(m, true, rand.New(rand.NewSource(5))) })
	if re == nil {
		t.Fatal("Clone reinit failed")
	}
	for li, l := range re.Layers {
		for pi, p := range l.Params {
			old := a.Layers[li].Params[pi]
			if slices.Equal(p.Data, old.Data) {
				t.Errorf("Clone(A, reinit): %s unchanged", p.Name)
			}
			switch p.Role {
			case "bias":
				if slices.ContainsFunc(p.Data, func(v float32) bool { return v != 0 }) {
					t.Errorf("Clone(A, reinit): %s not zeros", p.Name)
				}
			case "kernel":
				// glorot_uniform: |w| <= sqrt(6/(fan_in+fan_out)), variance limit^2/3.
				limit := math.Sqrt(6 / float64(p.Shape[0]+p.Shape[1]))
				var ss float64
				for _, v := range p.Data {
					if math.Abs(float64(v)) > limit {
						t.Fatalf("Clone(A, reinit): %s value %g beyond glorot limit %g", p.Name, v, limit)
					}
					ss += float64(v) * float64(v)
				}
				if len(p.Data) >= 2500 { // enough samples for a 15% check
					if v := ss / float64(len(p.Data)); math.Abs(v/(limit*limit/3)-1) > 0.15 {
						t.Errorf("Clone(A, reinit): %s variance %g; want %g", p.Name, v, limit*limit/3)
					}
				}
			}
		}
	}
	// Seeded: the same seed gives the same weights.
	again, err := Clone(a, true, rand.New(rand.NewSource(5)))
	if err != nil || !equalModels(again, re) {
		t.Errorf("Clone(A, reinit) with seed 5 twice differs (%v)", err)
	}
	// Structure is unchanged: same names, shapes, nodes.
	re2 := re.Clone()
	for li, l := range re2.Layers {
		for pi, p := range l.Params {
			p.Data = a.Layers[li].Params[pi].Data
		}
	}
	if !equalModels(re2, a) {
		t.Errorf("Clone(A, reinit) changed more than the weights")
	}
}

func TestCloneReinitCustomInitializer(t *testing.T) {
	a := modelA(t, 1)
	a.Layers[3].Params[0].Init = &model.Initializer{Name: "random_kernel"}
	_, err := Clone(a, true, rand.New(rand.NewSource(1)))
	if err == nil || !strings.Contains(err.Error(), `"dense_2"`) || !strings.Contains(err.Error(), "random_kernel") {
		t.Errorf("Clone(reinit) with a custom initializer error = %v; want one naming layer dense_2 and random_kernel", err)
	}
	if _, err := Clone(a, false, nil); err != nil {
		t.Errorf("Clone(no reinit) with a custom initializer error = %v; want nil", err)
	}
}

func equalModels(a, b *model.Model) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestWalkFindsSharing checks the helper behind checkDisjoint: a model and a
// shallow copy of its layer list share memory, a Clone does not.
func TestWalkFindsSharing(t *testing.T) {
	a := modelA(t, 1)
	shallow := *a
	shallow.Layers = slices.Clone(a.Layers)
	count := func(x, y *model.Model) int {
		seen := map[uintptr]bool{}
		walk(reflect.ValueOf(x), "", func(p uintptr, _ string) { seen[p] = true })
		n := 0
		walk(reflect.ValueOf(y), "", func(p uintptr, _ string) {
			if seen[p] {
				n++
			}
		})
		return n
	}
	if n := count(a, &shallow); n == 0 {
		t.Errorf("walk found no shared memory between a model and its shallow copy")
	}
	if n := count(a, a.Clone()); n != 0 {
		t.Errorf("walk found %d shared addresses between a model and its Clone; want 0", n)
	}
}

// TestCloneReinitNoInitializer: params of ONNX-origin layers record no
// initializer; reinit uses Keras's defaults with Keras's fans.
func TestCloneReinitNoInitializer(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	conv := onnxConv(rng, "conv", "x", 3, 8, 16, true) // weight OIHW [16 8 3 3]
	bn := bnLayer(rng, "bn", conv.Outputs[0], 16, 4, false, 1e-5, false)
	fc := gemmLayer(rng, "fc", "y", 30, 20, true, 1, 1)
	fc.Inputs, fc.Nodes[0].Inputs[0] = []string{"y"}, "y"
	m := seqModel("onnx", []int{-1, 8, 6, 6}, conv, bn)
	m.Inputs = append(m.Inputs, &model.Value{Name: "y", DType: model.Float32, Shape: []int{-1, 30}})
	m.Layers = append(m.Layers, fc)
	m.Outputs = append(m.Outputs, fc.Outputs[0])
	got, err := Clone(m, true, rand.New(rand.NewSource(9)))
	if err != nil {
		t.Fatalf("Clone(reinit) = %v", err)
	}
	tests := []struct {
		layer, role string
		limit       float64 // glorot_uniform: sqrt(6/(fan_in+fan_out))
		constant    float32
	}{
		// Keras Conv2D kernel [3 3 8 16]: fan_in 72, fan_out 144.
		{"conv", "kernel", math.Sqrt(6.0 / (72 + 144)), 0},
		{"conv", "bias", 0, 0},
		// Dense [30 20] / PyTorch [20 30]: fan_in + fan_out = 50.
		{"fc", "kernel", math.Sqrt(6.0 / 50), 0},
		{"bn", "gamma", 0, 1},
		{"bn", "moving_variance", 0, 1},
		{"bn", "moving_mean", 0, 0},
	}
	for _, tt := range tests {
		p := got.Layer(tt.layer).Param(tt.role)
		if tt.limit == 0 {
			if slices.ContainsFunc(p.Data, func(v float32) bool { return v != tt.constant }) {
				t.Errorf("Clone(reinit) %s = %v; want all %v", p.Name, p.Data[:3], tt.constant)
			}
			continue
		}
		hi := 0.0
		var ss float64
		for _, v := range p.Data {
			hi = math.Max(hi, math.Abs(float64(v)))
			ss += float64(v) * float64(v)
		}
		variance := ss / float64(len(p.Data))
		// >= 600 draws: the mean square of a uniform sample is within 15%
		// of limit^2/3 with overwhelming probability.
		if hi > tt.limit || math.Abs(variance/(tt.limit*tt.limit/3)-1) > 0.15 {
			t.Errorf("Clone(reinit) %s: max |w| %g, variance %g; want <= %g, ~%g", p.Name, hi, variance, tt.limit, tt.limit*tt.limit/3)
		}
	}
}
