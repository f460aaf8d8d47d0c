package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/engine"
	kerasexp "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// appsPending are models whose checks wait for work not yet on main, with
// what they wait for. Each must still fail the way stated (a refusal naming
// the layer class, or the engine error), so that one that starts passing
// is taken off the list.
var appsPending = map[string]string{}

// pendingCheck checks err against appsPending: a pending model must fail
// the way stated (the test then skips loudly), one that passes must be
// taken off the list, and any other error fails the test.
func pendingCheck(t *testing.T, name string, err error) {
	t.Helper()
	why, pending := appsPending[name]
	switch {
	case !pending && err != nil:
		t.Fatal(err)
	case pending && err == nil:
		t.Fatalf("%s passes now: take it off appsPending", name)
	case pending && !strings.Contains(err.Error(), why):
		t.Fatalf("%s is pending on %q but fails otherwise: %v", name, why, err)
	case pending:
		t.Skipf("PENDING (not checked yet): %s: %v", name, err)
	}
}

// appsModel is one entry of ../shared/interop/keras-apps/manifest.json.
type appsModel struct {
	Name        string
	Layers      int
	Classes     map[string]int `json:"layer_classes"`
	ConfigNodes map[string]int `json:"config_nodes"`
	Params      struct {
		Total, Trainable int
		NonTrainable     int `json:"non_trainable"`
	}
	Files map[string]string
	// Atol raises the absolute tolerance (see atol); 0 for issue 15's.
	Atol float64 `json:"-"`
	// Spread is the predictions' mean standard deviation across the batch
	// (fixtures/kerasapps/gen.py).
	Spread float64 `json:"pred_std_across_batch"`
	// Sensitivity is how far Keras's predictions move under a 1e-6
	// relative input change (gen.py; 0 where not measured).
	Sensitivity float64 `json:"pred_sensitivity"`
}

// atol is the model's absolute tolerance against Keras: issue 15's 1e-4
// for the shared and the repository's fixtures (Keras ran with a
// float64-accumulating numpy stand-in for its convolutions,
// keras-apps/README.md); TestKerasApplications raises it with the size of
// the outputs (Atol).
func (m appsModel) atol() float64 {
	return max(m.Atol, 1e-4)
}

// appsTolerance is the bound against Keras's predictions: atol +
// 1e-3*|want|.
func appsTolerance(got, want, atol float64) bool {
	return math.Abs(got-want) <= atol+1e-3*math.Abs(want)
}

// appsAgree reports whether got is within appsTolerance of want.
func appsAgree(got, want *model.Tensor, atol float64) bool {
	if got == nil || len(got.F32) != len(want.F32) {
		return false
	}
	for i, w := range want.F32 {
		if g := float64(got.F32[i]); !appsTolerance(g, float64(w), atol) || math.IsNaN(g) {
			return false
		}
	}
	return true
}

func appsClose(t *testing.T, what string, got, want *model.Tensor, atol float64) {
	t.Helper()
	if got == nil || model.NumElements(got.Shape) != len(want.F32) || got.Shape[0] != want.Shape[0] {
		t.Fatalf("%s: got %v; want shape %v", what, got, want.Shape)
	}
	bad := 0
	for i, w := range want.F32 {
		if g := float64(got.F32[i]); !appsTolerance(g, float64(w), atol) || math.IsNaN(g) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %g; want %g (within %.3g + 1e-3*|want|)", what, i, g, w, atol)
			}
		}
	}
}

// appsSet is a directory of Keras-written models with a manifest in the
// layout of keras-apps/manifest.json.
type appsSet struct {
	name, dir string
	models    []appsModel
}

// appsSets returns the shared keras-apps set (skipped loudly when absent)
// and the repository's own Keras 3 files of single layer kinds
// (importers/keras/testdata/keras3layers, written by its gen.py).
func appsSets(t *testing.T) []appsSet {
	t.Helper()
	own := filepath.Join("..", "..", "importers", "keras", "testdata", "keras3layers")
	sets := []appsSet{{"keras3layers", own, appsModels(t, own)}}
	if dir, err := peers.Find("keras-apps"); err == nil {
		sets = append(sets, appsSet{"keras-apps", dir, appsModels(t, dir)})
	} else {
		t.Logf("SKIPPING the shared keras-apps set (%v): only the repository's own Keras files are checked", err)
	}
	return sets
}

