package finetune

import (
	"fmt"
	"math/rand"
	"syscall"
	"testing"

	"gorgonia.org/tensor"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// modelA is the book's model A (chapter 11) with Keras-default weights.
func modelA(t testing.TB) *model.Model {
	return mlp(t, 42, []int{28, 28}, []int{300, 100, 50, 50, 50, 8}, []string{"selu", "selu", "selu", "selu", "selu", "softmax"})
}

func randomSet(t testing.TB, n, classes int, shape []int) *dataset.Set {
	rng := rand.New(rand.NewSource(5))
	x := make([]float32, n*model.NumElements(shape))
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]float32, n)
	for i := range y {
		y[i] = float32(rng.Intn(classes))
	}
	s, err := dataset.NewSet("random", &model.Tensor{DType: model.Float32, Shape: append([]int{n}, shape...), F32: x}, y, classes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func benchTrainStep(b *testing.B, batch int) {
	m := modelA(b)
	set := randomSet(b, batch, 8, []int{28, 28})
	cfg := Config{}
	cfg.defaults()
	k, err := chooseLoss(m, "", 8)
	if err != nil {
		b.Fatal(err)
	}
	tr := &trainer{m: m, cfg: cfg, loss: k, st: newStore(m, tensor.Float32), rng: rand.New(rand.NewSource(1)),
		train: map[int]*graph{}, opt: newOptimizer(&cfg, 1e-3)}
	part, err := split(m, false)
	if err != nil {
		b.Fatal(err)
	}
	tr.part, tr.feed = part, &feeder{part: part}
	g, err := tr.graph(tr.train, batch, true)
	if err != nil {
		b.Fatal(err)
	}
	idx := set.Order(nil)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, _, err := tr.step(g, tr.feed.batches(set, idx, batch, nil, nil)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
	// CPU time (all threads) per step: stable on a loaded machine, where
	// wall-clock figures are not.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkTrainStep32 is one SGD step of model A at batch 32 (the book's).
func BenchmarkTrainStep32(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			engine.SetThreads(th)
			defer engine.SetThreads(1)
			benchTrainStep(b, 32)
		})
	}
}

func BenchmarkTrainStep256(b *testing.B) {
	engine.SetThreads(1)
	benchTrainStep(b, 256)
}

// cpuTime returns the process's user + system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
