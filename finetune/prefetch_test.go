package finetune

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// trainBits trains m with the feature cache off, so that the frozen
// prefix runs in the engine at every step, with batches filled depth ahead
// (0: in place), and returns the trained params and the history.
func trainBits(t *testing.T, m *model.Model, set, valid *dataset.Set, cfg Config, depth int) ([]float32, *History) {
	t.Helper()
	defer func(d int) { prefetchDepth = d }(prefetchDepth)
	prefetchDepth = depth
	out, h, err := Train(context.Background(), m, set, valid, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return allParams(out), h
}

// TestPrefetchSameBits: running the frozen prefix one batch ahead, on its
// own goroutine, trains the same bits as filling each batch in place, for
// thread counts 1 and 2, shuffled, with a last batch shorter than the
// others (700 = 43*16 + 12), with validation.
func TestPrefetchSameBits(t *testing.T) {
	m := frozenMLP(t)
	set := randomSet(t, 700, 5, []int{8, 8})
	valid := randomSet(t, 100, 5, []int{8, 8})
	cfg := Config{Epochs: 2, BatchSize: 16, LearningRate: 0.05, Momentum: 0.9, Seed: 5, FeatureCache: "off"}
	for _, th := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", th), func(t *testing.T) {
			engine.SetThreads(th)
			defer engine.SetThreads(0)
			want, wantH := trainBits(t, m, set, valid, cfg, 0)
			got, gotH := trainBits(t, m, set, valid, cfg, 2)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("param value %d = %v prefetched; %v filled in place", i, got[i], want[i])
				}
			}
			for e := range wantH.Epochs {
				g, w := gotH.Epochs[e], wantH.Epochs[e]
				if g.Loss != w.Loss || *g.ValLoss != *w.ValLoss {
					t.Errorf("epoch %d: loss %v, val_loss %v prefetched; %v, %v in place", e+1, g.Loss, *g.ValLoss, w.Loss, *w.ValLoss)
				}
			}
		})
	}
}

// stepCanceller cancels a context at a given step.
type stepCanceller struct {
	nopReporter
	at     int
	cancel context.CancelFunc
}

func (r *stepCanceller) Step(step, _ int, _, _ float64) {
	if step == r.at {
		r.cancel()
	}
}

// TestPrefetchStops: interrupting training mid-epoch stops the producer
// (no goroutine left behind) and keeps the last good model.
func TestPrefetchStops(t *testing.T) {
	m := frozenMLP(t)
	set := randomSet(t, 700, 5, []int{8, 8})
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, _, err := Train(ctx, m, set, nil, Config{Epochs: 2, BatchSize: 16, FeatureCache: "off"}, &stepCanceller{at: 3, cancel: cancel})
	if !errors.Is(err, context.Canceled) || out == nil {
		t.Fatalf("Train cancelled at step 3 = model %v, %v; want the last good model and context.Canceled", out != nil, err)
	}
	// Goroutines of finished parallel loops may take a moment to exit.
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Train returned; %d before", n, before)
	}
}

// TestPrefetchError: an image that can no longer be read when its batch
// is prefetched fails the step with the loader's error.
func TestPrefetchError(t *testing.T) {
	dir := t.TempDir()
	for c, class := range []string{"a", "b"} {
		if err := os.Mkdir(filepath.Join(dir, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			img := image.NewGray(image.Rect(0, 0, 4, 4))
			for p := range img.Pix {
				img.Pix[p] = uint8(40*c + 7*i + p)
			}
			f, err := os.Create(filepath.Join(dir, class, fmt.Sprintf("%02d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	set, _, err := dataset.LoadImages(dir, dataset.ImageOptions{Height: 4, Width: 4, Grayscale: true, CacheBytes: -1}, 0, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	set.Rescale = dataset.Rescaling{Scale: 1.0 / 255}
	// Every image of class b now reads as a bad PNG.
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, "b", fmt.Sprintf("%02d.png", i)), []byte("not a png"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := seqModel(t, 7, []int{4, 4, 1}, denseStage("d0", 6, "relu"), denseStage("d1", 2, "softmax"))
	m.Layer("flatten").SetTrainable(false)
	m.Layer("d0").SetTrainable(false)
	_, _, err = Train(context.Background(), m, set, nil, Config{Epochs: 1, BatchSize: 8, NoShuffle: true, FeatureCache: "off"}, nil)
	if err == nil || !strings.Contains(err.Error(), "png") {
		t.Errorf("Train on a folder whose images went bad = %v; want the loader's error", err)
	}
}

// TestReleasedPrefix: once plan has cached every set and released the
// engine's session, a set without a cache is an error, not examples fed
// raw to the trainable part.
func TestReleasedPrefix(t *testing.T) {
	m := frozenMLP(t)
	part, err := split(m, false)
	if err != nil {
		t.Fatal(err)
	}
	if part.prefix == nil {
		t.Fatal("frozenMLP has no frozen prefix")
	}
	set := randomSet(t, 4, 5, []int{8, 8})
	f := &feeder{part: part, cache: map[*dataset.Set]*features{}}
	bufs := [][]float32{make([]float32, 4*part.rowSize())}
	if err := f.fill(set, []int{0, 1, 2, 3}, bufs, make([]float32, 4), nil, nil); err == nil || !strings.Contains(err.Error(), "released") {
		t.Errorf("fill without a cache or a session = %v; want an error saying the session was released", err)
	}
}
