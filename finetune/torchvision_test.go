package finetune

import (
	"context"
	"math"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/internal/visionfix"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

// TestTorchvisionHeadOnly fine-tunes the head of every torchvision model
// the engine predicts (fixtures/torch/vision.py, opset 17), with the whole
// backbone frozen, as a new user would: the frozen part runs in the engine
// and its features are cached, whatever ops it holds (SE blocks, ceil_mode
// pools, channel shuffles, LayerNormalization...), at the default memory
// ceiling (no XFER_MAX_MEMORY). The head must train, the frozen weights
// stay bit-identical, and the run must say that features are cached. The
// default suite runs visionfix's small models (seconds once the fixtures
// exist); XFER_LONG=1 runs all twelve.
func TestTorchvisionHeadOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING in -short: the torchvision models take a while to generate")
	}
	if v := os.Getenv(limits.EnvVar); v != "" {
		t.Skipf("SKIPPING: %s=%s is set; this test is about the default memory ceiling", limits.EnvVar, v)
	}
	sel, files := visionfix.GetSelected(t)
	for _, s := range sel {
		f := files[s.Name]
		t.Run(s.Name, func(t *testing.T) {
			const opset = 17
			visionfix.Pending(t, s, f, opset, engine.SupportedOps())
			m, err := onnximp.ReadFile(f.ONNX[opset])
			if err != nil {
				t.Fatal(err)
			}
			// Freeze everything before the last layer with params (the
			// classifier; squeezenet's is a Conv before ReLU and pooling).
			last := len(m.Layers) - 1
			for len(m.Layers[last].Params) == 0 {
				last--
			}
			if m, err = surgery.Freeze(m, last-1); err != nil {
				t.Fatal(err)
			}
			x, err := tensorio.ReadFile(f.X)
			if err != nil {
				t.Fatal(err)
			}
			// 8 examples: the two fixture images and noisy copies.
			rng := rand.New(rand.NewSource(1))
			row := len(x.F32) / x.Shape[0]
			data := make([]float32, 8*row)
			labels := make([]float32, 8)
			for i := range 8 {
				for j := range row {
					data[i*row+j] = x.F32[(i%2)*row+j] + float32(0.1*rng.NormFloat64())
				}
				labels[i] = float32(rng.Intn(1000))
			}
			set, err := dataset.NewSet("vision", &model.Tensor{DType: model.Float32, Shape: append([]int{8}, x.Shape[1:]...), F32: data}, labels, 1000)
			if err != nil {
				t.Fatal(err)
			}
			rep := &messages{}
			out, h, err := Train(context.Background(), m, set, nil, Config{Epochs: 2, BatchSize: 4, LearningRate: 0.01, FromLogits: true, Loss: LossSparseCategoricalCrossentropy}, rep)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.got) == 0 || !strings.Contains(rep.got[0], "features cached") {
				t.Errorf("progress messages %q; want one saying the features are cached", rep.got)
			}
			if l := h.Epochs[len(h.Epochs)-1].Loss; math.IsNaN(l) || math.IsInf(l, 0) {
				t.Errorf("loss %v", l)
			}
			trained := 0
			for i, l := range out.Layers {
				for j, p := range l.Params {
					if p.Trainable {
						trained++
					}
					same := reflect.DeepEqual(p.Data, m.Layers[i].Params[j].Data)
					if p.Trainable == same {
						t.Errorf("param %s (trainable %v) unchanged = %v", p.Name, p.Trainable, same)
					}
				}
			}
			if trained == 0 {
				t.Errorf("nothing trained")
			}
		})
	}
}
