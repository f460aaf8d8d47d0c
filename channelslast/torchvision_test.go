package channelslast_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xferml/xfer/channelslast"
	"github.com/xferml/xfer/engine"
	kerasexp "github.com/xferml/xfer/exporters/keras"
	kerasimp "github.com/xferml/xfer/importers/keras"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/internal/visionfix"
	"github.com/xferml/xfer/model"
)

// Tolerance against torch (issue 11): |got - want| <= atol + rtol*|want|.
const (
	atol = 1e-4
	rtol = 1e-3
)

// nhwc returns x [N, C, H, W] transposed to [N, H, W, C].
func nhwc(x *model.Tensor) *model.Tensor {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := &model.Tensor{DType: model.Float32, Shape: []int{n, h, w, c}, F32: make([]float32, len(x.F32))}
	for b := 0; b < n; b++ {
		for ci := 0; ci < c; ci++ {
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					out.F32[((b*h+i)*w+j)*c+ci] = x.F32[((b*c+ci)*h+i)*w+j]
				}
			}
		}
	}
	return out
}

// checkClose fails the test when got differs from want by more than
// atol + rtol*|want| anywhere.
func checkClose(t *testing.T, what string, got, want *model.Tensor) {
	t.Helper()
	if got == nil || !slices.Equal(got.Shape, want.Shape) {
		var shape []int
		if got != nil {
			shape = got.Shape
		}
		t.Errorf("%s: shape %v; want %v", what, shape, want.Shape)
		return
	}
	for i := range want.F32 {
		d := math.Abs(float64(got.F32[i]) - float64(want.F32[i]))
		if d > atol+rtol*math.Abs(float64(want.F32[i])) || math.IsNaN(d) {
			t.Errorf("%s: [%d] = %g; want %g (within %g + %g*|want|)", what, i, got.F32[i], want.F32[i], atol, rtol)
			return
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

// supportedOps lists the ops both shape inference and the engine know.
func supportedOps() []string {
	var ops []string
	for _, op := range engine.SupportedOps() {
		if slices.Contains(model.SupportedOps(), op) {
			ops = append(ops, op)
		}
	}
	return ops
}

// kerasPending lists the models whose Keras form waits for a Keras layer
// builder, and which.
var kerasPending = map[string]string{}

// TestTorchvision converts each torchvision model (fixtures/torch/vision.py,
// torch.onnx.export at opsets 13 and 17) to channels-last Keras layers and
// checks, against torch's output for the same images transposed to NHWC:
// the converted model (engine); the .h5 and .keras files written from it,
// read back by xfer (bit-identical predictions, the same parameter count);
// and the same files loaded and run by real Keras 3.16 (when its runtime is
// present). At the first opset it also checks KeepNCHW: a .keras file that
// takes torch's NCHW arrays unchanged.
func TestTorchvision(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING in -short: the torchvision models take about a minute")
	}
	sel, files := visionfix.GetSelected(t)
	for _, s := range sel {
		f := files[s.Name]
		t.Run(s.Name, func(t *testing.T) {
			x, err := tensorio.ReadFile(f.X)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensorio.ReadFile(f.Y)
			if err != nil {
				t.Fatal(err)
			}
			xl := nhwc(x)
			dir := t.TempDir()
			var kerasFiles []string
			var kerasInputs []*model.Tensor
			for _, opset := range visionfix.Opsets {
				t.Run(fmt.Sprintf("op%d", opset), func(t *testing.T) {
					visionfix.Pending(t, s, f, opset, supportedOps())
					if why := kerasPending[s.Name]; why != "" {
						t.Skipf("SKIPPING the Keras conversion of %s: %s; this check did NOT run", s.Name, why)
					}
					m, err := onnximp.ReadFile(f.ONNX[opset])
					if err != nil {
						t.Fatal(err)
					}
					k, lay, err := channelslast.Convert(m, channelslast.Options{})
					if err != nil {
						t.Fatalf("Convert: %v", err)
					}
					if len(lay.Inputs) != 1 || !slices.Equal(lay.Inputs[0].Perm, []int{0, 2, 3, 1}) || !slices.Equal(k.Inputs[0].Shape, []int{-1, x.Shape[2], x.Shape[3], 3}) {
						t.Errorf("Convert inputs = %+v, model input %v; want one input NCHW -> NHWC [-1 %d %d 3]", lay.Inputs, k.Inputs[0].Shape, x.Shape[2], x.Shape[3])
					}
					got := predict(t, k, xl)
					checkClose(t, "converted model vs torch", got, want)
					for _, ext := range []string{".h5", ".keras"} {
						path := filepath.Join(dir, fmt.Sprintf("%s_op%d%s", s.Name, opset, ext))
						write := kerasexp.WriteH5
						if ext == ".keras" {
							write = kerasexp.WriteKeras
						}
						if err := write(path, k); err != nil {
							t.Fatalf("writing %s: %v", ext, err)
						}
						back, err := kerasimp.ReadFile(path, kerasimp.Options{})
						if err != nil {
							t.Fatalf("reading our %s back: %v", ext, err)
						}
						if len(back.Layers) != len(k.Layers)+1 && len(back.Layers) != len(k.Layers) {
							t.Errorf("%s read back has %d layers; converted model %d", ext, len(back.Layers), len(k.Layers))
						}
						if a, b := paramCount(back), paramCount(k); a != b {
							t.Errorf("%s read back has %d params; converted model %d", ext, a, b)
						}
						again := predict(t, back, xl)
						for i := range got.F32 {
							if math.Float32bits(again.F32[i]) != math.Float32bits(got.F32[i]) {
								t.Errorf("%s read back predicts [%d] = %g; converted model %g", ext, i, again.F32[i], got.F32[i])
								break
							}
						}
						kerasFiles = append(kerasFiles, path)
						kerasInputs = append(kerasInputs, xl)
					}
					if opset != visionfix.Opsets[0] {
						return
					}
					// KeepNCHW: the same arrays as torch's, through a leading Permute.
					kn, layn, err := channelslast.Convert(m, channelslast.Options{KeepNCHW: true})
					if err != nil {
						t.Fatalf("Convert(KeepNCHW): %v", err)
					}
					if !slices.Equal(layn.Inputs[0].Perm, []int{0, 1, 2, 3}) || kn.Layers[0].Kind != "Permute" {
						t.Errorf("Convert(KeepNCHW) input %+v, first layer %s; want NCHW kept by a Permute", layn.Inputs[0], kn.Layers[0].Kind)
					}
					checkClose(t, "converted model (KeepNCHW) vs torch", predict(t, kn, x), want)
					path := filepath.Join(dir, fmt.Sprintf("%s_op%d_nchw.keras", s.Name, opset))
					if err := kerasexp.WriteKeras(path, kn); err != nil {
						t.Fatalf("writing .keras (KeepNCHW): %v", err)
					}
					kerasFiles = append(kerasFiles, path)
					kerasInputs = append(kerasInputs, x)
				})
			}
			if len(kerasFiles) == 0 {
				return
			}
			kp := peers.KerasRuntime(t, "real Keras loading the converted torchvision .h5/.keras files")
			var jobs []peers.KerasJob
			for i, p := range kerasFiles {
				jobs = append(jobs, peers.KerasJob{Model: p, Inputs: []*model.Tensor{kerasInputs[i]}})
			}
			outs, errs := kp.Predict(t, jobs)
			for i, y := range outs {
				if errs[i] != nil {
					t.Errorf("%v", errs[i])
					continue
				}
				checkClose(t, "Keras 3 on "+filepath.Base(jobs[i].Model)+" vs torch", y, want)
			}
		})
	}
}

func paramCount(m *model.Model) int {
	n, _, _ := m.ParamCounts()
	return n
}