// inputs reads the model's input files (input, or input0, input1...) and
// names them after the model's graph inputs.
func (m appsModel) inputs(t *testing.T, dir string, xm *model.Model) map[string]*model.Tensor {
	t.Helper()
	var xs []*model.Tensor
	if f := m.Files["input"]; f != "" {
		xs = append(xs, peers.ReadNPY(t, filepath.Join(dir, f)))
	}
	for i := 0; m.Files[fmt.Sprintf("input%d", i)] != ""; i++ {
		xs = append(xs, peers.ReadNPY(t, filepath.Join(dir, m.Files[fmt.Sprintf("input%d", i)])))
	}
	if xm == nil {
		return map[string]*model.Tensor{"": xs[0]}
	}
	if len(xs) != len(xm.Inputs) {
		t.Fatalf("%s: %d input files for %d model inputs", m.Name, len(xs), len(xm.Inputs))
	}
	in := map[string]*model.Tensor{}
	for i, v := range xm.Inputs {
		// Token ids are stored as float32 (keras-apps README); an int32
		// input takes them as xfer predict does.
		x, err := tensorio.As(xs[i], v.DType)
		if err != nil {
			t.Fatalf("%s: input %s: %v", m.Name, v.Name, err)
		}
		in[v.Name] = x
	}
	return in
}

// TestKerasApps runs every model of ../shared/interop/keras-apps (Keras
// 3.16 files of keras.applications and hand-built architectures) and of
// importers/keras/testdata/keras3layers through issue 15's checks: import
// with Keras's layer list and param totals, predictions against Keras's,
// export to .h5 and .keras and back with the same predictions, export to
// ONNX that ONNX Runtime runs with the engine's and Keras's numbers
// (onnx.checker runs on it from TestMain). TestKerasAppsRuntime has real
// Keras load the .h5 and .keras files.
func TestKerasApps(t *testing.T) {
	for _, set := range appsSets(t) {
		for _, m := range set.models {
			want := peers.ReadNPY(t, filepath.Join(set.dir, m.Files["pred"]))
			for _, ext := range []string{"h5", "keras"} {
				if m.Files[ext] == "" {
					continue // Keras cannot reload its own .h5 of it
				}
				t.Run(set.name+"/"+m.Name+"."+ext, func(t *testing.T) {
					path := filepath.Join(set.dir, m.Files[ext])
					checkApp(t, m, set.dir, path, want)
				})
			}
		}
	}
}

