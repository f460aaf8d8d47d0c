// Command trainepoch trains the book's model A (chapter 11) for one epoch
// with xfer (batch 32, SGD 1e-3, fashion-mnist:A's 43,986 training images)
// and prints samples per second. Run by bench/train_vs_torch.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime/pprof"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/demo"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/finetune"
)

func main() {
	threads := flag.Int("threads", 2, "OpenBLAS threads")
	epochs := flag.Int("epochs", 1, "epochs")
	prof := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*threads, *epochs); err != nil {
		fmt.Fprintln(os.Stderr, "trainepoch:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(threads, epochs int) error {
	engine.SetThreads(threads)
	train, err := dataset.Load("fashion-mnist:A:train", dataset.Options{})
	if err != nil {
		return err
	}
	m, err := demo.ModelA(rand.New(rand.NewSource(42)), "", 8, "softmax")
	if err != nil {
		return err
	}
	_, h, err := finetune.Train(context.Background(), m, train, nil, finetune.Config{Epochs: epochs, BatchSize: 32, LearningRate: 1e-3, Seed: 42}, nil)
	if err != nil {
		return err
	}
	last := h.Epochs[len(h.Epochs)-1]
	fmt.Printf("xfer (gorgonia, %s, %d threads): %d samples in %.2fs = %.0f samples/s (loss %.4f)\n",
		finetune.BLASName, threads, train.Len()*epochs, float64(train.Len()*epochs)/h.SamplesPerSecond, h.SamplesPerSecond, last.Loss)
	fmt.Printf("SAMPLES_PER_SECOND %.1f\n", h.SamplesPerSecond)
	return nil
}
