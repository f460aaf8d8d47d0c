package surgery

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	exporter "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// TestCloneKerasBN clones the shared tf.keras BatchNormalization model: a
// plain clone predicts bit-identically; a reinit clone draws each Dense
// kernel from the file's VarianceScaling(1, fan_in, uniform) (limit
// sqrt(3/fan_in), variance 1/fan_in), zeros the biases and resets the BN
// params to Keras's initial values (gamma 1, beta 0, mean 0, variance 1),
// and predicts differently.
func TestCloneKerasBN(t *testing.T) {
	dir := filepath.Join(peers.Interop(t, "keras", "clone (plain and reinit) of a real Keras BatchNormalization model"), "keras_3layer_batch_norm")
	m, err := keras.ReadFile(filepath.Join(dir, "keras_3layer_batch_norm.h5"), keras.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := peers.ReadDat(t, filepath.Join(dir, "keras_3layer_batch_norm_input_features.dat"), 16)
	want := predict(t, m, x)

	plain := checkPure(t, m, func(m *model.Model) (*model.Model, error) { return Clone(m, false, nil) })
	if got := predict(t, plain, x); !slices.Equal(got.F32, want.F32) {
		t.Errorf("Clone(no reinit) predictions differ from the source's")
	}

	re := checkPure(t, m, func(m *model.Model) (*model.Model, error) { return Clone(m, true, rand.New(rand.NewSource(3))) })
	if re == nil {
		t.Fatal("Clone(reinit) failed")
	}
	if d := maxAbs(t, predict(t, re, x), want); d < 1e-3 {
		t.Errorf("Clone(reinit) predictions differ from the source's by only %g; want fresh weights", d)
	}
	for _, l := range re.Layers {
		for _, p := range l.Params {
			var wantConst float32 = -1
			switch p.Role {
			case "bias", "beta", "moving_mean":
				wantConst = 0
			case "gamma", "moving_variance":
				wantConst = 1
			case "kernel":
				fanIn := float64(p.Shape[0])
				limit := math.Sqrt(3 / fanIn)
				var ss float64
				for _, v := range p.Data {
					if math.Abs(float64(v)) > limit {
						t.Fatalf("Clone(reinit): %s value %g beyond VarianceScaling uniform limit %g", p.Name, v, limit)
					}
					ss += float64(v) * float64(v)
				}
				// >= 160 samples per kernel here; the variance of a uniform
				// sample mean-square has relative sd sqrt(0.8/n) <= 7%.
				if v := ss / float64(len(p.Data)); math.Abs(v*fanIn-1) > 0.25 {
					t.Errorf("Clone(reinit): %s variance %g; want %g", p.Name, v, 1/fanIn)
				}
				continue
			default:
				t.Fatalf("unexpected param %s role %q", p.Name, p.Role)
			}
			if slices.ContainsFunc(p.Data, func(v float32) bool { return v != wantConst }) {
				t.Errorf("Clone(reinit): %s = %v; want all %v", p.Name, p.Data[:min(4, len(p.Data))], wantConst)
			}
		}
	}
}

// TestCloneReinitCustomFromFile: linear.h5 and sigmoid.h5 name a custom
// Python function as their kernel initializer ("random_kernel", README; a
// bare string in one file, Keras 2.13's {"class_name": "function"} in the
// other); reinit must say so, naming the layer and the function.
func TestCloneReinitCustomFromFile(t *testing.T) {
	dir := peers.Interop(t, "keras", "clone --reinit of real Keras files with custom initializers")
	for _, f := range []string{"linear/linear.h5", "sigmoid/sigmoid.h5"} {
		m, err := keras.ReadFile(filepath.Join(dir, f), keras.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Clone(m, true, rand.New(rand.NewSource(1)))
		if !errors.Is(err, initializers.ErrUnknown) || !strings.Contains(err.Error(), "random_kernel") || !strings.Contains(err.Error(), `layer "conv2d"`) {
			t.Errorf("Clone(%s, reinit) error = %v; want initializers.ErrUnknown naming layer conv2d and random_kernel", f, err)
		}
	}
}

// TestFreezeKerasCounts checks Keras's counting rules on files Keras wrote:
// a frozen BatchNormalization's gamma and beta become non-trainable, its
// moving statistics are non-trainable either way.
func TestFreezeKerasCounts(t *testing.T) {
	dir := peers.Interop(t, "", "freeze/unfreeze parameter counts on real Keras files")
	tests := []struct {
		path                   string
		op                     func(*model.Model) (*model.Model, error)
		total, trainable, nonT int
	}{
		// bn_dense (Keras 3): 19,037 total, 18,989 trainable, 48 non-trainable
		// (README). Freezing flatten, dense and batch_normalization leaves
		// dense_1's 24*5+5 = 125 trainable.
		{"keras3/bn_dense.h5", func(m *model.Model) (*model.Model, error) { return Freeze(m, 2) }, 19037, 125, 19037 - 125},
		{"keras3/bn_dense.keras", func(m *model.Model) (*model.Model, error) { return Freeze(m, 1) }, 19037, 24*2 + 125, 18816 + 48},
		// mlp_selu_frozen (Keras 3): 32,283 total, 820 frozen in the file.
		{"keras3/mlp_selu_frozen.h5", func(m *model.Model) (*model.Model, error) { return Unfreeze(m, 0) }, 32283, 32283, 0},
		// keras_3layer_batch_norm (tf.keras 2.3, functional: input_1 is layer
		// 0): 4,921 total, 266 BN moving stats. Freezing input_1, fc1_relu
		// and bn1 also freezes fc1's 16*64+64 and bn1's gamma/beta 2*64.
		{"keras/keras_3layer_batch_norm/keras_3layer_batch_norm.h5", func(m *model.Model) (*model.Model, error) { return Freeze(m, 2) }, 4921, 4921 - 266 - 1088 - 128, 266 + 1088 + 128},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			m, err := keras.ReadFile(filepath.Join(dir, tt.path), keras.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := checkPure(t, m, tt.op)
			if got == nil {
				t.Fatal("operation failed")
			}
			total, tr, nt := got.ParamCounts()
			if total != tt.total || tr != tt.trainable || nt != tt.nonT {
				t.Errorf("ParamCounts() = %d, %d, %d; want %d, %d, %d", total, tr, nt, tt.total, tt.trainable, tt.nonT)
			}
		})
	}
}

// TestModelBOnAExport writes model_B_on_A as .h5 and .keras and reads it
// back: the frozen flags, the layer configs' "trainable" and the counts
// (7 layers, 275,801 params, 51 trainable) survive.
func TestModelBOnAExport(t *testing.T) {
	m, err := DropHead(modelA(t, 1), 1, "")
	if err == nil {
		m, err = AddHead(m, HeadSpec{Units: 1, Activation: "sigmoid"}, rand.New(rand.NewSource(2)))
	}
	if err == nil {
		m, err = Freeze(m, 5)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, f := range []struct {
		name  string
		write func(string, *model.Model) error
	}{{"b_on_a.h5", exporter.WriteH5}, {"b_on_a.keras", exporter.WriteKeras}} {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(tmp, f.name)
			if err := f.write(path, m); err != nil {
				t.Fatalf("write %s: %v", f.name, err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
			back, err := keras.ReadFile(path, keras.Options{})
			if err != nil {
				t.Fatalf("read back %s: %v", f.name, err)
			}
			if len(back.Layers) != 7 {
				t.Fatalf("read back %d layers; want 7", len(back.Layers))
			}
			total, tr, _ := back.ParamCounts()
			if total != 275801 || tr != 51 {
				t.Errorf("read back ParamCounts() = %d, %d; want 275801, 51", total, tr)
			}
			for i, l := range back.Layers {
				var cfg struct{ Trainable bool }
				_ = json.Unmarshal(l.Config, &cfg)
				if want := i == 6; l.Trainable != want || cfg.Trainable != want {
					t.Errorf("read back layer %d %q trainable = %v, config %v; want %v", i, l.Name, l.Trainable, cfg.Trainable, want)
				}
			}
		})
	}
}

// TestFoldBNExportKeras folds the Keras 3 bn_dense model (Dense without
// bias + BatchNormalization), writes it as .h5 and .keras and reads it back:
// the Dense now has a bias (use_bias true in its config), the BN is gone,
// and predictions still match Keras's within 1e-5.
func TestFoldBNExportKeras(t *testing.T) {
	dir := peers.Interop(t, "keras3", "fold-bn of a real Keras 3 model exported to .h5/.keras")
	m, err := keras.ReadFile(filepath.Join(dir, "bn_dense.keras"), keras.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensorio.ReadFile(filepath.Join(dir, "bn_dense_input.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadFile(filepath.Join(dir, "bn_dense_pred.npy"))
	if err != nil {
		t.Fatal(err)
	}
	folded, rep, err := FoldBN(m)
	if err != nil || len(rep.Folded) != 1 {
		t.Fatalf("FoldBN(bn_dense) = %v\n%s", err, rep)
	}
	tmp := t.TempDir()
	for _, f := range []struct {
		name  string
		write func(string, *model.Model) error
	}{{"folded.h5", exporter.WriteH5}, {"folded.keras", exporter.WriteKeras}} {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(tmp, f.name)
			if err := f.write(path, folded); err != nil {
				t.Fatalf("write: %v", err)
			}
			back, err := keras.ReadFile(path, keras.Options{})
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			if len(back.Layers) != 4 || back.Layer("batch_normalization") != nil || back.Layer("dense").Param("bias") == nil {
				t.Errorf("read back layers %v; want flatten, dense (with bias), activation, dense_1", layerNames(back))
			}
			if d := maxAbs(t, predict(t, back, x), want); d > foldTolerance {
				t.Errorf("read back folded model vs Keras: max abs diff %.3g; want <= %g", d, foldTolerance)
			}
		})
	}
}