func checkApp(t *testing.T, m appsModel, dir, path string, want *model.Tensor) {
	xm, err := keras.ReadFile(path, keras.Options{})
	if err != nil {
		pendingCheck(t, m.Name, fmt.Errorf("keras.ReadFile(%s) = %w", path, err))
	}
	checkAppsLayers(t, xm, m)
	in := m.inputs(t, dir, xm)
	predict := appsPredictor(t, m.Name)
	got := predict(xm, in)
	appsClose(t, "xfer vs Keras", got, want, m.atol())

	// .h5 and .keras written by xfer, read back: the same numbers.
	for _, out := range []string{"back.h5", "back.keras"} {
		p := filepath.Join(t.TempDir(), out)
		write := kerasexp.WriteH5
		if strings.HasSuffix(out, ".keras") {
			write = kerasexp.WriteKeras
		}
		err := write(p, xm)
		if out == "back.h5" && err != nil && (m.Files["h5"] == "" || strings.Contains(err.Error(), "Keras 3 meaning")) {
			// xfer's .h5 is tf.keras 2's, which has no Keras 3 hard_silu or
			// hard_sigmoid (MobileNetV3; Keras 3 itself cannot reload its
			// .h5 of MobileNetV3): a refusal, only as unsupported.
			if !errors.Is(err, model.ErrUnsupported) {
				t.Errorf("WriteH5 = %v; want success or a refusal (ErrUnsupported)", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("write %s: %v", out, err)
		}
		back, err := keras.ReadFile(p, keras.Options{})
		if err != nil {
			t.Fatalf("keras.ReadFile(%s) = %v", out, err)
		}
		if out == "back.keras" || !hasOperations(xm) {
			// A .h5 holds operation nodes as the layers that compute them.
			checkAppsLayers(t, back, m)
		}
		closeTo(t, out+" vs the import", predict(back, renameInputs(in, xm, back)), got, 0)
	}

	// ONNX: ONNX Runtime on the export vs xfer and Keras.
	onnxPath := filepath.Join(t.TempDir(), m.Name+".onnx")
	if err := WriteFile(onnxPath, xm, Options{}); err != nil {
		t.Fatalf("WriteFile(%s) = %v", onnxPath, err)
	}
	written = append(written, keepForChecker(t, onnxPath))
	ys, rt := runExport(t, onnxPath, in)
	y := ys[xm.Outputs[0]]
	if rt == "ORT" && !appsAgree(y, got, m.atol()) {
		// ONNX Runtime's own graph optimizations may be wrong (its PadFusion
		// folds a zero Pad into MaxPool): the file's ops as written, run
		// without them, must agree.
		raw, err := ort.RunWith(onnxPath, in, ort.Options{NoOptimizations: true})
		if err != nil {
			t.Fatal(err)
		}
		if appsAgree(raw[xm.Outputs[0]], got, m.atol()) {
			t.Logf("NOTE LOUDLY: ONNX Runtime's graph optimizations change this model's numbers (max |diff| %.3g vs xfer; %.3g without them): its PadFusion bug; checked without them", maxDiff(y, got), maxDiff(raw[xm.Outputs[0]], got))
			y, rt = raw[xm.Outputs[0]], "ORT (no graph optimizations)"
		}
	}
	// Both against Keras's bound: deep networks amplify float32 rounding
	// differences (ORT's HardSwish against the engine's) past the 1e-5 of
	// single ops.
	appsClose(t, rt+" vs xfer", y, got, m.atol())
	appsClose(t, rt+" vs Keras", y, want, m.atol())
	if testing.Verbose() {
		t.Logf("max |diff|: xfer-Keras %.3g, %s-Keras %.3g, %s-xfer %.3g", maxDiff(got, want), rt, maxDiff(y, want), rt, maxDiff(y, got))
	}
}

// appsPredictor returns how the test predicts with an xfer model: the
// engine, every op of it (LSTM/GRU/RNN included); an engine error fails the
// test unless the model is on appsPending with that error.
func appsPredictor(t *testing.T, name string) func(*model.Model, map[string]*model.Tensor) *model.Tensor {
	return func(xm *model.Model, in map[string]*model.Tensor) *model.Tensor {
		t.Helper()
		var out map[string]*model.Tensor
		s, err := engine.New(xm)
		if err == nil {
			out, err = s.Run(in)
		}
		if err != nil {
			err = fmt.Errorf("engine: %w", err)
		}
		pendingCheck(t, name, err)
		return out[xm.Outputs[0]]
	}
}

func hasOperations(m *model.Model) bool {
	for _, l := range m.Layers {
		if layers.IsOperation(l.Kind) {
			return true
		}
	}
	return false
}

// renameInputs maps feeds named after a's graph inputs to b's, in order.
func renameInputs(in map[string]*model.Tensor, a, b *model.Model) map[string]*model.Tensor {
	out := map[string]*model.Tensor{}
	for i, v := range a.Inputs {
		out[b.Inputs[i].Name] = in[v.Name]
	}
	return out
}

// TestKerasAppsRuntime has real Keras 3 load the .h5 and .keras files xfer
// writes from each model of TestKerasApps and predict its input: Keras's
// numbers must be the fixture's (the same Keras on the same weights). Where
// Keras cannot reload its own .h5 (keras-apps README: MobileNetV3), only the
// .keras is checked.
func TestKerasAppsRuntime(t *testing.T) {
	k := peers.KerasRuntime(t, "real Keras loading the .h5/.keras files xfer writes (issue 15)")
	var sets []appsSet
	for _, set := range appsSets(t) {
		sets = append(sets, set)
	}
	kerasLoadsOurs(t, k, sets)
}

// kerasLoadsOurs writes every model of sets to .keras (and .h5 where the
// set has one) and has Keras load and predict them, in one Keras process.
func kerasLoadsOurs(t *testing.T, k *peers.KerasPython, sets []appsSet) {
	type item struct {
		name string
		want *model.Tensor
		atol float64
	}
	var jobs []peers.KerasJob
	var items []item
	for _, set := range sets {
		for _, m := range set.models {
			src := m.Files["keras"]
			xm, err := keras.ReadFile(filepath.Join(set.dir, src), keras.Options{})
			if _, pending := appsPending[m.Name]; pending && err != nil {
				continue // TestKerasApps says why
			}
			if err != nil {
				t.Errorf("keras.ReadFile(%s) = %v", src, err)
				continue
			}
			in := m.inputs(t, set.dir, xm)
			var xs []*model.Tensor
			for _, v := range xm.Inputs {
				xs = append(xs, model.Convert(in[v.Name], model.Float32)) // Keras casts as it needs
			}
			want := peers.ReadNPY(t, filepath.Join(set.dir, m.Files["pred"]))
			outs := []string{".keras"}
			if m.Files["h5"] != "" {
				outs = append(outs, ".h5")
			}
			for _, ext := range outs {
				p := filepath.Join(t.TempDir(), m.Name+ext)
				write := kerasexp.WriteH5
				if ext == ".keras" {
					write = kerasexp.WriteKeras
				}
				if err := write(p, xm); err != nil {
					if ext == ".h5" && errors.Is(err, model.ErrUnsupported) && strings.Contains(err.Error(), "Keras 3 meaning") {
						continue // TestKerasApps checks the refusal
					}
					t.Errorf("write %s: %v", p, err)
					continue
				}
				jobs = append(jobs, peers.KerasJob{Model: p, Inputs: xs})
				items = append(items, item{set.name + "/" + m.Name + ext, want, m.atol()})
			}
		}
	}
	ys, errs := k.Predict(t, jobs)
	for i, it := range items {
		t.Run(it.name, func(t *testing.T) {
			if errs[i] != nil {
				t.Fatalf("Keras on xfer's %s: %v", it.name, errs[i])
			}
			appsClose(t, "Keras(xfer's file) vs Keras(its own)", ys[i], it.want, it.atol)
		})
	}
}

// TestKerasApplications runs issue 15 item 4's check on keras.applications
// models that fixtures/kerasapps/gen.py builds with real Keras (random
// weights, small inputs; cached in XFER_APPS_CACHE, default
// $TMPDIR/xfer-keras-applications, never in the repository): one model of
// every family by default, XFER_APPS=all for every model, or a comma list.
// Each gets TestKerasApps's checks, then Keras loads the files xfer writes.
// Slow (minutes, gigabytes of files): it runs with XFER_LONG=1 only, and
// skips loudly without the Keras runtime.
func TestKerasApplications(t *testing.T) {
	if os.Getenv("XFER_LONG") != "1" {
		t.Skip("SKIPPING (set XFER_LONG=1): the keras.applications families (issue 15 item 4) did NOT run")
	}
	k := peers.KerasRuntime(t, "the keras.applications families (issue 15 item 4)")
	dir := os.Getenv("XFER_APPS_CACHE")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "xfer-keras-applications")
	}
	var names []string
	if v := os.Getenv("XFER_APPS"); v != "" {
		names = strings.Split(v, ",")
	}
	gen, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "kerasapps", "gen.py"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generating into %s (cached): %v", dir, names)
	k.Run(t, `import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")`, append([]string{gen, dir}, names...)...)
	entries, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no models in %s (%v)", dir, err)
	}
	set := appsSet{name: "applications", dir: dir}
	for _, e := range entries {
		var m appsModel
		data, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if len(names) > 0 && names[0] != "all" && !slices.Contains(names, m.Name) {
			continue
		}
		// The outputs are logits of random deep networks, up to hundreds
		// (EfficientNet): float32 implementations agree with Keras's
		// float64-accumulating convolutions, and with each other, only
		// relative to the outputs' scale (ResNet50V2: ONNX Runtime and xfer
		// differ by 6e-4 at a scale of 0.95, xfer and Keras by less).
		pred := peers.ReadNPY(t, filepath.Join(dir, m.Files["pred"]))
		scale := 0.0
		for _, v := range pred.F32 {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		m.Atol = 1e-3 * scale
		if m.Sensitivity > m.Atol {
			// Random deep networks are chaotic (ResNet101/152: Keras's own
			// logits move by 1-2% when the input moves by 1e-6): float32
			// rounding, ONNX Runtime's as well as xfer's, moves them as
			// far, and no tolerance tighter than that holds.
			t.Logf("NOTE LOUDLY: %s: Keras's predictions move by %.3g under a 1e-6 input change (more than 1e-3 of their scale %.3g): that is the tolerance", m.Name, m.Sensitivity, scale)
			m.Atol = m.Sensitivity
		}
		if scale > 1e3 {
			// Exploding activations (gen.py's calibration once ran with
			// EfficientNet's drop-connect on: logits of 1e5-1e6 whose signs
			// float32 rounding alone flips) make any tolerance meaningless.
			t.Errorf("%s: Keras's predictions reach %.3g: the random weights make activations explode; fix gen.py's calibration and regenerate %s", m.Name, scale, dir)
		}
		if m.Spread < 1e-2 {
			t.Errorf("%s: Keras's predictions hardly depend on the input (spread %.3g): a check on them proves little", m.Name, m.Spread)
		}
		set.models = append(set.models, m)
	}
	for _, m := range set.models {
		want := peers.ReadNPY(t, filepath.Join(dir, m.Files["pred"]))
		for _, ext := range []string{"h5", "keras"} {
			if m.Files[ext] == "" {
				continue // Keras cannot reload its own .h5 of it (gen.py's h5_note)
			}
			t.Run(m.Name+"."+ext, func(t *testing.T) {
				checkApp(t, m, dir, filepath.Join(dir, m.Files[ext]), want)
			})
		}
	}
	kerasLoadsOurs(t, k, []appsSet{set})
}

