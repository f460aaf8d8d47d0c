// Command predictort times xfer's engine and ONNX Runtime (internal/ort)
// predicting one .onnx file (by default the PyTorch export of the book's
// model A) in the same process, at several batch sizes, and prints the
// samples/s of each, their ratio (with its range over the rounds), the CPU
// time per sample of each and the target (issue 6's for model A, or
// -target). Run by bench/predict_vs_ort.sh and bench/vision_vs_ort.sh.
//
// The two runtimes take turns in blocks of about -block of wall time
// (the order alternates each round), with a pause between blocks: ONNX
// Runtime's worker threads spin for a while after each run, and timing
// xfer right behind an ORT run would charge ORT's spinning to xfer. Each
// side's figure is the median over -rounds blocks.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xferml/xfer/engine"
	importer "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/ort"
	"github.com/xferml/xfer/model"
)

// targets are issue 6's minimum xfer/ORT ratios by batch size.
var targets = map[int]float64{1: 0.8, 256: 1.0}

func main() {
	path := flag.String("model", "fixtures/torch/model_a.onnx", "the .onnx file both runtimes run")
	batches := flag.String("batches", "1,256", "comma-separated batch sizes")
	rounds := flag.Int("rounds", 7, "blocks per runtime and batch size (the median is reported)")
	block := flag.Duration("block", 300*time.Millisecond, "wall time of one block")
	threads := flag.Int("threads", 0, "xfer engine threads (0: GOMAXPROCS)")
	ortThreads := flag.Int("ort-threads", 0, "ONNX Runtime intra-op threads (0: its default)")
	target := flag.Float64("target", 0, "minimum xfer/ORT ratio at every batch size (0: issue 6's targets for model A)")
	flag.Parse()
	if err := run(*path, *batches, *rounds, *block, *threads, *ortThreads, *target); err != nil {
		fmt.Fprintln(os.Stderr, "predictort:", err)
		os.Exit(1)
	}
}

func run(path, batchList string, rounds int, block time.Duration, threads, ortThreads int, target float64) error {
	if rounds < 1 {
		return fmt.Errorf("-rounds must be at least 1, got %d", rounds)
	}
	var batches []int
	for _, f := range strings.Split(batchList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-batches: %q is not a positive batch size", f)
		}
		batches = append(batches, n)
	}
	m, err := importer.ReadFile(path)
	if err != nil {
		return err
	}
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return fmt.Errorf("%s: want one input and one output, got %d and %d", path, len(m.Inputs), len(m.Outputs))
	}
	engine.SetThreads(threads)
	s, err := engine.New(m)
	if err != nil {
		return err
	}
	if err := ort.Init(); err != nil {
		return err
	}
	o, err := ort.NewSession(path, ort.Options{Threads: ortThreads})
	if err != nil {
		return err
	}
	defer o.Close()
	in := m.Inputs[0]
	fmt.Printf("model %s; xfer engine %d threads, BLAS %s (core %s); ONNX Runtime %s, %s intra-op threads\n",
		path, engine.Threads(), engine.BLAS(), blasCore(), ort.Version(), threadsName(ortThreads))
	for _, batch := range batches {
		shape := slices.Clone(in.Shape)
		shape[0] = batch
		n := 1
		for _, d := range shape {
			n *= d
		}
		rng := rand.New(rand.NewPCG(1, uint64(batch)))
		x := &model.Tensor{DType: model.Float32, Shape: shape, F32: make([]float32, n)}
		for i := range x.F32 {
			x.F32[i] = rng.Float32()
		}
		feeds := map[string]*model.Tensor{in.Name: x}
		xferRun := func() error { _, err := s.Predict(x); return err }
		ortRun := func() error { _, err := o.Run(feeds); return err }
		// Agreement first: a fast wrong answer is no answer.
		y, err := s.Predict(x)
		if err != nil {
			return err
		}
		outs, err := o.Run(feeds)
		if err != nil {
			return err
		}
		diff := maxDiff(y.F32, outs[m.Outputs[0]].F32)
		if diff > 1e-4 {
			return fmt.Errorf("batch %d: xfer and ONNX Runtime differ by %g (more than 1e-4)", batch, diff)
		}
		var xs, os, xc, oc, pair []float64
		for r := range rounds {
			first, second := xferRun, ortRun
			if r%2 == 1 {
				first, second = ortRun, xferRun
			}
			a, ac, err := rate(first, batch, block)
			if err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
			b, bc, err := rate(second, batch, block)
			if err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
			if r%2 == 1 {
				a, b, ac, bc = b, a, bc, ac
			}
			xs, os, xc, oc = append(xs, a), append(os, b), append(xc, ac), append(oc, bc)
			pair = append(pair, a/b)
		}
		xm, om := median(xs), median(os)
		line := fmt.Sprintf("batch %d: xfer %.1f samples/s, onnxruntime %.1f samples/s, ratio %.2f (per round %.2f-%.2f); cpu ms/sample xfer %.1f, onnxruntime %.1f",
			batch, xm, om, xm/om, slices.Min(pair), slices.Max(pair), 1e3*median(xc), 1e3*median(oc))
		t, ok := targets[batch]
		if target > 0 {
			t, ok = target, true
		}
		if ok {
			met := "met"
			if xm/om < t {
				met = "NOT met"
			}
			line += fmt.Sprintf(" (target >= %.1f: %s)", t, met)
		}
		fmt.Printf("%s; max |diff| %.1e\n", line, diff)
	}
	return nil
}

// rate runs f for about d (at least 3 times, after one warm-up call) and
// returns samples per second and the process's CPU seconds per sample (on
// a loaded machine the wall figures swing with the other processes; the
// CPU time shows the work each runtime does).
func rate(f func() error, batch int, d time.Duration) (float64, float64, error) {
	if err := f(); err != nil {
		return 0, 0, err
	}
	c0 := cpuTime()
	start := time.Now()
	n := 0
	for n < 3 || time.Since(start) < d {
		if err := f(); err != nil {
			return 0, 0, err
		}
		n++
	}
	wall := time.Since(start).Seconds()
	return float64(n*batch) / wall, (cpuTime() - c0) / float64(n*batch), nil
}

// cpuTime returns the user and system CPU seconds the process has used.
func cpuTime() float64 {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano()).Seconds()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func threadsName(n int) string {
	if n == 0 {
		return "default"
	}
	return strconv.Itoa(n)
}

func blasCore() string {
	if c := engine.BLASCore(); c != "" {
		return c
	}
	return "n/a"
}
