package keras

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/engine"
	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// nestedVariants generates (once per version of the script) the models of
// fixtures/keras/nested.py with real Keras into a cache directory and
// returns it. Without the Keras runtime the test skips loudly.
func nestedVariants(t *testing.T) string {
	t.Helper()
	k := peers.KerasRuntime(t, "the Keras-written nested, shared and augmentation variants")
	script, err := os.ReadFile("../../fixtures/keras/nested.py")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(script)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "xfer", "keras-nested-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	k.Run(t, string(script), tmp)
	if err := os.WriteFile(filepath.Join(tmp, "done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestKerasNestedVariants reads models real Keras 3 wrote with nesting,
// sharing and augmentation beyond the shared fixtures (keras.io's transfer
// model with its augmentation Sequential and a MobileNetV2 base, Sequential
// in Sequential, three levels, a two-input two-output nested model with a
// shared layer inside, an EfficientNetB0 base): xfer predicts Keras's
// predictions, and real Keras loads the .h5 and .keras xfer writes of each
// and predicts the same.
func TestKerasNestedVariants(t *testing.T) {
	dir := nestedVariants(t)
	k := peers.KerasRuntime(t, "real Keras loading our nested variants")
	var jobs []peers.KerasJob
	var wants []*model.Tensor
	for _, name := range []string{"guide_mobilenetv2", "seq_in_seq", "three_levels", "multi_io", "efficientnet_nested"} {
		var inputs []*model.Tensor
		if _, err := os.Stat(filepath.Join(dir, name+"_input.npy")); err == nil {
			inputs = append(inputs, peers.ReadNPY(t, filepath.Join(dir, name+"_input.npy")))
		} else {
			for i := 0; ; i++ {
				p := filepath.Join(dir, fmt.Sprintf("%s_input_%d.npy", name, i))
				if _, err := os.Stat(p); err != nil {
					break
				}
				inputs = append(inputs, peers.ReadNPY(t, p))
			}
		}
		want := peers.ReadNPY(t, filepath.Join(dir, name+"_pred.npy"))
		for _, ext := range []string{".h5", ".keras"} {
			src := filepath.Join(dir, name+ext)
			if _, err := os.Stat(src); err != nil {
				continue // efficientnet_nested: .keras only
			}
			m := readModel(t, src)
			if len(m.Submodels) == 0 {
				t.Errorf("%s%s: no nested model read", name, ext)
			}
			checkClose(t, name+ext+" (xfer)", runAll(t, m, inputs), want)
			for _, w := range []struct {
				ext   string
				write func(string, *model.Model) error
			}{{".h5", WriteH5}, {".keras", WriteKeras}} {
				out := filepath.Join(t.TempDir(), name+w.ext)
				if err := w.write(out, m); err != nil {
					t.Errorf("%s%s -> %s: %v", name, ext, w.ext, err)
					continue
				}
				back, err := kin.ReadFile(out, kin.Options{})
				if err != nil {
					t.Errorf("%s%s -> %s, read back: %v", name, ext, w.ext, err)
					continue
				}
				checkClose(t, name+ext+" -> "+w.ext+" (xfer)", runAll(t, back, inputs), want)
				jobs = append(jobs, peers.KerasJob{Model: out, Inputs: inputs})
				wants = append(wants, want)
			}
		}
	}
	outs, errs := k.Predict(t, jobs)
	for i, j := range jobs {
		if errs[i] != nil {
			t.Errorf("real Keras on our %s: %v", filepath.Base(j.Model), errs[i])
			continue
		}
		checkClose(t, "real Keras on our "+filepath.Base(j.Model), outs[i], wants[i])
	}
}

// runAll predicts the model's first output on inputs given in the model's
// input order.
func runAll(t *testing.T, m *model.Model, inputs []*model.Tensor) *model.Tensor {
	t.Helper()
	s, err := engine.New(m)
	if err != nil {
		t.Fatalf("engine.New(%s): %v", m.Name, err)
	}
	if len(inputs) != len(m.Inputs) {
		t.Fatalf("%s has %d inputs; %d given", m.Name, len(m.Inputs), len(inputs))
	}
	feed := map[string]*model.Tensor{}
	for i, v := range m.Inputs {
		feed[v.Name] = inputs[i]
	}
	out, err := s.Run(feed)
	if err != nil {
		t.Fatalf("Run(%s): %v", m.Name, err)
	}
	return out[m.Outputs[0]]
}

// checkClose compares with the tolerance of issue 15: 1e-4 + 1e-3*|want|.
func checkClose(t *testing.T, what string, got, want *model.Tensor) {
	t.Helper()
	if got == nil || len(got.F32) != len(want.F32) {
		t.Errorf("%s: got %v values; want %d", what, got, len(want.F32))
		return
	}
	for i, w := range want.F32 {
		if d := math.Abs(float64(got.F32[i] - w)); !(d <= 1e-4+1e-3*math.Abs(float64(w))) {
			t.Errorf("%s: [%d] = %v; want %v", what, i, got.F32[i], w)
			return
		}
	}
}