func appsModels(t *testing.T, dir string) []appsModel {
	t.Helper()
	var man struct{ Models []appsModel }
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &man); err != nil {
		t.Fatalf("keras-apps/manifest.json: %v", err)
	}
	if len(man.Models) == 0 {
		t.Fatal("keras-apps/manifest.json lists no models")
	}
	return man.Models
}

// checkAppsLayers compares the layers with Keras's model.layers: the
// number at the top level and the classes at every nesting level (a nested
// model counts as one layer of its class; operation nodes are not layers
// in Keras), the operation nodes with the saved config's, then the param
// totals.
func checkAppsLayers(t *testing.T, xm *model.Model, m appsModel) {
	t.Helper()
	classes, ops := map[string]int{}, map[string]int{}
	var walk func(scope string) int
	walk = func(scope string) int {
		n := 0
		for _, it := range xm.Items(scope) {
			switch {
			case it.Sub != nil:
				classes[it.Sub.Kind]++
				walk(it.Sub.Name)
			case layers.IsOperation(it.Layer.Kind):
				ops[it.Layer.Kind]++
				continue
			default:
				classes[it.Layer.Kind]++
			}
			n++
		}
		return n
	}
	top := walk("")
	wantOps := map[string]int{}
	for k, n := range m.ConfigNodes {
		if layers.IsOperation(k) {
			wantOps[k] = n
		}
	}
	if top != m.Layers || fmt.Sprint(classes) != fmt.Sprint(m.Classes) {
		t.Errorf("%d layers %v; want Keras's %d %v", top, classes, m.Layers, m.Classes)
	}
	if fmt.Sprint(ops) != fmt.Sprint(wantOps) {
		t.Errorf("operation nodes %v; want %v", ops, wantOps)
	}
	tot, tr, nt := xm.ParamCounts()
	if tot != m.Params.Total || tr != m.Params.Trainable || nt != m.Params.NonTrainable {
		t.Errorf("ParamCounts() = %d, %d, %d; want Keras's %d, %d, %d", tot, tr, nt, m.Params.Total, m.Params.Trainable, m.Params.NonTrainable)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func predictOne(t *testing.T, m *model.Model, in map[string]*model.Tensor) *model.Tensor {
	t.Helper()
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New(%s) = %v", m.Name, err)
	}
	out, err := s.Run(in)
	if err != nil {
		t.Fatalf("engine Run(%s) = %v", m.Name, err)
	}
	if len(m.Outputs) != 1 || !slices.Contains(m.Outputs, m.Outputs[0]) {
		t.Fatalf("%s has outputs %v; want one", m.Name, m.Outputs)
	}
	return out[m.Outputs[0]]
}

func maxDiff(a, b *model.Tensor) float64 {
	d := 0.0
	for i := range b.F32 {
		d = math.Max(d, math.Abs(float64(a.F32[i])-float64(b.F32[i])))
	}
	return d
}
